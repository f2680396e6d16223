-- ============================================================================
-- Commerce foundation: the private schema (never exposed by the API), the enums
-- of the domain's state machines, shared trigger functions and the audit log.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Private schema: integration tables and internal helpers. Not listed in
-- [api] schemas, and anon/authenticated get no usage on it.
-- ----------------------------------------------------------------------------

create schema if not exists private;

revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Functions get no default grants to the API roles: every function below revokes
-- execute from public (and anon) and grants it per role.

-- ----------------------------------------------------------------------------
-- Enums
-- ----------------------------------------------------------------------------

create type public.staff_role as enum ('support', 'warehouse', 'finance', 'admin');

create type public.order_status as enum (
    'pending_payment', 'paid', 'fulfilling', 'fulfilled', 'completed', 'expired', 'canceled'
);

create type public.payment_status as enum (
    'unpaid', 'authorized', 'captured', 'partially_refunded', 'refunded', 'failed'
);

create type public.fulfillment_status as enum ('unfulfilled', 'picking', 'shipped', 'delivered');

create type public.erp_status as enum ('not_synced', 'queued', 'synced', 'failed', 'dead');

create type public.cart_status as enum ('open', 'converted', 'abandoned');

create type public.reservation_status as enum ('active', 'consumed', 'released', 'expired');

create type public.movement_kind as enum ('receipt', 'sale', 'adjustment', 'erp_sync', 'return');

create type public.payment_state as enum ('pending', 'authorized', 'succeeded', 'failed', 'canceled');

create type public.refund_status as enum ('pending', 'succeeded', 'failed', 'canceled');

create type private.outbox_status as enum ('pending', 'processing', 'done', 'dead');

-- ----------------------------------------------------------------------------
-- Shared trigger functions
-- ----------------------------------------------------------------------------

create or replace function private.set_updated_at()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- Append-only tables (ledger, audit log) refuse updates and deletes from everyone.
create or replace function private.forbid_change()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
    raise exception using
        errcode = '42501',
        message = format('%I.%I is append-only', tg_table_schema, tg_table_name);
end;
$$;

-- ----------------------------------------------------------------------------
-- Audit log: who did what to which entity, with before/after snapshots.
-- ----------------------------------------------------------------------------

create table private.audit_log (
    id bigint generated always as identity primary key,
    actor_id uuid,
    actor_role text,
    action text not null check (length(action) between 1 and 100),
    entity text not null,
    entity_id text not null,
    before jsonb,
    after jsonb,
    at timestamptz not null default now()
);

alter table private.audit_log enable row level security;

create index audit_log_entity_idx on private.audit_log (entity, entity_id);
create index audit_log_actor_id_idx on private.audit_log (actor_id);

create trigger audit_log_is_append_only
    before update or delete on private.audit_log
    for each row execute function private.forbid_change();

grant select, insert on private.audit_log to service_role;

-- Records an action with the caller's identity from the request claims.
create or replace function private.audit(
    p_action text,
    p_entity text,
    p_entity_id text,
    p_before jsonb default null,
    p_after jsonb default null
)
returns void
language sql
security invoker
set search_path = ''
as $$
    insert into private.audit_log (actor_id, actor_role, action, entity, entity_id, before, after)
    values (
        auth.uid(),
        coalesce(auth.jwt() ->> 'user_role', auth.role(), current_user),
        p_action, p_entity, p_entity_id, p_before, p_after
    );
$$;

grant execute on function private.set_updated_at(), private.forbid_change(),
    private.audit(text, text, text, jsonb, jsonb) to service_role;
