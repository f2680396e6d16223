-- ============================================================================
-- Integration tables, in the private schema the API does not expose: Stripe
-- customers and the Stripe event log, the transactional outbox, ERP links.
-- Reached only through the SQL API (service role, or definer functions).
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Stripe customers: one per user, unique both ways.
-- ----------------------------------------------------------------------------

create table private.stripe_customers (
    user_id uuid primary key references auth.users (id) on delete cascade,
    stripe_customer_id text not null unique check (stripe_customer_id ~ '^cus_'),
    created_at timestamptz not null default now()
);

alter table private.stripe_customers enable row level security;

grant select, insert on private.stripe_customers to service_role;

-- ----------------------------------------------------------------------------
-- Stripe event log: the event id is the primary key and is written in the same
-- transaction as the event's effects, so an event applies at most once.
-- ----------------------------------------------------------------------------

create table private.stripe_events (
    id text primary key check (id ~ '^evt_'),
    type text not null,
    created timestamptz not null,
    livemode boolean not null default false,
    payload jsonb not null,
    status text not null default 'received' check (status in ('received', 'applied', 'stale', 'ignored', 'rejected')),
    outcome jsonb,
    order_id uuid references public.orders (id) on delete set null,
    attempts integer not null default 1 check (attempts > 0),
    error text,
    received_at timestamptz not null default now(),
    processed_at timestamptz
);

alter table private.stripe_events enable row level security;

create index stripe_events_order_id_idx on private.stripe_events (order_id);
create index stripe_events_created_idx on private.stripe_events (created);

grant select, insert, update on private.stripe_events to service_role;

-- ----------------------------------------------------------------------------
-- Outbox: messages written in the transaction of the state change they announce.
-- Workers claim with FOR UPDATE SKIP LOCKED and a visibility timeout; at most one
-- message per (topic, aggregate) is in flight, and a later one waits for it.
-- ----------------------------------------------------------------------------

create table private.outbox (
    id bigint generated always as identity primary key,
    topic text not null check (topic ~ '^[a-z_]+(\.[a-z_]+)+$'),
    aggregate_type text not null,
    aggregate_id uuid,
    payload jsonb not null default '{}'::jsonb,
    idempotency_key text not null unique,
    status private.outbox_status not null default 'pending',
    attempts integer not null default 0 check (attempts >= 0),
    max_attempts integer not null default 8 check (max_attempts > 0),
    next_attempt_at timestamptz not null default now(),
    locked_until timestamptz,
    locked_by text,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    completed_at timestamptz,
    constraint outbox_processing_has_lease check (status <> 'processing' or locked_until is not null)
);

alter table private.outbox enable row level security;

create index outbox_claimable_idx on private.outbox (topic, next_attempt_at) where status in ('pending', 'processing');
create index outbox_unfinished_per_aggregate_idx on private.outbox (topic, aggregate_id, id) where status in ('pending', 'processing');
create unique index outbox_one_in_flight_per_aggregate on private.outbox (topic, aggregate_id) where status = 'processing';

create trigger outbox_set_updated_at
    before update on private.outbox
    for each row execute function private.set_updated_at();

grant select, insert, update on private.outbox to service_role;

-- ----------------------------------------------------------------------------
-- ERP links: which ERP document an order became, and the order version it shows.
-- ----------------------------------------------------------------------------

create table private.erp_links (
    order_id uuid primary key references public.orders (id) on delete cascade,
    erp_document_id text not null unique,
    synced_version integer not null check (synced_version > 0),
    synced_at timestamptz not null default now()
);

alter table private.erp_links enable row level security;

grant select, insert, update on private.erp_links to service_role;
