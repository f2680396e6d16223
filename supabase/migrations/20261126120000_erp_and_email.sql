-- ============================================================================
-- ERP sync and order emails: what the outbox workers (erp-sync, notifications),
-- the inbound ERP webhook and the scheduled stock pull need from the database.
--   * stock conflicts: an ERP count below what is reserved is applied without
--     breaking reserved ≤ on_hand, and recorded for staff;
--   * ERP prices update the catalogue (order lines keep their snapshot);
--   * inbound ERP messages apply once, by message id, in one transaction;
--   * permanent failures dead-letter at once; staff list dead letters and replay
--     them (admin, and aal2 where the ERP or money is touched);
--   * email deliveries: what was sent, once per outbox message;
--   * the schedule of the workers.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Stock conflicts: the ERP counted fewer units than active reservations hold.
-- The count is applied as far as the invariant allows (on_hand = reserved, so
-- nothing more can be sold) and the shortfall stays open here until a later count
-- covers the reservations again. Staff read it; only the SQL API writes it.
-- ----------------------------------------------------------------------------

create table public.inventory_conflicts (
    id bigint generated always as identity primary key,
    variant_id uuid not null references public.product_variants (id) on delete cascade,
    sku text not null,
    erp_on_hand integer not null check (erp_on_hand >= 0),
    reserved integer not null check (reserved >= 0),
    applied_on_hand integer not null check (applied_on_hand >= 0),
    external_ref text not null,
    observed_at timestamptz not null,
    status text not null default 'open' check (status in ('open', 'resolved')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    resolved_at timestamptz,
    constraint inventory_conflicts_shortfall check (erp_on_hand < reserved),
    constraint inventory_conflicts_resolved_has_time check ((status = 'resolved') = (resolved_at is not null))
);

alter table public.inventory_conflicts enable row level security;

-- One open conflict per variant: a newer short count updates it.
create unique index inventory_conflicts_one_open_per_variant on public.inventory_conflicts (variant_id) where status = 'open';
create index inventory_conflicts_variant_id_idx on public.inventory_conflicts (variant_id);

create trigger inventory_conflicts_set_updated_at
    before update on public.inventory_conflicts
    for each row execute function private.set_updated_at();

revoke all on public.inventory_conflicts from anon, authenticated;
grant select on public.inventory_conflicts to authenticated;
grant select, insert, update on public.inventory_conflicts to service_role;

create policy "Warehouse, support and admin staff can read stock conflicts"
    on public.inventory_conflicts for select to authenticated
    using (((select auth.jwt()) ->> 'user_role') in ('warehouse', 'support', 'admin'));

-- The ERP's count of a sku, observed at a time: applied once per message, never over a
-- newer observation, and never past the reservations (reserved ≤ on_hand holds): a short
-- count sets on_hand to what is reserved and opens (or updates) a visible conflict; a
-- count that covers the reservations again resolves it.
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
    v_applied integer;
    v_delta integer;
    v_status text := 'applied';
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

    v_applied := greatest(p_on_hand, v_level.reserved);
    if v_applied > p_on_hand then
        v_status := 'conflict';
        update public.inventory_conflicts
        set erp_on_hand = p_on_hand, reserved = v_level.reserved, applied_on_hand = v_applied,
            external_ref = p_external_ref, observed_at = p_observed_at
        where variant_id = v_variant_id and status = 'open';
        if not found then
            insert into public.inventory_conflicts (variant_id, sku, erp_on_hand, reserved, applied_on_hand, external_ref, observed_at)
            values (v_variant_id, p_sku, p_on_hand, v_level.reserved, v_applied, p_external_ref, p_observed_at);
        end if;
    else
        update public.inventory_conflicts set status = 'resolved', resolved_at = now()
        where variant_id = v_variant_id and status = 'open';
    end if;

    v_delta := v_applied - v_level.on_hand;
    update public.inventory_levels set on_hand = v_applied, erp_observed_at = p_observed_at
    where variant_id = v_variant_id;
    if v_delta <> 0 then
        insert into public.inventory_movements (variant_id, kind, quantity, on_hand_after, reason, external_ref)
        values (v_variant_id, 'erp_sync', v_delta, v_applied,
                case when v_status = 'conflict'
                     then format('ERP stock level %s is below the %s reserved: conflict recorded', p_on_hand, v_level.reserved)
                     else 'ERP stock level' end,
                p_external_ref);
    end if;
    return jsonb_build_object('status', v_status, 'sku', p_sku, 'on_hand', v_applied, 'erp_on_hand', p_on_hand,
                              'reserved', v_level.reserved, 'delta', v_delta);
end;
$$;

-- ----------------------------------------------------------------------------
-- ERP prices: the catalogue price of a sku. Order lines are snapshots taken when the
-- order was placed, so a price change never touches a placed order. Never over a
-- newer observation.
-- ----------------------------------------------------------------------------

create table private.erp_price_observations (
    variant_id uuid primary key references public.product_variants (id) on delete cascade,
    observed_at timestamptz not null,
    external_ref text not null
);

alter table private.erp_price_observations enable row level security;

grant select, insert, update on private.erp_price_observations to service_role;

create or replace function public.apply_erp_price(
    p_sku text,
    p_price_amount bigint,
    p_currency text,
    p_external_ref text,
    p_observed_at timestamptz
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_variant public.product_variants;
    v_seen timestamptz;
begin
    if p_price_amount is null or p_price_amount < 0 or coalesce(p_external_ref, '') = '' or p_observed_at is null
        or coalesce(p_currency, '') !~ '^[A-Za-z]{3}$' then
        raise exception using errcode = '22023', message = 'apply_erp_price: a price ≥ 0 in minor units, a currency, an external reference and an observation time';
    end if;
    select * into v_variant from public.product_variants v where v.sku = p_sku for update;
    if not found then
        raise exception using errcode = 'TB003', message = format('apply_erp_price: unknown sku %s', p_sku);
    end if;
    if v_variant.currency <> upper(p_currency) then
        raise exception using errcode = '22023',
            message = format('apply_erp_price: %s is priced in %s, not %s', p_sku, v_variant.currency, upper(p_currency));
    end if;
    select o.observed_at into v_seen from private.erp_price_observations o where o.variant_id = v_variant.id;
    if v_seen >= p_observed_at then
        return jsonb_build_object('status', 'stale', 'sku', p_sku, 'price_amount', v_variant.price_amount);
    end if;

    insert into private.erp_price_observations (variant_id, observed_at, external_ref)
    values (v_variant.id, p_observed_at, p_external_ref)
    on conflict (variant_id) do update set observed_at = excluded.observed_at, external_ref = excluded.external_ref;
    if v_variant.price_amount <> p_price_amount then
        update public.product_variants set price_amount = p_price_amount where id = v_variant.id;
        perform private.audit('variant.erp_price', 'variant', v_variant.id::text,
            jsonb_build_object('price_amount', v_variant.price_amount),
            jsonb_build_object('price_amount', p_price_amount, 'external_ref', p_external_ref));
    end if;
    return jsonb_build_object('status', 'applied', 'sku', p_sku, 'price_amount', p_price_amount,
                              'previous_amount', v_variant.price_amount);
end;
$$;

revoke execute on function public.apply_erp_price(text, bigint, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.apply_erp_price(text, bigint, text, text, timestamptz) to service_role;

-- ----------------------------------------------------------------------------
-- Inbound ERP messages (webhook pushes and scheduled pulls): recorded by message id
-- in the transaction of their effects, so a replayed message changes nothing.
-- ----------------------------------------------------------------------------

create table private.erp_inbound_messages (
    id text primary key check (length(id) between 1 and 200),
    source text not null check (source in ('webhook', 'pull')),
    outcome jsonb not null,
    received_at timestamptz not null default now()
);

alter table private.erp_inbound_messages enable row level security;

grant select, insert, update on private.erp_inbound_messages to service_role;

-- Applies one validated ERP message: `{stock: [{sku, on_hand}], prices: [{sku,
-- price_amount, currency}]}` observed at `p_observed_at`. A sku the shop does not sell is
-- reported, not fatal (the ERP knows more products than the shop). Returns the outcome
-- per line, or `{status: duplicate}` for a message id seen before.
create or replace function public.apply_erp_message(
    p_message_id text,
    p_source text,
    p_observed_at timestamptz,
    p_message jsonb
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_line jsonb;
    v_results jsonb := '[]'::jsonb;
    v_result jsonb;
    v_outcome jsonb;
begin
    if coalesce(p_message_id, '') = '' or p_observed_at is null or jsonb_typeof(p_message) is distinct from 'object' then
        raise exception using errcode = '22023', message = 'apply_erp_message: a message id, an observation time and a message object';
    end if;
    insert into private.erp_inbound_messages (id, source, outcome)
    values (p_message_id, p_source, '{}'::jsonb)
    on conflict (id) do nothing;
    if not found then
        return jsonb_build_object('status', 'duplicate', 'message_id', p_message_id);
    end if;

    for v_line in select * from jsonb_array_elements(coalesce(p_message -> 'stock', '[]'::jsonb)) loop
        begin
            v_result := public.apply_erp_stock_level(v_line ->> 'sku', (v_line ->> 'on_hand')::integer,
                                                     p_message_id || ':stock:' || (v_line ->> 'sku'), p_observed_at);
        exception when sqlstate 'TB003' then
            v_result := jsonb_build_object('status', 'unknown_sku', 'sku', v_line ->> 'sku');
        end;
        v_results := v_results || jsonb_build_array(v_result || jsonb_build_object('kind', 'stock'));
    end loop;
    for v_line in select * from jsonb_array_elements(coalesce(p_message -> 'prices', '[]'::jsonb)) loop
        begin
            v_result := public.apply_erp_price(v_line ->> 'sku', (v_line ->> 'price_amount')::bigint, v_line ->> 'currency',
                                               p_message_id || ':price:' || (v_line ->> 'sku'), p_observed_at);
        exception when sqlstate 'TB003' then
            v_result := jsonb_build_object('status', 'unknown_sku', 'sku', v_line ->> 'sku');
        end;
        v_results := v_results || jsonb_build_array(v_result || jsonb_build_object('kind', 'price'));
    end loop;

    v_outcome := jsonb_build_object('status', 'applied', 'message_id', p_message_id, 'lines', v_results);
    update private.erp_inbound_messages set outcome = v_outcome where id = p_message_id;
    return v_outcome;
end;
$$;

revoke execute on function public.apply_erp_message(text, text, timestamptz, jsonb) from public, anon, authenticated;
grant execute on function public.apply_erp_message(text, text, timestamptz, jsonb) to service_role;

-- ----------------------------------------------------------------------------
-- Permanent failures: a request the ERP or the mail provider will refuse however
-- often it is sent (validation error, unknown product) is dead-lettered at once.
-- ----------------------------------------------------------------------------

create or replace function public.dead_letter_outbox_message(p_id bigint, p_error text)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_msg private.outbox;
begin
    update private.outbox o
    set status = 'dead', locked_until = null, last_error = p_error
    where o.id = p_id and o.status = 'processing'
    returning * into v_msg;
    if not found then
        raise exception using errcode = 'TB001', message = format('dead_letter_outbox_message: message %s is not in flight', p_id);
    end if;
    if v_msg.topic = 'erp.order.upsert' then
        update public.orders set erp_status = 'dead' where id = v_msg.aggregate_id and erp_status in ('queued', 'failed');
    end if;
    return jsonb_build_object('id', v_msg.id, 'status', v_msg.status, 'attempts', v_msg.attempts);
end;
$$;

revoke execute on function public.dead_letter_outbox_message(bigint, text) from public, anon, authenticated;
grant execute on function public.dead_letter_outbox_message(bigint, text) to service_role;

-- ----------------------------------------------------------------------------
-- Staff: dead letters. Listing is for admin and support (read only); replay is for
-- admins, and replaying what touches the ERP or money (erp.*, stripe.*) needs aal2.
-- ----------------------------------------------------------------------------

-- Whether the caller may replay a message of this topic.
create or replace function private.may_replay_outbox_topic(p_topic text)
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
    select coalesce(auth.role(), '') = 'service_role'
        or (coalesce(auth.jwt() ->> 'user_role', '') = 'admin'
            and (p_topic !~ '^(erp|stripe)\.' or coalesce(auth.jwt() ->> 'aal', '') = 'aal2'));
$$;

create or replace function public.list_dead_letters(
    p_topic text default null,
    p_limit integer default 50,
    p_before_id bigint default null
)
returns table (
    id bigint,
    topic text,
    aggregate_type text,
    aggregate_id uuid,
    order_number text,
    attempts integer,
    last_error text,
    created_at timestamptz,
    dead_since timestamptz
)
language plpgsql
stable
-- Definer: the outbox is private; the caller's staff role is checked below.
security definer
set search_path = ''
as $$
begin
    if coalesce(auth.jwt() ->> 'user_role', '') not in ('admin', 'support') and coalesce(auth.role(), '') <> 'service_role' then
        raise exception using errcode = '42501', message = 'list_dead_letters: admin or support staff only';
    end if;
    if p_limit is null or p_limit not between 1 and 500 then
        raise exception using errcode = '22023', message = 'list_dead_letters: limit 1..500';
    end if;
    return query
    select o.id, o.topic, o.aggregate_type, o.aggregate_id, ord.number, o.attempts, o.last_error, o.created_at, o.updated_at
    from private.outbox o
    left join public.orders ord on o.aggregate_type = 'order' and ord.id = o.aggregate_id
    where o.status = 'dead'
      and (p_topic is null or o.topic = p_topic)
      and (p_before_id is null or o.id < p_before_id)
    order by o.id desc
    limit p_limit;
end;
$$;

revoke execute on function public.list_dead_letters(text, integer, bigint) from public, anon;
grant execute on function public.list_dead_letters(text, integer, bigint) to authenticated, service_role;

create index outbox_dead_idx on private.outbox (id) where status = 'dead';

create or replace function public.replay_outbox_message(p_id bigint, p_now timestamptz default now())
returns jsonb
language plpgsql
-- Definer: the outbox is private; the caller must be an admin (with aal2 for ERP and
-- Stripe messages) or the service role, checked below.
security definer
set search_path = ''
as $$
declare
    v_msg private.outbox;
begin
    if coalesce(auth.jwt() ->> 'user_role', '') <> 'admin' and coalesce(auth.role(), '') <> 'service_role' then
        raise exception using errcode = '42501', message = 'replay_outbox_message: admins only';
    end if;
    select * into v_msg from private.outbox o where o.id = p_id for update;
    if found and not private.may_replay_outbox_topic(v_msg.topic) then
        raise exception using errcode = '42501',
            message = format('replay_outbox_message: replaying %s messages needs a session raised with MFA (aal2)', v_msg.topic);
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
-- Email deliveries: one row per outbox message sent, written with its completion.
-- The worker looks here before sending, so a message whose completion was lost is
-- not sent again; the provider's idempotency key covers the send itself.
-- ----------------------------------------------------------------------------

create table private.email_deliveries (
    outbox_id bigint primary key references private.outbox (id) on delete cascade,
    idempotency_key text not null unique,
    order_id uuid references public.orders (id) on delete set null,
    template text not null,
    recipient text not null,
    provider text not null,
    provider_message_id text,
    sent_at timestamptz not null default now()
);

alter table private.email_deliveries enable row level security;

create index email_deliveries_order_id_idx on private.email_deliveries (order_id);

grant select, insert on private.email_deliveries to service_role;

-- Records a sent email. The worker completes the message afterwards (in a batch with the
-- others of its round); if that completion is lost, the next claim finds the delivery
-- here and completes the message without sending again.
create or replace function public.record_email_delivery(
    p_outbox_id bigint,
    p_template text,
    p_recipient text,
    p_provider text,
    p_provider_message_id text,
    p_now timestamptz default now()
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_msg private.outbox;
begin
    select * into v_msg from private.outbox o where o.id = p_outbox_id;
    if not found or v_msg.topic !~ '^email\.' then
        raise exception using errcode = 'TB003', message = format('record_email_delivery: no email message %s', p_outbox_id);
    end if;
    insert into private.email_deliveries (outbox_id, idempotency_key, order_id, template, recipient, provider, provider_message_id, sent_at)
    values (p_outbox_id, v_msg.idempotency_key, case when v_msg.aggregate_type = 'order' then v_msg.aggregate_id end,
            p_template, p_recipient, p_provider, p_provider_message_id, p_now)
    on conflict (outbox_id) do nothing;
    return found;
end;
$$;

revoke execute on function public.record_email_delivery(bigint, text, text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.record_email_delivery(bigint, text, text, text, text, timestamptz) to service_role;

revoke execute on function private.may_replay_outbox_topic(text) from public, anon, authenticated;
grant execute on function private.may_replay_outbox_topic(text) to service_role;

-- ----------------------------------------------------------------------------
-- The schedule: the outbox workers every few seconds, the stock pull every five
-- minutes (for ERPs that cannot push). Bodies are the workers' batch settings.
-- ----------------------------------------------------------------------------

insert into scheduler.jobs (name, schedule, function_name, body, timeout_ms)
values
    ('erp-sync', '5 seconds', 'erp-sync', '{}'::jsonb, 60000),
    ('notifications', '5 seconds', 'notifications', '{}'::jsonb, 60000),
    ('erp-stock-pull', '*/5 * * * *', 'erp-stock-pull', '{}'::jsonb, 60000)
on conflict (name) do nothing;

-- ----------------------------------------------------------------------------
-- Claiming at volume. The outbox keeps its done rows, oldest first, so a claim that walks
-- the table in id order steps over every finished message before it finds the due ones,
-- and the planner (believing due rows spread evenly) prefers exactly that walk. The claim
-- below takes due messages in the order they became due (next_attempt_at, then id) from
-- the partial index of unfinished messages, so it reads only the rows it returns; a lease
-- that ran out keeps its (past) next_attempt_at and comes first. Same contract as before:
-- SKIP LOCKED, visibility timeout, one in-flight message per (topic, aggregate), the
-- oldest unfinished message of an aggregate first, dead letter on a lease lost on the last
-- attempt. Measured by `npm run bench:outbox`.
-- ----------------------------------------------------------------------------

create index outbox_due_idx on private.outbox (topic, next_attempt_at, id) where status in ('pending', 'processing');
-- outbox_due_idx serves every query the older (topic, next_attempt_at) index served.
drop index private.outbox_claimable_idx;
create index outbox_leases_idx on private.outbox (topic, locked_until) where status = 'processing';

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
          and o.status in ('pending', 'processing')
          -- true for both: a pending message is due, a claimed one was due when claimed
          and o.next_attempt_at <= p_now
          and (o.status = 'pending' or o.locked_until <= p_now)
          and o.attempts < o.max_attempts
          -- per-aggregate order: only the oldest unfinished message of an aggregate
          and not exists (
              select 1 from private.outbox e
              where e.topic = o.topic and e.aggregate_id = o.aggregate_id and e.id < o.id
                and e.status in ('pending', 'processing')
          )
        order by o.next_attempt_at, o.id
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
    from claimed
    order by claimed.id;
end;
$$;

revoke execute on function public.claim_outbox_batch(text, integer, interval, text, timestamptz) from public, anon, authenticated;
grant execute on function public.claim_outbox_batch(text, integer, interval, text, timestamptz) to service_role;

-- Completes many messages in one statement: what workers do with the messages of a round
-- that carry no result (emails). ERP upserts carry their ERP document and complete one by
-- one (complete_outbox_message). A message no longer in flight (its lease ran out and it was
-- claimed again) is skipped; the count of completed messages is returned.
create or replace function public.complete_outbox_messages(p_ids bigint[], p_now timestamptz default now())
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_count integer;
begin
    if exists (select 1 from private.outbox o where o.id = any(p_ids) and o.topic = 'erp.order.upsert') then
        raise exception using errcode = '22023',
            message = 'complete_outbox_messages: ERP upserts complete one by one with their ERP document (complete_outbox_message)';
    end if;
    update private.outbox o
    set status = 'done', completed_at = p_now, locked_until = null, last_error = null
    where o.id = any(p_ids) and o.status = 'processing';
    get diagnostics v_count = row_count;
    return v_count;
end;
$$;

revoke execute on function public.complete_outbox_messages(bigint[], timestamptz) from public, anon, authenticated;
grant execute on function public.complete_outbox_messages(bigint[], timestamptz) to service_role;
