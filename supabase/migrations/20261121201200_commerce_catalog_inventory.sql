-- ============================================================================
-- Catalog (categories, products, variants, costs) and inventory (levels,
-- reservations, the movement ledger). Visitors see active products and whether a
-- variant is in stock; never stock counts or costs.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Categories
-- ----------------------------------------------------------------------------

create table public.categories (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text not null check (length(name) between 1 and 200),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.categories enable row level security;

create trigger categories_set_updated_at
    before update on public.categories
    for each row execute function private.set_updated_at();

revoke all on public.categories from anon, authenticated;
grant select on public.categories to anon, authenticated;
grant insert (id, slug, name, active), update (slug, name, active), delete on public.categories to authenticated;

create policy "Visitors can read active categories"
    on public.categories for select to anon
    using (active);

create policy "Signed-in users can read active categories and staff can read every category"
    on public.categories for select to authenticated
    using (active or ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin'));

create policy "Admins can add categories"
    on public.categories for insert to authenticated
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can change categories"
    on public.categories for update to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin')
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can delete categories"
    on public.categories for delete to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin');

-- ----------------------------------------------------------------------------
-- Products
-- ----------------------------------------------------------------------------

create table public.products (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text not null check (length(name) between 1 and 200),
    description text not null default '',
    category_id uuid references public.categories (id) on delete set null,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.products enable row level security;

create index products_category_id_idx on public.products (category_id);

create trigger products_set_updated_at
    before update on public.products
    for each row execute function private.set_updated_at();

revoke all on public.products from anon, authenticated;
grant select on public.products to anon, authenticated;
grant insert (id, slug, name, description, category_id, active),
    update (slug, name, description, category_id, active), delete
    on public.products to authenticated;

create policy "Visitors can read active products"
    on public.products for select to anon
    using (active);

create policy "Signed-in users can read active products and staff can read every product"
    on public.products for select to authenticated
    using (active or ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin'));

create policy "Admins can add products"
    on public.products for insert to authenticated
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can change products"
    on public.products for update to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin')
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can delete products"
    on public.products for delete to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin');

-- ----------------------------------------------------------------------------
-- Variants: the sellable unit. `in_stock` is maintained from inventory_levels and is
-- all visitors learn about stock.
-- ----------------------------------------------------------------------------

create table public.product_variants (
    id uuid primary key default gen_random_uuid(),
    product_id uuid not null references public.products (id) on delete cascade,
    sku text not null unique check (length(sku) between 1 and 64),
    name text not null check (length(name) between 1 and 200),
    options jsonb not null default '{}'::jsonb check (jsonb_typeof(options) = 'object'),
    price_amount bigint not null check (price_amount >= 0),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    active boolean not null default true,
    in_stock boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table public.product_variants enable row level security;

create index product_variants_product_id_idx on public.product_variants (product_id);

create trigger product_variants_set_updated_at
    before update on public.product_variants
    for each row execute function private.set_updated_at();

revoke all on public.product_variants from anon, authenticated;
grant select on public.product_variants to anon, authenticated;
-- in_stock is never granted: only the inventory trigger sets it.
grant insert (id, product_id, sku, name, options, price_amount, currency, active),
    update (sku, name, options, price_amount, currency, active), delete
    on public.product_variants to authenticated;

create policy "Visitors can read active variants of active products"
    on public.product_variants for select to anon
    using (
        active
        and exists (select 1 from public.products p where p.id = product_id and p.active)
    );

create policy "Signed-in users can read active variants and staff can read every variant"
    on public.product_variants for select to authenticated
    using (
        ((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin')
        or (active and exists (select 1 from public.products p where p.id = product_id and p.active))
    );

create policy "Admins can add variants"
    on public.product_variants for insert to authenticated
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can change variants"
    on public.product_variants for update to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin')
    with check (((select auth.jwt()) ->> 'user_role') = 'admin');

create policy "Admins can delete variants"
    on public.product_variants for delete to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin');

-- ----------------------------------------------------------------------------
-- Variant costs: what the shop pays. Staff only, never visitors or customers.
-- ----------------------------------------------------------------------------

create table public.variant_costs (
    variant_id uuid primary key references public.product_variants (id) on delete cascade,
    cost_amount bigint not null check (cost_amount >= 0),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    updated_at timestamptz not null default now()
);

alter table public.variant_costs enable row level security;

create trigger variant_costs_set_updated_at
    before update on public.variant_costs
    for each row execute function private.set_updated_at();

revoke all on public.variant_costs from anon, authenticated;
grant select, delete on public.variant_costs to authenticated;
grant insert (variant_id, cost_amount, currency), update (cost_amount, currency) on public.variant_costs to authenticated;

create policy "Finance, warehouse and admin staff can read variant costs"
    on public.variant_costs for select to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('finance', 'warehouse', 'admin'));

create policy "Finance and admin staff can add variant costs"
    on public.variant_costs for insert to authenticated
    with check (((select auth.jwt()) ->> 'user_role') in ('finance', 'admin'));

create policy "Finance and admin staff can change variant costs"
    on public.variant_costs for update to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('finance', 'admin'))
    with check (((select auth.jwt()) ->> 'user_role') in ('finance', 'admin'));

create policy "Admins can delete variant costs"
    on public.variant_costs for delete to authenticated
    using (((select auth.jwt()) ->> 'user_role') = 'admin');

-- ----------------------------------------------------------------------------
-- Inventory levels: one row per variant. Written only by the SQL API (reservation,
-- ledger, ERP sync); constraints make overselling impossible.
-- ----------------------------------------------------------------------------

create table public.inventory_levels (
    variant_id uuid primary key references public.product_variants (id) on delete cascade,
    on_hand integer not null default 0 check (on_hand >= 0),
    reserved integer not null default 0 check (reserved >= 0),
    erp_observed_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint inventory_levels_reserved_within_on_hand check (reserved <= on_hand)
);

alter table public.inventory_levels enable row level security;

create trigger inventory_levels_set_updated_at
    before update on public.inventory_levels
    for each row execute function private.set_updated_at();

revoke all on public.inventory_levels from anon, authenticated;
grant select on public.inventory_levels to authenticated;

create policy "Staff can read stock levels"
    on public.inventory_levels for select to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('support', 'warehouse', 'finance', 'admin'));

-- Keeps product_variants.in_stock in step with the level. Writes only when the flag flips.
create or replace function private.sync_variant_in_stock()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    update public.product_variants v
    set in_stock = (new.on_hand > new.reserved)
    where v.id = new.variant_id
      and v.in_stock is distinct from (new.on_hand > new.reserved);
    return null;
end;
$$;

revoke execute on function private.sync_variant_in_stock() from public, anon, authenticated;
grant execute on function private.sync_variant_in_stock() to service_role;

create trigger inventory_levels_sync_in_stock
    after insert or update of on_hand, reserved on public.inventory_levels
    for each row execute function private.sync_variant_in_stock();

-- ----------------------------------------------------------------------------
-- Reservations are created with orders (next migration adds the order FK).
-- ----------------------------------------------------------------------------

create table public.inventory_reservations (
    id uuid primary key default gen_random_uuid(),
    order_id uuid not null,
    variant_id uuid not null references public.product_variants (id) on delete restrict,
    quantity integer not null check (quantity > 0),
    status public.reservation_status not null default 'active',
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint inventory_reservations_one_per_order_variant unique (order_id, variant_id)
);

alter table public.inventory_reservations enable row level security;

create index inventory_reservations_variant_id_idx on public.inventory_reservations (variant_id);
create index inventory_reservations_active_expiry_idx on public.inventory_reservations (expires_at) where status = 'active';

create trigger inventory_reservations_set_updated_at
    before update on public.inventory_reservations
    for each row execute function private.set_updated_at();

revoke all on public.inventory_reservations from anon, authenticated;
grant select on public.inventory_reservations to authenticated;

create policy "Warehouse, support and admin staff can read reservations"
    on public.inventory_reservations for select to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('warehouse', 'support', 'admin'));

-- ----------------------------------------------------------------------------
-- Movement ledger: every change of on_hand, append-only.
-- ----------------------------------------------------------------------------

create table public.inventory_movements (
    id bigint generated always as identity primary key,
    variant_id uuid not null references public.product_variants (id) on delete restrict,
    kind public.movement_kind not null,
    quantity integer not null check (quantity <> 0),
    on_hand_after integer not null check (on_hand_after >= 0),
    reason text not null default '',
    order_id uuid,
    actor_id uuid references auth.users (id) on delete set null,
    external_ref text,
    created_at timestamptz not null default now(),
    -- an ERP stock message applies once, however often it is delivered
    constraint inventory_movements_external_ref_once unique (kind, external_ref)
);

alter table public.inventory_movements enable row level security;

create index inventory_movements_variant_id_idx on public.inventory_movements (variant_id, created_at);
create index inventory_movements_order_id_idx on public.inventory_movements (order_id);
create index inventory_movements_actor_id_idx on public.inventory_movements (actor_id);

create trigger inventory_movements_is_append_only
    before update or delete on public.inventory_movements
    for each row execute function private.forbid_change();

revoke all on public.inventory_movements from anon, authenticated;
grant select on public.inventory_movements to authenticated;

create policy "Warehouse, finance and admin staff can read stock movements"
    on public.inventory_movements for select to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('warehouse', 'finance', 'admin'));
