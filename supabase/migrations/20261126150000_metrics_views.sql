-- Business metrics for Prometheus: every view of the `metrics` schema is exported by the
-- local stack's metrics endpoint (/customer/v1/privileged/metrics) as gauges
-- `db_<view>_<column>`: numeric columns are values, text columns are labels, one sample
-- per row. See docs/operations.md.
--
-- The schema is not exposed through the API ([api] schemas) and grants nothing to the
-- API roles: the stack reads it as `postgres`. The views are security invoker, so a
-- role that was ever granted them would still see only what its own privileges allow.

-- ============================================================================
-- The schema
-- ============================================================================

create schema if not exists metrics;

comment on schema metrics is 'Views exported as Prometheus gauges (numeric columns = values, text columns = labels); not exposed through the API.';

revoke all on schema metrics from public, anon, authenticated, service_role;

-- ============================================================================
-- Outbox: unfinished messages per topic
-- ============================================================================

-- Only topics with unfinished (pending, in flight or dead) messages have a row: a topic
-- whose messages are all done has no series (graph with `or vector(0)`).
create view metrics.outbox
with (security_invoker = true)
as
select
    o.topic,
    count(*) filter (where o.status = 'pending') as pending,
    count(*) filter (where o.status = 'processing') as in_flight,
    count(*) filter (where o.status = 'dead') as dead,
    coalesce(extract(epoch from now() - min(o.created_at) filter (where o.status = 'pending')), 0) as oldest_pending_age_seconds
from private.outbox as o
where o.status in ('pending', 'processing', 'dead')
group by o.topic;

comment on view metrics.outbox is 'Outbox messages per topic: pending, in flight (claimed), dead-lettered, age of the oldest pending one.';

-- ============================================================================
-- Stripe events received but not processed
-- ============================================================================

create view metrics.stripe_events
with (security_invoker = true)
as
select
    count(*) as unprocessed,
    coalesce(extract(epoch from now() - min(e.received_at)), 0) as oldest_unprocessed_age_seconds
from private.stripe_events as e
where e.status = 'received';

comment on view metrics.stripe_events is 'Stripe events stored but not yet applied, staled, ignored or rejected, and the age of the oldest.';

-- ============================================================================
-- Orders awaiting payment
-- ============================================================================

create view metrics.orders_awaiting_payment
with (security_invoker = true)
as
select
    o.currency::text as currency,
    count(*) as orders,
    sum(o.total_amount) as amount_minor,
    extract(epoch from now() - min(o.created_at)) as oldest_age_seconds
from public.orders as o
where o.status = 'pending_payment'
group by o.currency;

comment on view metrics.orders_awaiting_payment is 'Orders placed and not yet paid (stock held), per currency: count, total in minor units, age of the oldest.';

revoke all on all tables in schema metrics from public, anon, authenticated, service_role;
