-- ============================================================================
-- Stock hoarding (issue 9 §2): the shop's settings, the limits place_order
-- enforces with them, and an expiry that releases stock exactly once.
--
-- New SQLSTATEs of the SQL API:
--   TB006  a shop limit was reached (unpaid orders, quantity of a variant)
--   TB007  the cart or item list has no lines (was 22023)
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Shop settings: one row, changed by the service role (SQL editor, migrations).
-- Clients read them through public.shop_settings().
-- ----------------------------------------------------------------------------

create table private.shop_settings (
    -- a single row: the primary key can only be true
    id boolean primary key default true check (id),
    -- how long an unpaid order holds its stock; customers can shorten it, never lengthen it
    reservation_ttl interval not null default interval '30 minutes'
        check (reservation_ttl between interval '1 minute' and interval '24 hours'),
    -- unpaid orders (unpaid or failed payment, hold still running) one customer may have at once
    max_unpaid_orders integer not null default 3 check (max_unpaid_orders between 1 and 1000),
    -- units of one variant in one order
    max_quantity_per_variant integer not null default 10 check (max_quantity_per_variant between 1 and 1000),
    updated_at timestamptz not null default now()
);

comment on table private.shop_settings is 'The shop''s settings (one row): reservation_ttl, max_unpaid_orders, max_quantity_per_variant.';

alter table private.shop_settings enable row level security;

create trigger shop_settings_set_updated_at
    before update on private.shop_settings
    for each row execute function private.set_updated_at();

-- The row must always exist: it is updated, never deleted.
create or replace function private.keep_shop_settings()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    raise exception using
        errcode = '42501',
        message = 'private.shop_settings always has its one row: update it instead';
end;
$$;

create trigger shop_settings_keep_row
    before delete on private.shop_settings
    for each row execute function private.keep_shop_settings();

create trigger shop_settings_keep_row_on_truncate
    before truncate on private.shop_settings
    for each statement execute function private.keep_shop_settings();

insert into private.shop_settings default values;

grant select, update (reservation_ttl, max_unpaid_orders, max_quantity_per_variant) on private.shop_settings to service_role;

-- The settings as clients and SQL read them (a storefront shows the quantity limit and
-- the hold time). Definer: the table is in the private schema, which API roles cannot use;
-- it returns only these three public values.
create or replace function public.shop_settings()
returns table (reservation_ttl interval, max_unpaid_orders integer, max_quantity_per_variant integer)
language sql
stable
security definer
set search_path = ''
as $$
    select s.reservation_ttl, s.max_unpaid_orders, s.max_quantity_per_variant
    from private.shop_settings s;
$$;

revoke execute on function public.shop_settings() from public;
grant execute on function public.shop_settings() to anon, authenticated, service_role;

-- ----------------------------------------------------------------------------
-- place_order, with the shop's limits. Differences from the first version:
--   * one lock per customer (not per key), so the unpaid-order count cannot be raced;
--   * a repeat of an existing order's key returns it before any limit is checked;
--   * the unpaid-order and per-variant limits (TB006) are checked before any stock is
--     touched, so a refused order reveals nothing about stock;
--   * TB002 names the sku, never a quantity; no lines is TB007;
--   * customers: the clock is now() (p_now ignored), the hold is the shop's setting or
--     shorter (p_reservation_ttl can only shorten it), the email is the account's own
--     (another address is 42501); the service role's p_now, TTL (1 minute to 24 hours)
--     and email are honoured.
-- ----------------------------------------------------------------------------

create or replace function public.place_order(
    p_idempotency_key text,
    p_cart_id uuid default null,
    p_items jsonb default null,
    p_email text default null,
    p_shipping_address jsonb default null,
    p_billing_address jsonb default null,
    -- null: the shop's reservation_ttl
    p_reservation_ttl interval default null,
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
    v_service boolean := coalesce(auth.role(), '') = 'service_role';
    v_settings record;
    v_now timestamptz;
    v_ttl interval;
    v_account_email text;
    v_email text;
    v_order public.orders;
    v_requested jsonb;
    v_lines jsonb;
    v_currencies integer;
    v_unknown integer;
    v_subtotal bigint;
    v_largest integer;
    v_unpaid integer;
    v_line record;
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
    if p_reservation_ttl is not null and (p_reservation_ttl < interval '1 minute' or p_reservation_ttl > interval '24 hours') then
        raise exception using errcode = '22023', message = 'place_order: the reservation time must be between 1 minute and 24 hours';
    end if;

    select * into v_settings from public.shop_settings();
    -- Customers hold stock on the real clock, for the shop's time or less.
    v_now := case when v_service then coalesce(p_now, now()) else now() end;
    v_ttl := case when v_service then coalesce(p_reservation_ttl, v_settings.reservation_ttl)
                  else least(coalesce(p_reservation_ttl, v_settings.reservation_ttl), v_settings.reservation_ttl) end;

    -- Order mail goes to the customer's own address only.
    select pr.email into v_account_email from public.profiles pr where pr.id = v_user;
    if v_service then
        v_email := coalesce(nullif(trim(p_email), ''), v_account_email, auth.email());
    else
        if nullif(trim(p_email), '') is not null and lower(trim(p_email)) is distinct from lower(v_account_email) then
            raise exception using errcode = '42501', message = 'place_order: orders are mailed to your account''s email address only';
        end if;
        v_email := v_account_email;
    end if;
    if v_email is null then
        raise exception using errcode = '22023', message = 'place_order: an email address is required (add one to the account)';
    end if;

    -- One order at a time per customer: the idempotency lookup and the unpaid-order count
    -- below cannot be raced by the customer's own parallel requests.
    perform pg_advisory_xact_lock(hashtextextended('place_order:' || v_user, 0));
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
        raise exception using errcode = 'TB007', message = 'place_order: the order has no lines';
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

    -- The shop's limits, before any stock is looked at.
    select count(*) into v_unpaid
    from public.orders o
    where o.user_id = v_user and o.status = 'pending_payment'
      and o.payment_status in ('unpaid', 'failed') and o.expires_at > now();
    if v_unpaid >= v_settings.max_unpaid_orders then
        raise exception using errcode = 'TB006',
            message = format('place_order: unpaid orders limit reached (at most %s at a time); pay or cancel one first',
                             v_settings.max_unpaid_orders);
    end if;
    select max(s.quantity) into v_largest
    from (
        select sum((r ->> 'quantity')::integer) as quantity
        from jsonb_array_elements(v_requested) r
        group by (r ->> 'variant_id')::uuid
    ) s;
    if v_largest > v_settings.max_quantity_per_variant then
        raise exception using errcode = 'TB006',
            message = format('place_order: quantity limit reached (at most %s of a variant per order)',
                             v_settings.max_quantity_per_variant);
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
    -- The message names the sku only: how many are left is not the customer's to know.
    for v_line in
        select * from jsonb_to_recordset(v_lines) as x(variant_id uuid, quantity integer, sku text)
        order by variant_id
    loop
        update public.inventory_levels
        set reserved = reserved + v_line.quantity
        where variant_id = v_line.variant_id and on_hand - reserved >= v_line.quantity;
        if not found then
            raise exception using errcode = 'TB002',
                message = format('place_order: not enough stock for %s', v_line.sku);
        end if;
    end loop;

    insert into public.orders (
        number, user_id, cart_id, currency, subtotal_amount, discount_amount, shipping_amount, tax_amount,
        total_amount, email, shipping_address, billing_address, idempotency_key, request_fingerprint, expires_at, created_at
    )
    values (
        'TB-' || lpad(nextval('private.order_number_seq')::text, 6, '0'), v_user, p_cart_id,
        (v_lines -> 0 ->> 'currency'), v_subtotal, 0, 0, 0, v_subtotal, v_email,
        p_shipping_address, coalesce(p_billing_address, p_shipping_address), p_idempotency_key, v_fingerprint,
        -- even the service role's clock cannot hold stock past a day from now
        least(v_now + v_ttl, now() + interval '24 hours'), least(v_now, now())
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
grant execute on function public.place_order(text, uuid, jsonb, text, jsonb, jsonb, interval, timestamptz) to authenticated, service_role;

-- ----------------------------------------------------------------------------
-- expire_reservations, in batches, releasing each reservation exactly once:
--   * unpaid orders past their deadline are claimed FOR UPDATE SKIP LOCKED: a
--     concurrent run skips them, and one that waited re-checks the row and finds it
--     expired already (READ COMMITTED re-evaluates the WHERE clause on the new row);
--   * orders with or without a payment, unpaid, failed or authorized (an authorization
--     extends the deadline by 7 days; when that passes too, the hold ends);
--   * stock levels are locked in variant order and updated once per variant, as
--     place_order does, so the job and buyers never deadlock each other.
-- The clock is an argument so jobs and tests decide what "now" is.
-- ----------------------------------------------------------------------------

drop function public.expire_reservations(timestamptz);

create function public.expire_reservations(p_now timestamptz default now(), p_limit integer default 500)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_orders uuid[];
    v_released integer := 0;
    v_units integer := 0;
    v_canceled uuid[];
begin
    if p_now is null or p_limit is null or p_limit not between 1 and 10000 then
        raise exception using errcode = '22023', message = 'expire_reservations: a time and a batch size of 1 to 10000';
    end if;

    select coalesce(array_agg(due.id), '{}') into v_orders
    from (
        select o.id from public.orders o
        where o.status = 'pending_payment' and o.expires_at <= p_now
          and o.payment_status in ('unpaid', 'failed', 'authorized')
        order by o.expires_at
        limit p_limit
        for update skip locked
    ) due;
    if cardinality(v_orders) = 0 then
        return jsonb_build_object('expired_orders', 0, 'released_reservations', 0, 'released_units', 0);
    end if;

    update public.orders
    set status = 'expired', expired_at = p_now,
        payment_status = case when payment_status = 'authorized' then 'failed'::public.payment_status else payment_status end
    where id = any (v_orders);

    -- Levels first, in variant order; then the reservations and one update per variant.
    perform 1 from public.inventory_levels l
    where l.variant_id in (
        select r.variant_id from public.inventory_reservations r where r.order_id = any (v_orders) and r.status = 'active'
    )
    order by l.variant_id
    for update;

    with released as (
        update public.inventory_reservations r
        set status = 'expired'
        where r.order_id = any (v_orders) and r.status = 'active'
        returning r.variant_id, r.quantity
    ),
    per_variant as (
        select variant_id, sum(quantity)::integer as quantity, count(*)::integer as reservations
        from released
        group by variant_id
    ),
    levels as (
        update public.inventory_levels l
        set reserved = l.reserved - pv.quantity
        from per_variant pv
        where l.variant_id = pv.variant_id
        returning pv.quantity, pv.reservations
    )
    select coalesce(sum(reservations), 0), coalesce(sum(quantity), 0) into v_released, v_units from levels;

    -- A payment started for an expired order is canceled at Stripe (through the outbox).
    with canceled as (
        update public.payments p
        set status = 'canceled'
        where p.order_id = any (v_orders) and p.status in ('pending', 'authorized', 'failed')
        returning p.order_id
    )
    select coalesce(array_agg(order_id), '{}') into v_canceled from canceled;
    perform private.enqueue_outbox('stripe.payment.cancel', 'order', c.order_id,
        jsonb_build_object('order_id', c.order_id), 'stripe.payment.cancel:' || c.order_id)
    from unnest(v_canceled) as c (order_id);

    return jsonb_build_object('expired_orders', cardinality(v_orders), 'released_reservations', v_released,
                              'released_units', v_units);
end;
$$;

revoke execute on function public.expire_reservations(timestamptz, integer) from public, anon, authenticated;
grant execute on function public.expire_reservations(timestamptz, integer) to service_role;

revoke execute on function private.keep_shop_settings() from public, anon, authenticated;
