// The Stripe side of the outbox: messages the SQL API writes in the transaction of a
// state change, sent to Stripe here with the message's own idempotency key.
//   stripe.refund.create   (request_refund)    → a Stripe refund for the refund row,
//                                                keyed by the row's idempotency key and
//                                                linked to it; Stripe's events confirm it
//   stripe.payment.cancel  (cancel_order, expire_reservations)
//                                              → the open Checkout Session expired, or
//                                                the PaymentIntent canceled
// Batches are claimed with claim_outbox_batch (SKIP LOCKED, a visibility timeout, one
// message per order in flight). Stripe unreachable → fail_outbox_message (backoff with
// jitter, dead letter after the last attempt); Stripe refusing a refund for good (e.g.
// already refunded in the dashboard) → the refund row is marked failed and the
// message completed with the reason.
import Stripe from 'stripe';
import type { Db } from '../_shared/db.ts';
import type { Logger } from '../_shared/log.ts';
import { isStripeUnavailable } from '../_shared/stripe.ts';

export const STRIPE_TOPICS = ['stripe.refund.create', 'stripe.payment.cancel'] as const;
export type StripeTopic = (typeof STRIPE_TOPICS)[number];

export interface StripeOutboxDeps {
    db: Db;
    stripe: Stripe;
    now: () => Date;
    log: Logger;
}

export interface OutboxMessage {
    id: string;
    topic: string;
    aggregate_id: string | null;
    payload: Record<string, unknown>;
    idempotency_key: string;
    attempts: number;
}

export interface ProcessedMessage {
    id: string;
    topic: string;
    outcome: 'done' | 'retry' | 'refused';
    result: Record<string, unknown>;
}

const REFUND_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);

/** Claims and sends one batch per topic; returns what happened to each message. */
export async function runStripeOutbox(
    deps: StripeOutboxDeps,
    options: { topics?: readonly StripeTopic[]; limit?: number; worker?: string } = {},
): Promise<ProcessedMessage[]> {
    const processed: ProcessedMessage[] = [];
    for (const topic of options.topics ?? STRIPE_TOPICS) {
        const { rows } = await deps.db.query<OutboxMessage>(
            `select id::text, topic, aggregate_id, payload, idempotency_key, attempts
             from public.claim_outbox_batch($1, $2, interval '60 seconds', $3, $4)`,
            [topic, options.limit ?? 20, options.worker ?? 'stripe-outbox', deps.now()],
        );
        for (const message of rows) processed.push(await processMessage(deps, message));
    }
    return processed;
}

async function processMessage(deps: StripeOutboxDeps, message: OutboxMessage): Promise<ProcessedMessage> {
    const log = deps.log.with({ outbox_id: message.id, topic: message.topic, order_id: message.aggregate_id });
    try {
        const result = message.topic === 'stripe.refund.create' ? await createRefund(deps, message) : await cancelPayment(deps, message);
        await deps.db.query('select public.complete_outbox_message($1, $2::jsonb, $3)', [message.id, JSON.stringify(result), deps.now()]);
        const refused = 'refused' in result;
        log[refused ? 'warn' : 'info'](refused ? 'stripe refused the message' : 'outbox message sent to stripe', result);
        return { id: message.id, topic: message.topic, outcome: refused ? 'refused' : 'done', result };
    } catch (error) {
        const reason = (error as Error).message;
        log.warn('outbox message will be retried', { error, attempts: message.attempts, unavailable: isStripeUnavailable(error) });
        await deps.db.query('select public.fail_outbox_message($1, $2, $3)', [message.id, reason.slice(0, 1000), deps.now()]);
        return { id: message.id, topic: message.topic, outcome: 'retry', result: { error: reason } };
    }
}

interface RefundToSend {
    id: string;
    order_id: string;
    amount: string;
    status: string;
    reason: string | null;
    idempotency_key: string;
    stripe_refund_id: string | null;
    payment_intent: string | null;
}

async function createRefund(deps: StripeOutboxDeps, message: OutboxMessage): Promise<Record<string, unknown>> {
    const refundId = String(message.payload.refund_id ?? '');
    const { rows } = await deps.db.query<RefundToSend>(
        `select r.id, r.order_id, r.amount::text, r.status, r.reason, r.idempotency_key, r.stripe_refund_id,
                p.stripe_payment_intent_id as payment_intent
         from public.refunds r join public.payments p on p.id = r.payment_id
         where r.id = $1`,
        [refundId],
    );
    const refund = rows[0];
    if (!refund) return { refused: 'no such refund', refund_id: refundId };
    if (refund.stripe_refund_id || refund.status !== 'pending') {
        return { refund_id: refund.id, stripe_refund_id: refund.stripe_refund_id, skipped: `already ${refund.status}` };
    }
    // A Checkout payment's PaymentIntent is recorded by its events; until then, retry.
    if (!refund.payment_intent) throw new Error('the payment has no PaymentIntent recorded yet');
    try {
        const created = await deps.stripe.refunds.create(
            {
                payment_intent: refund.payment_intent,
                amount: Number(refund.amount),
                ...(refund.reason && REFUND_REASONS.has(refund.reason) ? { reason: refund.reason as Stripe.RefundCreateParams.Reason } : {}),
                metadata: { refund_id: refund.id, order_id: refund.order_id, ...(refund.reason && !REFUND_REASONS.has(refund.reason) ? { note: refund.reason.slice(0, 500) } : {}) },
            },
            { idempotencyKey: refund.idempotency_key },
        );
        await deps.db.query('select public.link_stripe_refund($1, $2)', [refund.id, created.id]);
        return { refund_id: refund.id, stripe_refund_id: created.id, status: created.status };
    } catch (error) {
        if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
        // Stripe will never accept this refund (already refunded, more than is left, …).
        await deps.db.query('select public.fail_refund($1, $2)', [refund.id, error.message]);
        return { refund_id: refund.id, refused: error.message, code: error.code };
    }
}

async function cancelPayment(deps: StripeOutboxDeps, message: OutboxMessage): Promise<Record<string, unknown>> {
    const { rows } = await deps.db.query<{ stripe_payment_intent_id: string | null; stripe_checkout_session_id: string | null }>(
        'select stripe_payment_intent_id, stripe_checkout_session_id from public.payments where order_id = $1',
        [message.aggregate_id],
    );
    const payment = rows[0];
    if (!payment) return { skipped: 'no payment' };
    try {
        if (payment.stripe_checkout_session_id) {
            const session = await deps.stripe.checkout.sessions.retrieve(payment.stripe_checkout_session_id);
            if (session.status !== 'open') return { checkout_session: session.id, skipped: `session ${session.status}` };
            await deps.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: `${message.idempotency_key}:expire` });
            return { checkout_session: session.id, expired: true };
        }
        const intent = await deps.stripe.paymentIntents.retrieve(payment.stripe_payment_intent_id!);
        if (intent.status === 'succeeded' || intent.status === 'canceled') return { payment_intent: intent.id, skipped: `intent ${intent.status}` };
        await deps.stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' }, { idempotencyKey: `${message.idempotency_key}:cancel` });
        return { payment_intent: intent.id, canceled: true };
    } catch (error) {
        // The payment moved on meanwhile (paid, expired): nothing left to cancel.
        if (error instanceof Stripe.errors.StripeInvalidRequestError) return { refused: error.message, code: error.code };
        throw error;
    }
}
