-- ============================================================================
-- Carts, orders, payments and refunds. Customers write only their open carts;
-- orders, payments and refunds change only through the SQL API, and the state
-- machines of docs/domain.md are enforced by a trigger whoever writes.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Carts
-- ----------------------------------------------------------------------------

create table public.carts (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    status public.cart_status not null default 'open',
    currency char(3) not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.carts enable row level security;

create index carts_user_id_idx on public.carts (user_id, status);

create trigger carts_set_updated_at
    before update on public.carts
    for each row execute function private.set_updated_at();

-- status (open → converted) is set by place_order only.
revoke all on public.carts from anon, authenticated;
grant select, delete on public.carts to authenticated;
grant insert (id, user_id, currency), update (currency) on public.carts to authenticated;

create policy "Customers can read their own carts and support staff can read every cart"
    on public.carts for select to authenticated
    using (
        user_id = (select auth.uid())
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'admin')
    );

create policy "Customers can create carts for themselves"
    on public.carts for insert to authenticated
    with check (user_id = (select auth.uid()) and status = 'open');

create policy "Customers can change their own open carts"
    on public.carts for update to authenticated
    using (user_id = (select auth.uid()) and status = 'open')
    with check (user_id = (select auth.uid()) and status = 'open');

create policy "Customers can delete their own open carts"
    on public.carts for delete to authenticated
    using (user_id = (select auth.uid()) and status = 'open');

create table public.cart_items (
    id uuid primary key default gen_random_uuid(),
    cart_id uuid not null references public.carts (id) on delete cascade,
    variant_id uuid not null references public.product_variants (id) on delete cascade,
    quantity integer not null check (quantity between 1 and 1000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint cart_items_one_line_per_variant unique (cart_id, variant_id)
);

alter table public.cart_items enable row level security;

create index cart_items_variant_id_idx on public.cart_items (variant_id);

create trigger cart_items_set_updated_at
    before update on public.cart_items
    for each row execute function private.set_updated_at();

revoke all on public.cart_items from anon, authenticated;
grant select, delete on public.cart_items to authenticated;
grant insert (id, cart_id, variant_id, quantity), update (quantity) on public.cart_items to authenticated;

create policy "Customers can read the items of their own carts and support staff can read every cart item"
    on public.cart_items for select to authenticated
    using (
        exists (select 1 from public.carts c where c.id = cart_id and c.user_id = (select auth.uid()))
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'admin')
    );

create policy "Customers can add items to their own open carts"
    on public.cart_items for insert to authenticated
    with check (
        exists (select 1 from public.carts c where c.id = cart_id and c.user_id = (select auth.uid()) and c.status = 'open')
    );

create policy "Customers can change items of their own open carts"
    on public.cart_items for update to authenticated
    using (
        exists (select 1 from public.carts c where c.id = cart_id and c.user_id = (select auth.uid()) and c.status = 'open')
    )
    with check (
        exists (select 1 from public.carts c where c.id = cart_id and c.user_id = (select auth.uid()) and c.status = 'open')
    );

create policy "Customers can remove items from their own open carts"
    on public.cart_items for delete to authenticated
    using (
        exists (select 1 from public.carts c where c.id = cart_id and c.user_id = (select auth.uid()) and c.status = 'open')
    );

-- ----------------------------------------------------------------------------
-- Orders
-- ----------------------------------------------------------------------------

create sequence private.order_number_seq;

create table public.orders (
    id uuid primary key default gen_random_uuid(),
    number text not null unique,
    -- Orders are financial records: a customer who has orders is anonymised, not deleted.
    user_id uuid not null references auth.users (id) on delete restrict,
    cart_id uuid references public.carts (id) on delete set null,
    status public.order_status not null default 'pending_payment',
    payment_status public.payment_status not null default 'unpaid',
    fulfillment_status public.fulfillment_status not null default 'unfulfilled',
    erp_status public.erp_status not null default 'not_synced',
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    subtotal_amount bigint not null check (subtotal_amount >= 0),
    discount_amount bigint not null default 0 check (discount_amount >= 0),
    shipping_amount bigint not null default 0 check (shipping_amount >= 0),
    tax_amount bigint not null default 0 check (tax_amount >= 0),
    total_amount bigint not null check (total_amount >= 0),
    email text not null check (email like '%_@_%'),
    shipping_address jsonb check (shipping_address is null or jsonb_typeof(shipping_address) = 'object'),
    billing_address jsonb check (billing_address is null or jsonb_typeof(billing_address) = 'object'),
    idempotency_key text not null check (length(idempotency_key) between 1 and 200),
    -- what the key was used for: a replay with another cart or other items is refused
    request_fingerprint text,
    tracking_number text,
    version integer not null default 1,
    expires_at timestamptz not null,
    paid_at timestamptz,
    canceled_at timestamptz,
    expired_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint orders_idempotency_key_per_user unique (user_id, idempotency_key),
    constraint orders_total_adds_up check (total_amount = subtotal_amount - discount_amount + shipping_amount + tax_amount),
    constraint orders_discount_within_subtotal check (discount_amount <= subtotal_amount),
    constraint orders_paid_states_are_paid check (
        status not in ('paid', 'fulfilling', 'fulfilled', 'completed')
        or payment_status in ('captured', 'partially_refunded', 'refunded')
    ),
    -- target of the payments foreign key that pins a payment to the order's total
    constraint orders_id_currency_total_key unique (id, currency, total_amount)
);

alter table public.orders enable row level security;

create index orders_user_id_idx on public.orders (user_id, created_at desc);
create index orders_cart_id_idx on public.orders (cart_id);
create index orders_pending_expiry_idx on public.orders (expires_at) where status = 'pending_payment';

revoke all on public.orders from anon, authenticated;
grant select on public.orders to authenticated;

create policy "Customers can read their own orders and staff can read every order"
    on public.orders for select to authenticated
    using (
        user_id = (select auth.uid())
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin')
    );

-- The order state machines of docs/domain.md. Whoever updates an order (SQL API,
-- service role, a migration), an illegal move raises TB001; every change of the
-- order bumps the version that ERP sync compares.
create or replace function private.guard_order_transition()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    if new.user_id is distinct from old.user_id or new.number is distinct from old.number
        or new.currency is distinct from old.currency or new.total_amount is distinct from old.total_amount
        or new.subtotal_amount is distinct from old.subtotal_amount or new.idempotency_key is distinct from old.idempotency_key then
        raise exception using errcode = 'TB001', message = 'an order''s owner, number, currency and amounts never change';
    end if;

    if new.status is distinct from old.status and not (
        (old.status = 'pending_payment' and new.status in ('paid', 'expired', 'canceled'))
        or (old.status = 'paid' and new.status in ('fulfilling', 'fulfilled', 'completed'))
        or (old.status = 'paid' and new.status = 'canceled' and new.payment_status = 'refunded')
        or (old.status = 'fulfilling' and new.status in ('fulfilled', 'completed'))
        or (old.status = 'fulfilled' and new.status = 'completed')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s cannot move from %s to %s', old.number, old.status, new.status);
    end if;

    if new.payment_status is distinct from old.payment_status and not (
        (old.payment_status = 'unpaid' and new.payment_status in ('authorized', 'captured', 'failed'))
        or (old.payment_status = 'authorized' and new.payment_status in ('captured', 'failed'))
        or (old.payment_status = 'failed' and new.payment_status in ('authorized', 'captured'))
        or (old.payment_status = 'captured' and new.payment_status in ('partially_refunded', 'refunded'))
        or (old.payment_status = 'partially_refunded' and new.payment_status = 'refunded')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s payment cannot move from %s to %s', old.number, old.payment_status, new.payment_status);
    end if;

    if new.fulfillment_status < old.fulfillment_status then
        raise exception using errcode = 'TB001',
            message = format('order %s fulfilment cannot move back from %s to %s', old.number, old.fulfillment_status, new.fulfillment_status);
    end if;

    if new.erp_status is distinct from old.erp_status and not (
        (old.erp_status = 'not_synced' and new.erp_status = 'queued')
        or (old.erp_status = 'queued' and new.erp_status in ('synced', 'failed', 'dead'))
        or (old.erp_status = 'failed' and new.erp_status in ('queued', 'synced', 'dead'))
        or (old.erp_status in ('synced', 'dead') and new.erp_status = 'queued')
    ) then
        raise exception using errcode = 'TB001',
            message = format('order %s ERP status cannot move from %s to %s', old.number, old.erp_status, new.erp_status);
    end if;

    -- The ERP status is bookkeeping about the order, not a change of it.
    if (new.status, new.payment_status, new.fulfillment_status, new.tracking_number, new.email,
        new.shipping_address, new.billing_address, new.expires_at)
        is distinct from
       (old.status, old.payment_status, old.fulfillment_status, old.tracking_number, old.email,
        old.shipping_address, old.billing_address, old.expires_at) then
        new.version := old.version + 1;
    end if;
    new.updated_at := now();
    return new;
end;
$$;

create trigger orders_guard_transition
    before update on public.orders
    for each row execute function private.guard_order_transition();

-- ----------------------------------------------------------------------------
-- Order items: snapshots of sku, name and price at the time of the order.
-- ----------------------------------------------------------------------------

create table public.order_items (
    id uuid primary key default gen_random_uuid(),
    order_id uuid not null references public.orders (id) on delete cascade,
    variant_id uuid references public.product_variants (id) on delete set null,
    sku text not null,
    name text not null,
    unit_price_amount bigint not null check (unit_price_amount >= 0),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    quantity integer not null check (quantity > 0),
    line_total_amount bigint not null,
    created_at timestamptz not null default now(),
    constraint order_items_line_total_adds_up check (line_total_amount = unit_price_amount * quantity)
);

alter table public.order_items enable row level security;

create index order_items_order_id_idx on public.order_items (order_id);
create index order_items_variant_id_idx on public.order_items (variant_id);

revoke all on public.order_items from anon, authenticated;
grant select on public.order_items to authenticated;

create policy "Customers can read the items of their own orders and staff can read every order item"
    on public.order_items for select to authenticated
    using (
        exists (select 1 from public.orders o where o.id = order_id and o.user_id = (select auth.uid()))
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin')
    );

create trigger order_items_are_immutable
    before update on public.order_items
    for each row execute function private.forbid_change();

-- Subtotal = sum of the lines, and every line in the order's currency: checked at
-- commit, so an order and its lines are written in one transaction. Definer: the
-- deferred check must see every line whichever role commits.
create or replace function private.check_order_lines()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row jsonb := to_jsonb(coalesce(new, old));
    v_order_id uuid := case when tg_table_name = 'orders' then v_row ->> 'id' else v_row ->> 'order_id' end;
    v_subtotal bigint;
    v_lines integer;
    v_currency_ok boolean;
    v_order public.orders;
begin
    select * into v_order from public.orders where id = v_order_id;
    if not found then
        return null; -- the order itself was deleted
    end if;
    select coalesce(sum(i.line_total_amount), 0), count(*), coalesce(bool_and(i.currency = v_order.currency), true)
    into v_subtotal, v_lines, v_currency_ok
    from public.order_items i
    where i.order_id = v_order_id;

    if v_lines = 0 or v_subtotal <> v_order.subtotal_amount or not v_currency_ok then
        raise exception using
            errcode = '23514',
            constraint = 'orders_subtotal_matches_lines',
            message = format('order %s: subtotal %s does not equal the sum of its %s line(s), %s, in %s',
                             v_order.number, v_order.subtotal_amount, v_lines, v_subtotal, v_order.currency);
    end if;
    return null;
end;
$$;

revoke execute on function private.check_order_lines() from public, anon, authenticated;

create constraint trigger orders_subtotal_matches_lines
    after insert or update on public.orders
    deferrable initially deferred
    for each row execute function private.check_order_lines();

create constraint trigger order_items_subtotal_matches_lines
    after insert or delete on public.order_items
    deferrable initially deferred
    for each row execute function private.check_order_lines();

-- Reservations and movements belong to orders.
alter table public.inventory_reservations
    add constraint inventory_reservations_order_id_fkey
    foreign key (order_id) references public.orders (id) on delete cascade;

-- The ledger is append-only, so an order with stock movements cannot be deleted.
alter table public.inventory_movements
    add constraint inventory_movements_order_id_fkey
    foreign key (order_id) references public.orders (id) on delete restrict;

-- ----------------------------------------------------------------------------
-- Payments: one per order; amounts only ever add up:
-- refunded ≤ captured ≤ authorized ≤ amount = the order's total (by foreign key).
-- ----------------------------------------------------------------------------

create table public.payments (
    id uuid primary key default gen_random_uuid(),
    order_id uuid not null unique,
    provider text not null default 'stripe' check (provider = 'stripe'),
    stripe_payment_intent_id text unique check (stripe_payment_intent_id ~ '^pi_'),
    stripe_checkout_session_id text unique check (stripe_checkout_session_id ~ '^cs_'),
    status public.payment_state not null default 'pending',
    currency char(3) not null,
    amount bigint not null check (amount >= 0),
    amount_authorized bigint not null default 0,
    amount_captured bigint not null default 0,
    amount_refunded bigint not null default 0,
    failure_message text,
    disputed_at timestamptz,
    dispute_reason text,
    last_event_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint payments_has_stripe_reference check (
        stripe_payment_intent_id is not null or stripe_checkout_session_id is not null
    ),
    constraint payments_amounts_add_up check (
        amount_refunded >= 0
        and amount_captured >= amount_refunded
        and amount_authorized >= amount_captured
        and amount >= amount_authorized
    ),
    constraint payments_order_total_fkey foreign key (order_id, currency, amount)
        references public.orders (id, currency, total_amount) on delete cascade
);

alter table public.payments enable row level security;

create index payments_order_total_idx on public.payments (order_id, currency, amount);

create trigger payments_set_updated_at
    before update on public.payments
    for each row execute function private.set_updated_at();

revoke all on public.payments from anon, authenticated;
grant select on public.payments to authenticated;

create policy "Customers can read payments of their own orders and staff can read every payment"
    on public.payments for select to authenticated
    using (
        exists (select 1 from public.orders o where o.id = order_id and o.user_id = (select auth.uid()))
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'finance', 'admin')
    );

-- ----------------------------------------------------------------------------
-- Refunds: requested by finance/admin with MFA (request_refund), confirmed by
-- Stripe's refund events.
-- ----------------------------------------------------------------------------

create table public.refunds (
    id uuid primary key default gen_random_uuid(),
    payment_id uuid not null references public.payments (id) on delete cascade,
    order_id uuid not null references public.orders (id) on delete cascade,
    stripe_refund_id text unique check (stripe_refund_id ~ '^re_'),
    amount bigint not null check (amount > 0),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    status public.refund_status not null default 'pending',
    reason text,
    requested_by uuid references auth.users (id) on delete set null,
    idempotency_key text not null unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.refunds enable row level security;

create index refunds_payment_id_idx on public.refunds (payment_id);
create index refunds_order_id_idx on public.refunds (order_id);
create index refunds_requested_by_idx on public.refunds (requested_by);

create trigger refunds_set_updated_at
    before update on public.refunds
    for each row execute function private.set_updated_at();

revoke all on public.refunds from anon, authenticated;
grant select on public.refunds to authenticated;

create policy "Customers can read refunds of their own orders and staff can read every refund"
    on public.refunds for select to authenticated
    using (
        exists (select 1 from public.orders o where o.id = order_id and o.user_id = (select auth.uid()))
        or ((select auth.jwt()) ->> 'user_role') in ('support', 'finance', 'admin')
    );
