-- ============================================================================
-- Payments on Stripe: what the checkout, stripe-webhook, refund, reconcile and
-- stripe-outbox functions need from the database beyond the SQL API.
--   * events are matched to orders by the Stripe ids recorded at checkout first;
--   * a Checkout Session's reservation covers Stripe's 30-minute minimum;
--   * an event whose apply failed is recorded, answered 2xx, and applied again later;
--   * a rejected event (amount or currency mismatch) leaves a message for staff;
--   * refunds are linked to the Stripe refund that carries them, or marked failed;
--   * the schedule of reconcile and of the Stripe outbox worker.
-- Every function here is for the backend: security invoker, service_role only.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- The order an event is about: the payment holding its PaymentIntent / Checkout
-- Session id (recorded by attach_payment at checkout), else metadata.order_id or
-- client_reference_id (an event that beat attach_payment, or a payment started
-- outside the checkout function).
-- ----------------------------------------------------------------------------

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
    select p.order_id into v_order_id
    from public.payments p
    where p.stripe_payment_intent_id = p_payment_intent or p.stripe_checkout_session_id = p_checkout_session
    order by (p.stripe_payment_intent_id = p_payment_intent) desc nulls last
    limit 1;
    if v_order_id is not null then
        return v_order_id;
    end if;
    if v_meta ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return v_meta::uuid;
    end if;
    return null;
end;
$$;

-- ----------------------------------------------------------------------------
-- extend_payment_deadline: Stripe keeps a Checkout Session open at least 30 minutes
-- (at most 24 hours), and the session must expire exactly when the order's
-- reservation does. Before creating a session, the checkout function asks for a
-- deadline no sooner than `p_not_before` (now + 30 minutes + a margin): a reservation
-- ending sooner is extended to `p_extend_to` (never past 24 hours after the order),
-- one that ends later is kept. Either way the deadline becomes a whole second, as
-- Stripe's expires_at is a unix time in seconds. Concurrent and repeated calls within
-- the margin see the extended deadline and keep it, so they derive the same session.
-- Once a payment is attached its deadline is fixed and returned unchanged.
-- ----------------------------------------------------------------------------

create or replace function public.extend_payment_deadline(
    p_order_id uuid,
    p_not_before timestamptz,
    p_extend_to timestamptz,
    p_now timestamptz default now()
)
returns timestamptz
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_order public.orders;
    v_deadline timestamptz;
begin
    if p_not_before is null or p_extend_to is null or p_now is null or p_extend_to < p_not_before then
        raise exception using errcode = '22023',
            message = 'extend_payment_deadline: a clock, a minimum deadline and an extension no earlier than it are required';
    end if;
    select * into v_order from public.orders o where o.id = p_order_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'extend_payment_deadline: no such order';
    end if;
    if exists (select 1 from public.payments p where p.order_id = p_order_id) then
        return v_order.expires_at;
    end if;
    if v_order.status <> 'pending_payment' or v_order.expires_at <= p_now then
        raise exception using errcode = 'TB001',
            message = format('extend_payment_deadline: order %s no longer awaits payment (%s, reserved until %s)',
                             v_order.number, v_order.status, v_order.expires_at);
    end if;

    v_deadline := case when v_order.expires_at < p_not_before then p_extend_to else v_order.expires_at end;
    v_deadline := date_trunc('second', v_deadline)
        + case when v_deadline > date_trunc('second', v_deadline) then interval '1 second' else interval '0' end;
    if v_deadline > v_order.created_at + interval '24 hours' then
        raise exception using errcode = '22023',
            message = format('extend_payment_deadline: order %s cannot be reserved beyond 24 hours after it was placed', v_order.number);
    end if;

    if v_deadline <> v_order.expires_at then
        update public.orders set expires_at = v_deadline where id = p_order_id;
        update public.inventory_reservations set expires_at = v_deadline
        where order_id = p_order_id and status = 'active';
    end if;
    return v_deadline;
end;
$$;

revoke execute on function public.extend_payment_deadline(uuid, timestamptz, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.extend_payment_deadline(uuid, timestamptz, timestamptz, timestamptz) to service_role;

-- ----------------------------------------------------------------------------
-- receive_stripe_event: the webhook's entry point. apply_stripe_event, plus:
--   * an event recorded earlier whose apply failed (status `received`) is applied
--     now, in this transaction (its attempts counted);
--   * an event rejected for its amount, currency or payment leaves an
--     `ops.stripe_event_rejected` message, so the mismatch reaches staff.
-- ----------------------------------------------------------------------------

-- Forgets an event that was recorded without being applied, so that it can be applied
-- now. Definer: the service role may not delete from the event log; this deletes only
-- a row whose status is still `received`, and returns its attempts so far.
create or replace function private.forget_unapplied_stripe_event(p_id text)
returns integer
language sql
security definer
set search_path = ''
as $$
    delete from private.stripe_events e where e.id = p_id and e.status = 'received' returning e.attempts;
$$;

revoke execute on function private.forget_unapplied_stripe_event(text) from public, anon, authenticated;
grant execute on function private.forget_unapplied_stripe_event(text) to service_role;

create or replace function public.receive_stripe_event(p_event jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_id text := p_event ->> 'id';
    v_attempts integer;
    v_result jsonb;
begin
    v_attempts := private.forget_unapplied_stripe_event(v_id);

    v_result := public.apply_stripe_event(p_event);

    if v_attempts is not null then
        update private.stripe_events e set attempts = v_attempts + 1 where e.id = v_id;
    end if;
    if v_result ->> 'status' = 'rejected' and v_result ->> 'order_id' is not null then
        perform private.enqueue_outbox('ops.stripe_event_rejected', 'order', (v_result ->> 'order_id')::uuid,
            jsonb_build_object('event_id', v_id, 'type', p_event ->> 'type', 'reason', v_result ->> 'reason'),
            'ops.stripe_event_rejected:' || v_id);
    end if;
    return v_result;
end;
$$;

revoke execute on function public.receive_stripe_event(jsonb) from public, anon, authenticated;
grant execute on function public.receive_stripe_event(jsonb) to service_role;

-- ----------------------------------------------------------------------------
-- record_stripe_event_failure: a verified event that could not be applied (a bug, a
-- constraint) is kept with its error, status `received`, so that the webhook can
-- answer 2xx (Stripe would otherwise retry for days) and reconcile or Stripe's next
-- delivery applies it once the cause is fixed. An applied event is never touched.
-- ----------------------------------------------------------------------------

create or replace function public.record_stripe_event_failure(p_event jsonb, p_error text)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_row private.stripe_events;
begin
    if p_event ->> 'id' is null or p_event ->> 'id' !~ '^evt_' or p_event ->> 'type' is null
        or jsonb_typeof(p_event -> 'created') is distinct from 'number' then
        raise exception using errcode = '22023', message = 'record_stripe_event_failure: not a Stripe event';
    end if;
    insert into private.stripe_events (id, type, created, livemode, payload, status, error)
    values (p_event ->> 'id', p_event ->> 'type', to_timestamp((p_event ->> 'created')::double precision),
            coalesce((p_event ->> 'livemode')::boolean, false), p_event, 'received', left(coalesce(p_error, 'unknown error'), 2000))
    on conflict (id) do update
    set attempts = private.stripe_events.attempts + 1, error = excluded.error
    where private.stripe_events.status = 'received'
    returning * into v_row;
    if v_row.id is null then
        select * into v_row from private.stripe_events e where e.id = p_event ->> 'id';
    end if;
    return jsonb_build_object('event_id', v_row.id, 'status', v_row.status, 'attempts', v_row.attempts);
end;
$$;

revoke execute on function public.record_stripe_event_failure(jsonb, text) from public, anon, authenticated;
grant execute on function public.record_stripe_event_failure(jsonb, text) to service_role;

-- ----------------------------------------------------------------------------
-- Refunds sent to Stripe by the outbox worker: linked to the Stripe refund (its
-- status still comes from Stripe's events), or marked failed when Stripe refused
-- it for good, so that the amount is refundable again.
-- ----------------------------------------------------------------------------

create or replace function public.link_stripe_refund(p_refund_id uuid, p_stripe_refund_id text)
returns public.refunds
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_refund public.refunds;
begin
    update public.refunds r set stripe_refund_id = p_stripe_refund_id
    where r.id = p_refund_id and r.stripe_refund_id is null
    returning * into v_refund;
    if found then
        return v_refund;
    end if;
    select * into v_refund from public.refunds r where r.id = p_refund_id;
    if not found then
        raise exception using errcode = 'TB003', message = 'link_stripe_refund: no such refund';
    end if;
    if v_refund.stripe_refund_id <> p_stripe_refund_id then
        raise exception using errcode = 'TB005',
            message = format('link_stripe_refund: refund %s is already carried by %s', p_refund_id, v_refund.stripe_refund_id);
    end if;
    return v_refund;
end;
$$;

revoke execute on function public.link_stripe_refund(uuid, text) from public, anon, authenticated;
grant execute on function public.link_stripe_refund(uuid, text) to service_role;

create or replace function public.fail_refund(p_refund_id uuid, p_error text)
returns public.refunds
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_refund public.refunds;
begin
    update public.refunds r set status = 'failed'
    where r.id = p_refund_id and r.status = 'pending' and r.stripe_refund_id is null
    returning * into v_refund;
    if not found then
        raise exception using errcode = 'TB001', message = 'fail_refund: only a pending refund that never reached Stripe can fail here';
    end if;
    perform private.audit('refund.failed', 'refund', p_refund_id::text, null, jsonb_build_object('error', p_error));
    return v_refund;
end;
$$;

revoke execute on function public.fail_refund(uuid, text) from public, anon, authenticated;
grant execute on function public.fail_refund(uuid, text) to service_role;

-- ----------------------------------------------------------------------------
-- The schedule (see …_scheduled_jobs.sql): the Stripe outbox worker sends refunds
-- and cancellations every 10 seconds; reconcile replays missed events nightly.
-- ----------------------------------------------------------------------------

insert into scheduler.jobs (name, schedule, function_name, body, timeout_ms) values
    ('stripe-outbox', '10 seconds', 'stripe-outbox', '{"batch": 20}', 10000),
    ('reconcile', '17 3 * * *', 'reconcile', '{"days": 30}', 120000);
