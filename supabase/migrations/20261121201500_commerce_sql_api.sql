-- ============================================================================
-- The SQL API: one function per transition, each in one transaction. Illegal
-- moves raise with a stable SQLSTATE:
--   42501  the caller may not do this          22023  invalid argument
--   TB001  illegal state transition            TB002  insufficient stock
--   TB003  not found (or not yours)            TB004  refund exceeds what is refundable
--   TB005  conflicting request (e.g. a second payment for an order)
--   23514  an invariant constraint (amounts, stock) would break
-- Functions called by customers or staff are `security definer` and check the
-- caller from the JWT claims; functions for the backend (edge functions, jobs) are
-- `security invoker` and granted to service_role only.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Internal helpers (private; invoker, run with the rights of their caller)
-- ----------------------------------------------------------------------------

-- Writes an outbox message in the caller's transaction; a message with the same
-- idempotency key is written once.
create or replace function private.enqueue_outbox(
    p_topic text,
    p_aggregate_type text,
    p_aggregate_id uuid,
    p_payload jsonb,
    p_idempotency_key text
)
returns void
language sql
security invoker
set search_path = ''
as $$
    insert into private.outbox (topic, aggregate_type, aggregate_id, payload, idempotency_key)
    values (p_topic, p_aggregate_type, p_aggregate_id, p_payload, p_idempotency_key)
    on conflict (idempotency_key) do nothing;
$$;

-- Queues an ERP upsert of the order as it is now (its version is in the key).
create or replace function private.enqueue_erp_upsert(p_order_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_version integer;
begin
    select o.version into v_version from public.orders o where o.id = p_order_id;
    perform private.enqueue_outbox(
        'erp.order.upsert', 'order', p_order_id,
        jsonb_build_object('order_id', p_order_id, 'version', v_version),
        format('erp.order.upsert:%s:v%s', p_order_id, v_version)
    );
    update public.orders set erp_status = 'queued'
    where id = p_order_id and erp_status <> 'queued';
end;
$$;

-- Gives an order's active reservations back to available stock.
create or replace function private.release_reservations(p_order_id uuid, p_status public.reservation_status)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_count integer := 0;
    v_line record;
begin
    for v_line in
        select r.id, r.variant_id, r.quantity
        from public.inventory_reservations r
        where r.order_id = p_order_id and r.status = 'active'
        order by r.variant_id
        for update
    loop
        update public.inventory_levels set reserved = reserved - v_line.quantity
        where variant_id = v_line.variant_id;
        update public.inventory_reservations set status = p_status where id = v_line.id;
        v_count := v_count + 1;
    end loop;
    return v_count;
end;
$$;

-- A paid order's reservations become sales: the stock leaves on_hand, through the ledger.
create or replace function private.consume_reservations(p_order_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_line record;
    v_on_hand integer;
begin
    for v_line in
        select r.id, r.variant_id, r.quantity
        from public.inventory_reservations r
        where r.order_id = p_order_id and r.status = 'active'
        order by r.variant_id
        for update
    loop
        update public.inventory_levels
        set on_hand = on_hand - v_line.quantity, reserved = reserved - v_line.quantity
        where variant_id = v_line.variant_id
        returning on_hand into v_on_hand;
        insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason, order_id)
        values (v_line.variant_id, 'sale', -v_line.quantity, v_on_hand, 'order paid', p_order_id);
        update public.inventory_reservations set status = 'consumed' where id = v_line.id;
    end loop;
end;
$$;

-- Stock of a fully refunded, unshipped order goes back on the shelf.
create or replace function private.restock_order(p_order_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_line record;
    v_on_hand integer;
begin
    for v_line in
        select r.variant_id, r.quantity
        from public.inventory_reservations r
        where r.order_id = p_order_id and r.status = 'consumed'
        order by r.variant_id
    loop
        update public.inventory_levels set on_hand = on_hand + v_line.quantity
        where variant_id = v_line.variant_id
        returning on_hand into v_on_hand;
        insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason, order_id)
        values (v_line.variant_id, 'return', v_line.quantity, v_on_hand, 'order refunded before shipping', p_order_id);
    end loop;
end;
$$;

-- Moves an order's payment towards `p_target` (captured, authorized, failed,
-- canceled, expired, or pending = only record the Stripe ids), never backwards:
-- an event older than the stored state is reported as stale and changes nothing.
create or replace function private.apply_payment_state(
    p_order_id uuid,
    p_target text,
    p_at timestamptz,
    p_event_id text,
    p_payment_intent text default null,
    p_checkout_session text default null,
    p_amount bigint default null,
    p_currency text default null,
    p_message text default null
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_order public.orders;
    v_payment public.payments;
begin
    select * into v_order from public.orders o where o.id = p_order_id for update;
    if not found then
        return jsonb_build_object('status', 'ignored', 'reason', 'no such order');
    end if;

    -- The payment row: the attached one, or created here when the event beat attach_payment.
    select * into v_payment from public.payments p where p.order_id = p_order_id for update;
    if not found then
        insert into public.payments (order_id, stripe_payment_intent_id, stripe_checkout_session_id, currency, amount)
        values (p_order_id, p_payment_intent, p_checkout_session, v_order.currency, v_order.total_amount)
        returning * into v_payment;
    elsif (p_payment_intent is not null and v_payment.stripe_payment_intent_id <> p_payment_intent)
        or (p_checkout_session is not null and v_payment.stripe_checkout_session_id <> p_checkout_session) then
        return jsonb_build_object('status', 'rejected', 'order_id', p_order_id,
            'reason', 'the event belongs to another payment than the one attached to the order');
    elsif (p_payment_intent is not null and v_payment.stripe_payment_intent_id is null)
        or (p_checkout_session is not null and v_payment.stripe_checkout_session_id is null) then
        update public.payments
        set stripe_payment_intent_id = coalesce(stripe_payment_intent_id, p_payment_intent),
            stripe_checkout_session_id = coalesce(stripe_checkout_session_id, p_checkout_session)
        where id = v_payment.id
        returning * into v_payment;
    end if;

    if p_target in ('authorized', 'captured') and p_amount is not null
        and (p_amount <> v_order.total_amount or upper(coalesce(p_currency, v_order.currency)) <> v_order.currency) then
        return jsonb_build_object('status', 'rejected', 'order_id', p_order_id,
            'reason', format('Stripe amount %s %s does not match the order total %s %s',
                             p_amount, upper(p_currency), v_order.total_amount, v_order.currency));
    end if;

    if p_target = 'captured' then
        if v_order.payment_status in ('captured', 'partially_refunded', 'refunded') then
            return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'payment already captured');
        end if;
        update public.payments
        set status = 'succeeded', amount_authorized = amount, amount_captured = amount,
            failure_message = null, last_event_at = greatest(last_event_at, p_at)
        where id = v_payment.id;
        if v_order.status = 'pending_payment' then
            update public.orders set status = 'paid', payment_status = 'captured', paid_at = p_at where id = p_order_id;
            perform private.consume_reservations(p_order_id);
            perform private.enqueue_outbox('email.order_confirmation', 'order', p_order_id,
                jsonb_build_object('order_id', p_order_id), 'email.order_confirmation:' || p_order_id);
            perform private.enqueue_erp_upsert(p_order_id);
        else
            -- The order expired or was canceled before the money arrived: keep the money
            -- truth and hand the refund decision to staff.
            update public.orders set payment_status = 'captured' where id = p_order_id;
            perform private.enqueue_outbox('ops.payment_on_closed_order', 'order', p_order_id,
                jsonb_build_object('order_id', p_order_id, 'order_status', v_order.status),
                'ops.payment_on_closed_order:' || p_order_id);
        end if;

    elsif p_target = 'authorized' then
        if v_order.status <> 'pending_payment' or v_order.payment_status not in ('unpaid', 'failed') then
            return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'payment already past authorization');
        end if;
        update public.payments
        set status = 'authorized', amount_authorized = amount, failure_message = null,
            last_event_at = greatest(last_event_at, p_at)
        where id = v_payment.id;
        -- An authorization holds the stock until capture (card authorizations last 7 days).
        update public.orders
        set payment_status = 'authorized', expires_at = greatest(expires_at, p_at + interval '7 days')
        where id = p_order_id;
        update public.inventory_reservations
        set expires_at = greatest(expires_at, p_at + interval '7 days')
        where order_id = p_order_id and status = 'active';

    elsif p_target = 'failed' then
        if v_order.status <> 'pending_payment' or v_order.payment_status not in ('unpaid', 'authorized') then
            return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'payment no longer pending');
        end if;
        update public.payments
        set status = 'failed', failure_message = p_message, last_event_at = greatest(last_event_at, p_at)
        where id = v_payment.id;
        update public.orders set payment_status = 'failed' where id = p_order_id;
        perform private.enqueue_outbox('email.payment_failed', 'order', p_order_id,
            jsonb_build_object('order_id', p_order_id, 'message', p_message),
            format('email.payment_failed:%s:%s', p_order_id, p_event_id));

    elsif p_target in ('canceled', 'expired') then
        if v_order.status <> 'pending_payment' or v_order.payment_status in ('captured', 'partially_refunded', 'refunded') then
            return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'order no longer awaits payment');
        end if;
        update public.payments set status = 'canceled', last_event_at = greatest(last_event_at, p_at) where id = v_payment.id;
        update public.orders
        set status = p_target::public.order_status,
            payment_status = case when payment_status = 'authorized' then 'failed'::public.payment_status else payment_status end,
            canceled_at = case when p_target = 'canceled' then p_at else canceled_at end,
            expired_at = case when p_target = 'expired' then p_at else expired_at end
        where id = p_order_id;
        perform private.release_reservations(p_order_id,
            case when p_target = 'expired' then 'expired'::public.reservation_status else 'released'::public.reservation_status end);

    elsif p_target <> 'pending' then
        raise exception using errcode = '22023', message = format('unknown payment target %s', p_target);
    end if;

    return jsonb_build_object('status', 'applied', 'order_id', p_order_id);
end;
$$;

-- Raises the refunded amount of an order's payment to `p_amount_refunded` (Stripe
-- reports cumulative amounts, so the larger value wins and replays change nothing).
create or replace function private.apply_refunded_amount(p_order_id uuid, p_amount_refunded bigint, p_at timestamptz)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_order public.orders;
    v_payment public.payments;
    v_full boolean;
begin
    select * into v_order from public.orders o where o.id = p_order_id for update;
    select * into v_payment from public.payments p where p.order_id = p_order_id for update;
    if v_payment.id is null or v_payment.amount_captured = 0 then
        return jsonb_build_object('status', 'ignored', 'order_id', p_order_id, 'reason', 'nothing captured to refund');
    end if;
    if p_amount_refunded <= v_payment.amount_refunded then
        return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'refund already recorded');
    end if;
    if p_amount_refunded > v_payment.amount_captured then
        return jsonb_build_object('status', 'rejected', 'order_id', p_order_id,
            'reason', format('refunded %s exceeds captured %s', p_amount_refunded, v_payment.amount_captured));
    end if;

    update public.payments set amount_refunded = p_amount_refunded, last_event_at = greatest(last_event_at, p_at)
    where id = v_payment.id;
    v_full := p_amount_refunded = v_payment.amount_captured;
    if v_full and v_order.status = 'paid' then
        update public.orders set payment_status = 'refunded', status = 'canceled', canceled_at = p_at where id = p_order_id;
        perform private.restock_order(p_order_id);
    else
        update public.orders
        set payment_status = case when v_full then 'refunded'::public.payment_status else 'partially_refunded'::public.payment_status end
        where id = p_order_id;
    end if;
    perform private.enqueue_outbox('email.refund_issued', 'order', p_order_id,
        jsonb_build_object('order_id', p_order_id, 'amount_refunded', p_amount_refunded),
        format('email.refund_issued:%s:%s', p_order_id, p_amount_refunded));
    perform private.enqueue_erp_upsert(p_order_id);
    return jsonb_build_object('status', 'applied', 'order_id', p_order_id);
end;
$$;

-- refund.created / refund.updated: the refund row follows Stripe's status (terminal
-- statuses never change); a succeeded refund raises the payment's refunded amount.
create or replace function private.apply_refund_object(p_order_id uuid, p_refund jsonb, p_at timestamptz)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_refund public.refunds;
    v_payment public.payments;
    v_status public.refund_status;
    v_local_id text := p_refund -> 'metadata' ->> 'refund_id';
    v_total bigint;
    v_new boolean := false;
begin
    v_status := case p_refund ->> 'status'
        when 'succeeded' then 'succeeded' when 'failed' then 'failed' when 'canceled' then 'canceled'
        else 'pending' end;

    select * into v_payment from public.payments p where p.order_id = p_order_id for update;
    if not found then
        return jsonb_build_object('status', 'ignored', 'order_id', p_order_id, 'reason', 'order has no payment');
    end if;

    select * into v_refund from public.refunds r where r.stripe_refund_id = p_refund ->> 'id' for update;
    if not found and v_local_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        select * into v_refund from public.refunds r where r.id = v_local_id::uuid and r.payment_id = v_payment.id for update;
    end if;
    if v_refund.id is null then
        -- A refund made outside Tillbase (e.g. in the Stripe dashboard).
        insert into public.refunds (payment_id, order_id, stripe_refund_id, amount, currency, status, reason, idempotency_key)
        values (v_payment.id, p_order_id, p_refund ->> 'id', (p_refund ->> 'amount')::bigint, upper(p_refund ->> 'currency'),
                'pending', p_refund ->> 'reason', 'stripe:' || (p_refund ->> 'id'))
        returning * into v_refund;
        v_new := true;
    end if;

    if v_refund.status in ('succeeded', 'failed', 'canceled')
        or (not v_new and v_refund.status = v_status and v_refund.stripe_refund_id is not null) then
        return jsonb_build_object('status', 'stale', 'order_id', p_order_id, 'reason', 'refund already ' || v_refund.status);
    end if;
    update public.refunds
    set status = v_status, stripe_refund_id = coalesce(stripe_refund_id, p_refund ->> 'id')
    where id = v_refund.id;

    if v_status = 'succeeded' then
        select coalesce(sum(r.amount), 0) into v_total from public.refunds r
        where r.payment_id = v_payment.id and r.status = 'succeeded';
        if v_total > v_payment.amount_refunded then
            return private.apply_refunded_amount(p_order_id, v_total, p_at);
        end if;
    end if;
    return jsonb_build_object('status', 'applied', 'order_id', p_order_id);
end;
$$;

-- The order an event is about: metadata.order_id, else the payment holding its ids.
create or replace function private.stripe_event_order_id(p_object jsonb, p_payment_intent text, p_checkout_session text)
returns uuid
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
    v_meta text := coalesce(p_object -> 'metadata' ->> 'order_id', p_object ->> 'client_reference_id');
    v_order_id uuid;
begin
    if v_meta ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return v_meta::uuid;
    end if;
    select p.order_id into v_order_id from public.payments p
    where p.stripe_payment_intent_id = p_payment_intent or p.stripe_checkout_session_id = p_checkout_session
    limit 1;
    return v_order_id;
end;
$$;

-- ----------------------------------------------------------------------------
-- place_order: an order from the caller's cart or from items, priced from the
-- catalog, stock reserved for every line (summed per variant) or nothing at all.
-- Idempotent per (caller, key): the same key returns the same order.
-- ----------------------------------------------------------------------------

create or replace function public.place_order(
    p_idempotency_key text,
    p_cart_id uuid default null,
    p_items jsonb default null,
    p_email text default null,
    p_shipping_address jsonb default null,
    p_billing_address jsonb default null,
    p_reservation_ttl interval default interval '30 minutes',
    p_now timestamptz default now()
)
returns public.orders
language plpgsql
-- Definer: writes orders, reservations and stock, which customers have no grants on;
-- the caller is checked below and owns the result.
security definer
set search_path = ''
as $$
declare
    v_user uuid := auth.uid();
    v_order public.orders;
    v_requested jsonb;
    v_lines jsonb;
    v_currencies integer;
    v_unknown integer;
    v_subtotal bigint;
    v_line record;
    v_email text;
    v_fingerprint text := case when p_cart_id is not null then 'cart:' || p_cart_id else 'items:' || md5(p_items::text) end;
begin
    if v_user is null then
        raise exception using errcode = '42501', message = 'place_order: sign in to place an order';
    end if;
    if p_idempotency_key is null or length(p_idempotency_key) not between 1 and 200 then
        raise exception using errcode = '22023', message = 'place_order: an idempotency key of 1 to 200 characters is required';
    end if;
    if (p_cart_id is null) = (p_items is null) then
        raise exception using errcode = '22023', message = 'place_order: give either a cart or items, not both';
    end if;
    if p_reservation_ttl is null or p_reservation_ttl < interval '1 minute' or p_reservation_ttl > interval '24 hours' then
        raise exception using errcode = '22023', message = 'place_order: the reservation time must be between 1 minute and 24 hours';
    end if;

    -- Same key, same order: serialise on the key, then look for an earlier result.
    perform pg_advisory_xact_lock(hashtextextended('place_order:' || v_user || ':' || p_idempotency_key, 0));
    select * into v_order from public.orders o where o.user_id = v_user and o.idempotency_key = p_idempotency_key;
    if found then
        if v_order.request_fingerprint is distinct from v_fingerprint then
            raise exception using errcode = 'TB005', message = 'place_order: this idempotency key was already used for a different order';
        end if;
        return v_order;
    end if;

    if p_cart_id is not null then
        perform 1 from public.carts c where c.id = p_cart_id and c.user_id = v_user and c.status = 'open' for update;
        if not found then
            raise exception using errcode = 'TB003', message = 'place_order: no open cart with this id belongs to you';
        end if;
        select jsonb_agg(jsonb_build_object('variant_id', ci.variant_id, 'quantity', ci.quantity))
        into v_requested
        from public.cart_items ci where ci.cart_id = p_cart_id;
    else
        if jsonb_typeof(p_items) <> 'array' then
            raise exception using errcode = '22023', message = 'place_order: items must be an array of {variant_id, quantity}';
        end if;
        v_requested := p_items;
    end if;
    if v_requested is null or jsonb_array_length(v_requested) = 0 then
        raise exception using errcode = '22023', message = 'place_order: the order has no lines';
    end if;
    if exists (
        select 1
        from jsonb_array_elements(v_requested) r
        cross join lateral (
            select case when jsonb_typeof(r -> 'quantity') = 'number' then (r ->> 'quantity')::numeric end as quantity
        ) q
        where q.quantity is null or q.quantity <> trunc(q.quantity) or q.quantity not between 1 and 1000
           or coalesce(r ->> 'variant_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    ) then
        raise exception using errcode = '22023', message = 'place_order: every line needs a variant_id (uuid) and a whole quantity from 1 to 1000';
    end if;

    -- Quantities summed per variant; prices, names and skus from the catalog only.
    with requested as (
        select (r ->> 'variant_id')::uuid as variant_id, sum((r ->> 'quantity')::integer) as quantity
        from jsonb_array_elements(v_requested) r
        group by 1
    )
    select
        jsonb_agg(jsonb_build_object(
            'variant_id', q.variant_id, 'quantity', q.quantity, 'sku', v.sku,
            'name', p.name || case when v.name <> p.name then ' — ' || v.name else '' end,
            'unit_price_amount', v.price_amount, 'currency', v.currency
        ) order by q.variant_id),
        count(distinct v.currency),
        count(*) filter (where v.id is null or not v.active or not p.active),
        sum(v.price_amount * q.quantity)
    into v_lines, v_currencies, v_unknown, v_subtotal
    from requested q
    left join public.product_variants v on v.id = q.variant_id
    left join public.products p on p.id = v.product_id;

    if v_unknown > 0 then
        raise exception using errcode = 'TB003', message = 'place_order: a line refers to a variant that is not for sale';
    end if;
    if v_currencies <> 1 then
        raise exception using errcode = '22023', message = 'place_order: all lines must be priced in one currency';
    end if;

    -- Reserve every line, in variant order (no deadlocks between concurrent buyers):
    -- one conditional update per variant, and the whole order fails if one is short.
    for v_line in
        select * from jsonb_to_recordset(v_lines) as x(variant_id uuid, quantity integer, sku text)
        order by variant_id
    loop
        update public.inventory_levels
        set reserved = reserved + v_line.quantity
        where variant_id = v_line.variant_id and on_hand - reserved >= v_line.quantity;
        if not found then
            raise exception using errcode = 'TB002',
                message = format('place_order: not enough stock for %s (%s wanted)', v_line.sku, v_line.quantity);
        end if;
    end loop;

    v_email := coalesce(nullif(trim(p_email), ''), auth.email(), (select pr.email from public.profiles pr where pr.id = v_user));
    if v_email is null then
        raise exception using errcode = '22023', message = 'place_order: an email address is required';
    end if;

    insert into public.orders (
        number, user_id, cart_id, currency, subtotal_amount, discount_amount, shipping_amount, tax_amount,
        total_amount, email, shipping_address, billing_address, idempotency_key, request_fingerprint, expires_at, created_at
    )
    values (
        'TB-' || lpad(nextval('private.order_number_seq')::text, 6, '0'), v_user, p_cart_id,
        (v_lines -> 0 ->> 'currency'), v_subtotal, 0, 0, 0, v_subtotal, v_email,
        p_shipping_address, coalesce(p_billing_address, p_shipping_address), p_idempotency_key, v_fingerprint,
        -- the caller's clock may move the deadline earlier, never past a day from now
        least(p_now + p_reservation_ttl, now() + interval '24 hours'), least(p_now, now())
    )
    returning * into v_order;

    insert into public.order_items (order_id, variant_id, sku, name, unit_price_amount, currency, quantity, line_total_amount)
    select v_order.id, x.variant_id, x.sku, x.name, x.unit_price_amount, x.currency, x.quantity, x.unit_price_amount * x.quantity
    from jsonb_to_recordset(v_lines) as x(variant_id uuid, sku text, name text, unit_price_amount bigint, currency char(3), quantity integer);

    insert into public.inventory_reservations (order_id, variant_id, quantity, expires_at)
    select v_order.id, x.variant_id, x.quantity, v_order.expires_at
    from jsonb_to_recordset(v_lines) as x(variant_id uuid, quantity integer);

    if p_cart_id is not null then
        update public.carts set status = 'converted' where id = p_cart_id;
    end if;

    return v_order;
end;
$$;

revoke execute on function public.place_order(text, uuid, jsonb, text, jsonb, jsonb, interval, timestamptz) from public, anon;
grant execute on function public.place_order(text, uuid, jsonb, text, jsonb, jsonb, interval, timestamptz) to authenticated;

-- ----------------------------------------------------------------------------
-- cancel_order: an unpaid order, by its owner or by support/admin staff.
-- ----------------------------------------------------------------------------

create or replace function public.cancel_order(p_order_id uuid)
returns public.orders
language plpgsql
-- Definer: customers have no update grant on orders; ownership and role are checked below.
security definer
set search_path = ''
as $$
declare
    v_order public.orders;
begin
    select * into v_order from public.orders o where o.id = p_order_id for update;
    if not found or (v_order.user_id is distinct from auth.uid()
                     and coalesce(auth.jwt() ->> 'user_role', '') not in ('support', 'admin')) then
        raise exception using errcode = 'TB003', message = 'cancel_order: no such order';
    end if;
    if v_order.status <> 'pending_payment' or v_order.payment_status not in ('unpaid', 'failed') then
        raise exception using errcode = 'TB001',
            message = format('cancel_order: order %s is %s/%s; only unpaid orders can be canceled (paid ones are refunded)',
                             v_order.number, v_order.status, v_order.payment_status);
    end if;

    update public.orders set status = 'canceled', canceled_at = now() where id = p_order_id returning * into v_order;
    perform private.release_reservations(p_order_id, 'released');
    if exists (select 1 from public.payments p where p.order_id = p_order_id) then
        update public.payments set status = 'canceled' where order_id = p_order_id;
        perform private.enqueue_outbox('stripe.payment.cancel', 'order', p_order_id,
            jsonb_build_object('order_id', p_order_id), 'stripe.payment.cancel:' || p_order_id);
    end if;
    perform private.audit('order.cancel', 'order', p_order_id::text, null, to_jsonb(v_order));
    return v_order;
end;
$$;

revoke execute on function public.cancel_order(uuid) from public, anon;
grant execute on function public.cancel_order(uuid) to authenticated;

-- ----------------------------------------------------------------------------
-- attach_payment: the PaymentIntent or Checkout Session created for an order, once.
-- ----------------------------------------------------------------------------

create or replace function public.attach_payment(
    p_order_id uuid,
    p_payment_intent_id text default null,
    p_checkout_session_id text default null
)
returns public.payments
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_order public.orders;
    v_payment public.payments;
begin
    if p_payment_intent_id is null and p_checkout_session_id is null then
        raise exception using errcode = '22023', message = 'attach_payment: a PaymentIntent or Checkout Session id is required';
    end if;
    select * into v_order from public.orders o where o.id = p_order_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'attach_payment: no such order';
    end if;

    select * into v_payment from public.payments p where p.order_id = p_order_id;
    if found then
        if v_payment.stripe_payment_intent_id is not distinct from coalesce(p_payment_intent_id, v_payment.stripe_payment_intent_id)
            and v_payment.stripe_checkout_session_id is not distinct from coalesce(p_checkout_session_id, v_payment.stripe_checkout_session_id) then
            return v_payment; -- the same attachment again
        end if;
        raise exception using errcode = 'TB005',
            message = format('attach_payment: order %s already has a payment', v_order.number);
    end if;
    if v_order.status <> 'pending_payment' then
        raise exception using errcode = 'TB001',
            message = format('attach_payment: order %s is %s, not awaiting payment', v_order.number, v_order.status);
    end if;

    insert into public.payments (order_id, stripe_payment_intent_id, stripe_checkout_session_id, currency, amount)
    values (p_order_id, p_payment_intent_id, p_checkout_session_id, v_order.currency, v_order.total_amount)
    returning * into v_payment;
    return v_payment;
end;
$$;

revoke execute on function public.attach_payment(uuid, text, text) from public, anon, authenticated;
grant execute on function public.attach_payment(uuid, text, text) to service_role;

-- ----------------------------------------------------------------------------
-- apply_stripe_event: the verified event JSON. Recorded by id in the same
-- transaction as its effects; a duplicate changes nothing; an older event never
-- moves an order or payment backwards; unhandled types are recorded and ignored.
-- ----------------------------------------------------------------------------

create or replace function public.apply_stripe_event(p_event jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_id text := p_event ->> 'id';
    v_type text := p_event ->> 'type';
    v_object jsonb := p_event #> '{data,object}';
    v_created timestamptz;
    v_pi text;
    v_cs text;
    v_order_id uuid;
    v_result jsonb;
    v_order public.orders;
begin
    if v_id is null or v_id !~ '^evt_' or v_type is null
        or jsonb_typeof(v_object) is distinct from 'object'
        or jsonb_typeof(p_event -> 'created') is distinct from 'number' then
        raise exception using errcode = '22023',
            message = 'apply_stripe_event: not a Stripe event (id evt_…, type, created and data.object are required)';
    end if;
    v_created := to_timestamp((p_event ->> 'created')::double precision);

    insert into private.stripe_events (id, type, created, livemode, payload)
    values (v_id, v_type, v_created, coalesce((p_event ->> 'livemode')::boolean, false), p_event)
    on conflict (id) do nothing;
    if not found then
        return jsonb_build_object('event_id', v_id, 'type', v_type, 'status', 'duplicate');
    end if;

    v_pi := case
        when v_object ->> 'object' = 'payment_intent' then v_object ->> 'id'
        when jsonb_typeof(v_object -> 'payment_intent') = 'object' then v_object #>> '{payment_intent,id}'
        else v_object ->> 'payment_intent' end;
    v_cs := case when v_object ->> 'object' = 'checkout.session' then v_object ->> 'id' end;
    v_order_id := private.stripe_event_order_id(v_object, v_pi, v_cs);

    if v_type not in (
        'payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled',
        'payment_intent.amount_capturable_updated', 'checkout.session.completed', 'checkout.session.expired',
        'checkout.session.async_payment_succeeded', 'checkout.session.async_payment_failed',
        'charge.refunded', 'refund.created', 'refund.updated', 'charge.dispute.created'
    ) then
        v_result := jsonb_build_object('status', 'ignored', 'reason', 'event type not handled');
    elsif v_order_id is null or not exists (select 1 from public.orders o where o.id = v_order_id) then
        v_result := jsonb_build_object('status', 'ignored', 'reason', 'no order for this event');
        v_order_id := null;
    elsif v_type = 'payment_intent.succeeded' then
        v_result := private.apply_payment_state(v_order_id, 'captured', v_created, v_id, v_pi, null,
            (v_object ->> 'amount_received')::bigint, v_object ->> 'currency');
    elsif v_type = 'payment_intent.amount_capturable_updated' then
        v_result := private.apply_payment_state(v_order_id, 'authorized', v_created, v_id, v_pi, null,
            (v_object ->> 'amount_capturable')::bigint, v_object ->> 'currency');
    elsif v_type = 'payment_intent.payment_failed' then
        v_result := private.apply_payment_state(v_order_id, 'failed', v_created, v_id, v_pi, null, null, null,
            v_object #>> '{last_payment_error,message}');
    elsif v_type = 'payment_intent.canceled' then
        v_result := private.apply_payment_state(v_order_id, 'canceled', v_created, v_id, v_pi);
    elsif v_type in ('checkout.session.completed', 'checkout.session.async_payment_succeeded') then
        v_result := private.apply_payment_state(v_order_id,
            case when v_object ->> 'payment_status' in ('paid', 'no_payment_required') then 'captured' else 'pending' end,
            v_created, v_id, v_pi, v_cs, (v_object ->> 'amount_total')::bigint, v_object ->> 'currency');
    elsif v_type = 'checkout.session.async_payment_failed' then
        v_result := private.apply_payment_state(v_order_id, 'failed', v_created, v_id, v_pi, v_cs, null, null,
            'asynchronous payment failed');
    elsif v_type = 'checkout.session.expired' then
        v_result := private.apply_payment_state(v_order_id, 'expired', v_created, v_id, v_pi, v_cs);
    elsif v_type = 'charge.refunded' then
        -- A refunded charge was captured: catch up on the capture first (events may arrive out of order).
        v_result := private.apply_payment_state(v_order_id, 'captured', v_created, v_id, v_pi, null,
            (v_object ->> 'amount_captured')::bigint, v_object ->> 'currency');
        if v_result ->> 'status' in ('applied', 'stale') then
            v_result := private.apply_refunded_amount(v_order_id, (v_object ->> 'amount_refunded')::bigint, v_created);
        end if;
    elsif v_type in ('refund.created', 'refund.updated') then
        v_result := private.apply_refund_object(v_order_id, v_object, v_created);
    elsif v_type = 'charge.dispute.created' then
        update public.payments
        set disputed_at = coalesce(disputed_at, v_created), dispute_reason = v_object ->> 'reason'
        where order_id = v_order_id and disputed_at is null;
        if found then
            perform private.enqueue_outbox('ops.dispute_created', 'order', v_order_id,
                jsonb_build_object('order_id', v_order_id, 'dispute_id', v_object ->> 'id', 'reason', v_object ->> 'reason',
                                   'amount', v_object -> 'amount'),
                'ops.dispute_created:' || (v_object ->> 'id'));
            v_result := jsonb_build_object('status', 'applied');
        else
            v_result := jsonb_build_object('status', 'stale', 'reason', 'dispute already recorded');
        end if;
    end if;

    update private.stripe_events
    set status = v_result ->> 'status', outcome = v_result, order_id = v_order_id, processed_at = now(),
        error = case when v_result ->> 'status' = 'rejected' then v_result ->> 'reason' end
    where id = v_id;

    if v_order_id is not null then
        select * into v_order from public.orders o where o.id = v_order_id;
        v_result := v_result || jsonb_build_object('order_id', v_order_id, 'order_status', v_order.status,
                                                   'payment_status', v_order.payment_status);
    end if;
    return v_result || jsonb_build_object('event_id', v_id, 'type', v_type);
end;
$$;

revoke execute on function public.apply_stripe_event(jsonb) from public, anon, authenticated;
grant execute on function public.apply_stripe_event(jsonb) to service_role;

-- ----------------------------------------------------------------------------
-- expire_reservations: unpaid orders past their deadline expire and give their
-- stock back. The clock is an argument so jobs and tests decide what "now" is.
-- ----------------------------------------------------------------------------

create or replace function public.expire_reservations(p_now timestamptz default now())
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_order record;
    v_orders integer := 0;
    v_released integer := 0;
begin
    for v_order in
        select o.id from public.orders o
        where o.status = 'pending_payment' and o.expires_at <= p_now
          and o.payment_status in ('unpaid', 'failed', 'authorized')
        order by o.expires_at
        for update skip locked
    loop
        update public.orders
        set status = 'expired', expired_at = p_now,
            payment_status = case when payment_status = 'authorized' then 'failed'::public.payment_status else payment_status end
        where id = v_order.id;
        v_released := v_released + private.release_reservations(v_order.id, 'expired');
        if exists (select 1 from public.payments p where p.order_id = v_order.id and p.status in ('pending', 'authorized', 'failed')) then
            update public.payments set status = 'canceled' where order_id = v_order.id;
            perform private.enqueue_outbox('stripe.payment.cancel', 'order', v_order.id,
                jsonb_build_object('order_id', v_order.id), 'stripe.payment.cancel:' || v_order.id);
        end if;
        v_orders := v_orders + 1;
    end loop;
    return jsonb_build_object('expired_orders', v_orders, 'released_reservations', v_released);
end;
$$;

revoke execute on function public.expire_reservations(timestamptz) from public, anon, authenticated;
grant execute on function public.expire_reservations(timestamptz) to service_role;

-- ----------------------------------------------------------------------------
-- set_fulfillment_status: warehouse staff (and admins) move a paid order forward:
-- picking → fulfilling, shipped → fulfilled, delivered → completed.
-- ----------------------------------------------------------------------------

create or replace function public.set_fulfillment_status(
    p_order_id uuid,
    p_status public.fulfillment_status,
    p_tracking_number text default null
)
returns public.orders
language plpgsql
-- Definer: orders have no update grant for authenticated; the staff role is checked below.
security definer
set search_path = ''
as $$
declare
    v_order public.orders;
    v_after public.orders;
    v_status public.order_status;
begin
    if coalesce(auth.jwt() ->> 'user_role', '') not in ('warehouse', 'admin') then
        raise exception using errcode = '42501', message = 'set_fulfillment_status: warehouse staff or admins only';
    end if;
    select * into v_order from public.orders o where o.id = p_order_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'set_fulfillment_status: no such order';
    end if;
    if v_order.status not in ('paid', 'fulfilling', 'fulfilled') then
        raise exception using errcode = 'TB001',
            message = format('set_fulfillment_status: order %s is %s; only paid orders are fulfilled', v_order.number, v_order.status);
    end if;
    if p_status <= v_order.fulfillment_status then
        raise exception using errcode = 'TB001',
            message = format('set_fulfillment_status: order %s is already %s', v_order.number, v_order.fulfillment_status);
    end if;
    v_status := case p_status when 'picking' then 'fulfilling' when 'shipped' then 'fulfilled' else 'completed' end;

    update public.orders
    set fulfillment_status = p_status,
        status = greatest(status, v_status),
        tracking_number = coalesce(p_tracking_number, tracking_number)
    where id = p_order_id
    returning * into v_after;

    if p_status = 'shipped' then
        perform private.enqueue_outbox('email.order_shipped', 'order', p_order_id,
            jsonb_build_object('order_id', p_order_id, 'tracking_number', v_after.tracking_number),
            'email.order_shipped:' || p_order_id);
    end if;
    perform private.enqueue_erp_upsert(p_order_id);
    perform private.audit('order.fulfillment', 'order', p_order_id::text,
        jsonb_build_object('status', v_order.status, 'fulfillment_status', v_order.fulfillment_status),
        jsonb_build_object('status', v_after.status, 'fulfillment_status', v_after.fulfillment_status));
    select * into v_after from public.orders o where o.id = p_order_id;
    return v_after;
end;
$$;

revoke execute on function public.set_fulfillment_status(uuid, public.fulfillment_status, text) from public, anon;
grant execute on function public.set_fulfillment_status(uuid, public.fulfillment_status, text) to authenticated;

-- ----------------------------------------------------------------------------
-- request_refund: finance or admin staff with MFA ask for a refund; the refund
-- function sends it to Stripe from the outbox, and Stripe's events confirm it.
-- ----------------------------------------------------------------------------

create or replace function public.request_refund(p_order_id uuid, p_amount bigint, p_reason text default null)
returns public.refunds
language plpgsql
-- Definer: refunds and the outbox are not writable by authenticated; role and aal2 are checked below.
security definer
set search_path = ''
as $$
declare
    v_payment public.payments;
    v_refund public.refunds;
    v_id uuid := gen_random_uuid();
    v_pending bigint;
    v_succeeded bigint;
    v_refundable bigint;
begin
    if coalesce(auth.jwt() ->> 'user_role', '') not in ('finance', 'admin') or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2' then
        raise exception using errcode = '42501', message = 'request_refund: finance or admin staff signed in with MFA (aal2) only';
    end if;
    if p_amount is null or p_amount <= 0 then
        raise exception using errcode = '22023', message = 'request_refund: the amount must be positive (minor units)';
    end if;
    select * into v_payment from public.payments p where p.order_id = p_order_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'request_refund: the order has no payment';
    end if;

    select coalesce(sum(r.amount) filter (where r.status = 'pending'), 0),
           coalesce(sum(r.amount) filter (where r.status = 'succeeded'), 0)
    into v_pending, v_succeeded
    from public.refunds r where r.payment_id = v_payment.id;
    v_refundable := v_payment.amount_captured - greatest(v_payment.amount_refunded, v_succeeded) - v_pending;
    if p_amount > v_refundable then
        raise exception using errcode = 'TB004',
            message = format('request_refund: %s exceeds the %s %s still refundable', p_amount, greatest(v_refundable, 0), v_payment.currency);
    end if;

    insert into public.refunds (id, payment_id, order_id, amount, currency, reason, requested_by, idempotency_key)
    values (v_id, v_payment.id, p_order_id, p_amount, v_payment.currency, p_reason, auth.uid(), 'refund:' || v_id)
    returning * into v_refund;
    perform private.enqueue_outbox('stripe.refund.create', 'order', p_order_id,
        jsonb_build_object('refund_id', v_id, 'payment_intent', v_payment.stripe_payment_intent_id,
                           'amount', p_amount, 'currency', v_payment.currency),
        'stripe.refund.create:' || v_id);
    perform private.audit('refund.request', 'refund', v_id::text, null, to_jsonb(v_refund));
    return v_refund;
end;
$$;

revoke execute on function public.request_refund(uuid, bigint, text) from public, anon;
grant execute on function public.request_refund(uuid, bigint, text) to authenticated;

-- ----------------------------------------------------------------------------
-- Inventory through the ledger: staff adjustments and ERP stock levels.
-- ----------------------------------------------------------------------------

create or replace function public.adjust_inventory(
    p_variant_id uuid,
    p_quantity integer,
    p_reason text,
    p_kind public.movement_kind default 'adjustment'
)
returns public.inventory_levels
language plpgsql
-- Definer: stock is not writable by authenticated; the staff role is checked below.
security definer
set search_path = ''
as $$
declare
    v_level public.inventory_levels;
begin
    if coalesce(auth.jwt() ->> 'user_role', '') not in ('warehouse', 'admin') then
        raise exception using errcode = '42501', message = 'adjust_inventory: warehouse staff or admins only';
    end if;
    if p_kind not in ('receipt', 'adjustment', 'return') or p_quantity is null or p_quantity = 0
        or (p_kind in ('receipt', 'return') and p_quantity < 0) or coalesce(trim(p_reason), '') = '' then
        raise exception using errcode = '22023',
            message = 'adjust_inventory: a non-zero quantity (positive for receipts and returns), a reason, and kind receipt, adjustment or return';
    end if;
    if not exists (select 1 from public.product_variants v where v.id = p_variant_id) then
        raise exception using errcode = 'TB003', message = 'adjust_inventory: no such variant';
    end if;

    insert into public.inventory_levels (variant_id) values (p_variant_id) on conflict (variant_id) do nothing;
    update public.inventory_levels set on_hand = on_hand + p_quantity
    where variant_id = p_variant_id
    returning * into v_level;
    insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason, actor_id)
    values (p_variant_id, p_kind, p_quantity, v_level.on_hand, p_reason, auth.uid());
    perform private.audit('inventory.' || p_kind, 'variant', p_variant_id::text, null,
        jsonb_build_object('quantity', p_quantity, 'on_hand', v_level.on_hand, 'reason', p_reason));
    return v_level;
end;
$$;

revoke execute on function public.adjust_inventory(uuid, integer, text, public.movement_kind) from public, anon;
grant execute on function public.adjust_inventory(uuid, integer, text, public.movement_kind) to authenticated;

-- The ERP's count of a sku, observed at a time: applied once per message, and never
-- over a newer observation.
create or replace function public.apply_erp_stock_level(
    p_sku text,
    p_on_hand integer,
    p_external_ref text,
    p_observed_at timestamptz
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_variant_id uuid;
    v_level public.inventory_levels;
    v_delta integer;
begin
    if p_on_hand is null or p_on_hand < 0 or coalesce(p_external_ref, '') = '' or p_observed_at is null then
        raise exception using errcode = '22023', message = 'apply_erp_stock_level: on_hand ≥ 0, an external reference and an observation time';
    end if;
    select v.id into v_variant_id from public.product_variants v where v.sku = p_sku;
    if not found then
        raise exception using errcode = 'TB003', message = format('apply_erp_stock_level: unknown sku %s', p_sku);
    end if;

    insert into public.inventory_levels (variant_id) values (v_variant_id) on conflict (variant_id) do nothing;
    select * into v_level from public.inventory_levels l where l.variant_id = v_variant_id for update;
    if exists (select 1 from public.inventory_movements m where m.kind = 'erp_sync' and m.external_ref = p_external_ref) then
        return jsonb_build_object('status', 'duplicate', 'sku', p_sku, 'on_hand', v_level.on_hand);
    end if;
    if v_level.erp_observed_at >= p_observed_at then
        return jsonb_build_object('status', 'stale', 'sku', p_sku, 'on_hand', v_level.on_hand);
    end if;

    v_delta := p_on_hand - v_level.on_hand;
    update public.inventory_levels set on_hand = p_on_hand, erp_observed_at = p_observed_at
    where variant_id = v_variant_id;
    if v_delta <> 0 then
        insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason, external_ref)
        values (v_variant_id, 'erp_sync', v_delta, p_on_hand, 'ERP stock level', p_external_ref);
    end if;
    return jsonb_build_object('status', 'applied', 'sku', p_sku, 'on_hand', p_on_hand, 'delta', v_delta);
end;
$$;

revoke execute on function public.apply_erp_stock_level(text, integer, text, timestamptz) from public, anon, authenticated;
grant execute on function public.apply_erp_stock_level(text, integer, text, timestamptz) to service_role;

-- ----------------------------------------------------------------------------
-- Outbox workers: claim, complete, fail (backoff with jitter, dead letter),
-- and replay by staff.
-- ----------------------------------------------------------------------------

create or replace function public.claim_outbox_batch(
    p_topic text,
    p_limit integer default 10,
    p_visibility interval default interval '60 seconds',
    p_worker text default null,
    p_now timestamptz default now()
)
returns table (
    id bigint,
    topic text,
    aggregate_type text,
    aggregate_id uuid,
    payload jsonb,
    idempotency_key text,
    attempts integer
)
language plpgsql
security invoker
set search_path = ''
as $$
#variable_conflict use_column
begin
    if p_limit is null or p_limit not between 1 and 500 or p_visibility is null or p_visibility <= interval '0' then
        raise exception using errcode = '22023', message = 'claim_outbox_batch: limit 1..500 and a positive visibility timeout';
    end if;

    -- A lease that ran out on the last attempt: the worker died for good, dead-letter it.
    with dead as (
        update private.outbox o
        set status = 'dead', locked_until = null,
            last_error = coalesce(o.last_error, 'visibility timeout expired on the last attempt')
        where o.topic = p_topic and o.status = 'processing' and o.locked_until <= p_now and o.attempts >= o.max_attempts
        returning o.aggregate_id
    )
    update public.orders ord set erp_status = 'dead'
    from dead where p_topic = 'erp.order.upsert' and ord.id = dead.aggregate_id and ord.erp_status in ('queued', 'failed');

    return query
    with candidates as (
        select o.id
        from private.outbox o
        where o.topic = p_topic
          and ((o.status = 'pending' and o.next_attempt_at <= p_now)
               or (o.status = 'processing' and o.locked_until <= p_now))
          and o.attempts < o.max_attempts
          -- per-aggregate order: only the oldest unfinished message of an aggregate
          and not exists (
              select 1 from private.outbox e
              where e.topic = o.topic and e.aggregate_id = o.aggregate_id and e.id < o.id
                and e.status in ('pending', 'processing')
          )
        order by o.id
        limit p_limit
        for update skip locked
    )
    , claimed as (
        update private.outbox o
        set status = 'processing', attempts = o.attempts + 1, locked_until = p_now + p_visibility, locked_by = p_worker
        from candidates c
        where o.id = c.id
        returning o.id, o.topic, o.aggregate_type, o.aggregate_id, o.payload, o.idempotency_key, o.attempts
    )
    , retried as (
        -- an ERP push that failed before is queued again while it is retried
        update public.orders ord set erp_status = 'queued'
        from claimed
        where p_topic = 'erp.order.upsert' and ord.id = claimed.aggregate_id and ord.erp_status = 'failed'
    )
    select claimed.id, claimed.topic, claimed.aggregate_type, claimed.aggregate_id, claimed.payload,
           claimed.idempotency_key, claimed.attempts
    from claimed;
end;
$$;

revoke execute on function public.claim_outbox_batch(text, integer, interval, text, timestamptz) from public, anon, authenticated;
grant execute on function public.claim_outbox_batch(text, integer, interval, text, timestamptz) to service_role;

create or replace function public.complete_outbox_message(
    p_id bigint,
    p_result jsonb default '{}'::jsonb,
    p_now timestamptz default now()
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_msg private.outbox;
begin
    update private.outbox o
    set status = 'done', completed_at = p_now, locked_until = null, last_error = null
    where o.id = p_id and o.status = 'processing'
    returning * into v_msg;
    if not found then
        raise exception using errcode = 'TB001', message = format('complete_outbox_message: message %s is not in flight', p_id);
    end if;

    if v_msg.topic = 'erp.order.upsert' and coalesce(p_result ->> 'erp_document_id', '') <> '' then
        insert into private.erp_links (order_id, erp_document_id, synced_version, synced_at)
        values (v_msg.aggregate_id, p_result ->> 'erp_document_id', coalesce((v_msg.payload ->> 'version')::integer, 1), p_now)
        on conflict (order_id) do update
        set erp_document_id = excluded.erp_document_id,
            synced_version = greatest(private.erp_links.synced_version, excluded.synced_version),
            synced_at = excluded.synced_at;
        -- Synced, unless a newer change of the order is already queued.
        if not exists (
            select 1 from private.outbox o
            where o.topic = 'erp.order.upsert' and o.aggregate_id = v_msg.aggregate_id and o.status in ('pending', 'processing')
        ) then
            update public.orders set erp_status = 'synced'
            where id = v_msg.aggregate_id and erp_status in ('queued', 'failed');
        end if;
    end if;
    return jsonb_build_object('id', v_msg.id, 'status', v_msg.status);
end;
$$;

revoke execute on function public.complete_outbox_message(bigint, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.complete_outbox_message(bigint, jsonb, timestamptz) to service_role;

create or replace function public.fail_outbox_message(
    p_id bigint,
    p_error text,
    p_now timestamptz default now(),
    p_base_delay interval default interval '5 seconds',
    p_max_delay interval default interval '1 hour'
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_msg private.outbox;
    v_delay interval;
begin
    select * into v_msg from private.outbox o where o.id = p_id and o.status = 'processing' for update;
    if not found then
        raise exception using errcode = 'TB001', message = format('fail_outbox_message: message %s is not in flight', p_id);
    end if;

    if v_msg.attempts >= v_msg.max_attempts then
        update private.outbox o set status = 'dead', locked_until = null, last_error = p_error
        where o.id = p_id returning * into v_msg;
        if v_msg.topic = 'erp.order.upsert' then
            update public.orders set erp_status = 'dead' where id = v_msg.aggregate_id and erp_status in ('queued', 'failed');
        end if;
    else
        -- Exponential backoff with "equal jitter": half the delay fixed, half random.
        v_delay := least(p_max_delay, p_base_delay * power(2, v_msg.attempts - 1));
        update private.outbox o
        set status = 'pending', locked_until = null, locked_by = null, last_error = p_error,
            next_attempt_at = p_now + v_delay * (0.5 + random() * 0.5)
        where o.id = p_id returning * into v_msg;
        if v_msg.topic = 'erp.order.upsert' then
            update public.orders set erp_status = 'failed' where id = v_msg.aggregate_id and erp_status = 'queued';
        end if;
    end if;
    return jsonb_build_object('id', v_msg.id, 'status', v_msg.status, 'attempts', v_msg.attempts,
                              'next_attempt_at', v_msg.next_attempt_at);
end;
$$;

revoke execute on function public.fail_outbox_message(bigint, text, timestamptz, interval, interval) from public, anon, authenticated;
grant execute on function public.fail_outbox_message(bigint, text, timestamptz, interval, interval) to service_role;

create or replace function public.replay_outbox_message(p_id bigint, p_now timestamptz default now())
returns jsonb
language plpgsql
-- Definer: the outbox is private; the caller must be an admin (or the service role), checked below.
security definer
set search_path = ''
as $$
declare
    v_msg private.outbox;
begin
    if coalesce(auth.jwt() ->> 'user_role', '') <> 'admin' and coalesce(auth.role(), '') <> 'service_role' then
        raise exception using errcode = '42501', message = 'replay_outbox_message: admins only';
    end if;
    update private.outbox o
    set status = 'pending', attempts = 0, next_attempt_at = p_now, locked_until = null, locked_by = null
    where o.id = p_id and o.status = 'dead'
    returning * into v_msg;
    if not found then
        raise exception using errcode = 'TB001', message = format('replay_outbox_message: message %s is not dead-lettered', p_id);
    end if;
    if v_msg.topic = 'erp.order.upsert' then
        update public.orders set erp_status = 'queued' where id = v_msg.aggregate_id and erp_status = 'dead';
    end if;
    perform private.audit('outbox.replay', 'outbox', p_id::text, null, jsonb_build_object('topic', v_msg.topic));
    return jsonb_build_object('id', v_msg.id, 'status', v_msg.status);
end;
$$;

revoke execute on function public.replay_outbox_message(bigint, timestamptz) from public, anon;
grant execute on function public.replay_outbox_message(bigint, timestamptz) to authenticated, service_role;

-- ----------------------------------------------------------------------------
-- Stripe customers: one per user. Returns the id on record (the first one wins).
-- ----------------------------------------------------------------------------

create or replace function public.link_stripe_customer(p_user_id uuid, p_stripe_customer_id text)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_id text;
begin
    insert into private.stripe_customers (user_id, stripe_customer_id)
    values (p_user_id, p_stripe_customer_id)
    on conflict (user_id) do nothing;
    select c.stripe_customer_id into v_id from private.stripe_customers c where c.user_id = p_user_id;
    return v_id;
end;
$$;

revoke execute on function public.link_stripe_customer(uuid, text) from public, anon, authenticated;
grant execute on function public.link_stripe_customer(uuid, text) to service_role;

-- ----------------------------------------------------------------------------
-- Private helpers: callable by the service role's invoker functions, never by the
-- API roles (they have no usage on schema private either).
-- ----------------------------------------------------------------------------

revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on function
    private.enqueue_outbox(text, text, uuid, jsonb, text),
    private.enqueue_erp_upsert(uuid),
    private.release_reservations(uuid, public.reservation_status),
    private.consume_reservations(uuid),
    private.restock_order(uuid),
    private.apply_payment_state(uuid, text, timestamptz, text, text, text, bigint, text, text),
    private.apply_refunded_amount(uuid, bigint, timestamptz),
    private.apply_refund_object(uuid, jsonb, timestamptz),
    private.stripe_event_order_id(jsonb, text, text)
    to service_role;
grant usage on all sequences in schema private to service_role;
