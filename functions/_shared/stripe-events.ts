// Applying a verified Stripe event to the database, shared by the webhook and by
// reconcile: public.receive_stripe_event records the event by id and applies it in one
// transaction (a duplicate changes nothing). When applying fails for a reason that is
// not the database being unavailable (a bug, a constraint), the event is recorded with
// its error instead (record_stripe_event_failure) and reported as `failed`: Stripe must
// not retry it for days; reconcile or Stripe's next delivery applies it later. Only when
// even that cannot be written does the caller get an `unavailable` error (→ 5xx, retry).
import type { Db } from './db.ts';
import { apiError, isDatabaseUnavailable } from './errors.ts';
import type { Logger } from './log.ts';

export interface ApplyOutcome {
    event_id: string;
    type: string;
    /** applied | duplicate | stale | ignored | rejected | failed */
    status: string;
    reason?: string;
    order_id?: string;
    order_status?: string;
    payment_status?: string;
}

/** Stripe's event types the SQL API acts on (the rest are recorded and ignored). */
export const HANDLED_EVENT_TYPES = [
    'payment_intent.succeeded',
    'payment_intent.payment_failed',
    'payment_intent.canceled',
    'payment_intent.amount_capturable_updated',
    'checkout.session.completed',
    'checkout.session.expired',
    'checkout.session.async_payment_succeeded',
    'checkout.session.async_payment_failed',
    'charge.refunded',
    'refund.created',
    'refund.updated',
    'charge.dispute.created',
] as const;

const RETRYABLE = new Set(['40001', '40P01']);

/** `eventJson` is the event as text (the webhook passes the raw body it verified). */
export async function applyStripeEvent(db: Db, eventJson: string, meta: { id: string; type: string }, log: Logger): Promise<ApplyOutcome> {
    for (let attempt = 1; ; attempt++) {
        try {
            const { rows } = await db.query<{ result: ApplyOutcome }>('select public.receive_stripe_event($1::jsonb) as result', [eventJson]);
            return rows[0]!.result;
        } catch (error) {
            const code = (error as { code?: string }).code;
            if (code && RETRYABLE.has(code) && attempt < 3) continue; // a deadlock or serialization failure: try again now
            if (isDatabaseUnavailable(error)) {
                log.error('stripe event not recorded: database unavailable', { event_id: meta.id, type: meta.type, error });
                throw apiError('unavailable', 'The event could not be recorded; retry later');
            }
            return recordFailure(db, eventJson, meta, error as Error, log);
        }
    }
}

async function recordFailure(db: Db, eventJson: string, meta: { id: string; type: string }, failure: Error, log: Logger): Promise<ApplyOutcome> {
    try {
        await db.query('select public.record_stripe_event_failure($1::jsonb, $2)', [eventJson, failure.message]);
    } catch (error) {
        log.error('stripe event not recorded', { event_id: meta.id, type: meta.type, error, cause: failure });
        throw apiError('unavailable', 'The event could not be recorded; retry later');
    }
    log.error('stripe event recorded but not applied', { event_id: meta.id, type: meta.type, error: failure });
    return { event_id: meta.id, type: meta.type, status: 'failed', reason: failure.message };
}
