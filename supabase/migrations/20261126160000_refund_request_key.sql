-- ============================================================================
-- request_refund takes the caller's idempotency key. A refund request that is
-- retried (a timeout, a double click, a client that resends) must not refund
-- twice: with the same key for the same order the first refund is returned
-- and nothing new is written; the same key with another amount or reason is a
-- conflicting request (TB005). Without a key every call is a new refund, as
-- before.
-- ============================================================================

drop function public.request_refund(uuid, bigint, text);

create function public.request_refund(
    p_order_id uuid,
    p_amount bigint,
    p_reason text default null,
    p_idempotency_key text default null
)
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
    -- Also the Stripe idempotency key of the refund (at most 255 characters there).
    v_key text := case when p_idempotency_key is null then 'refund:' || v_id
                       else 'refund-request:' || p_order_id || ':' || p_idempotency_key end;
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
    if p_idempotency_key is not null and length(p_idempotency_key) not between 1 and 200 then
        raise exception using errcode = '22023', message = 'request_refund: the idempotency key must have 1 to 200 characters';
    end if;
    -- The payment's row lock serialises every refund of the order, so a retry waits
    -- for the first request and then sees its row.
    select * into v_payment from public.payments p where p.order_id = p_order_id for update;
    if not found then
        raise exception using errcode = 'TB003', message = 'request_refund: the order has no payment';
    end if;

    select * into v_refund from public.refunds r where r.idempotency_key = v_key;
    if found then
        if v_refund.amount <> p_amount or v_refund.reason is distinct from p_reason then
            raise exception using errcode = 'TB005', message = 'request_refund: this idempotency key was already used for a different refund';
        end if;
        return v_refund; -- the same request again
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
    values (v_id, v_payment.id, p_order_id, p_amount, v_payment.currency, p_reason, auth.uid(), v_key)
    returning * into v_refund;
    perform private.enqueue_outbox('stripe.refund.create', 'order', p_order_id,
        jsonb_build_object('refund_id', v_id, 'payment_intent', v_payment.stripe_payment_intent_id,
                           'amount', p_amount, 'currency', v_payment.currency),
        'stripe.refund.create:' || v_id);
    perform private.audit('refund.request', 'refund', v_id::text, null, to_jsonb(v_refund));
    return v_refund;
end;
$$;

revoke execute on function public.request_refund(uuid, bigint, text, text) from public, anon;
grant execute on function public.request_refund(uuid, bigint, text, text) to authenticated;
