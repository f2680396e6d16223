// notifications: the order emails from the outbox (`email.*`). Scheduled every few seconds
// with the service role. Each message is rendered from the order as it is now and sent
// through the provider with the message's idempotency key; the delivery is recorded, then
// the round's messages are completed together. A message already recorded as delivered (its
// completion was lost) is completed without sending again: one email per message, and the
// outbox keys make that one per (order, template) — per failed attempt for payment_failed,
// per refunded amount for refund_issued.
import { z } from 'zod';
import type { Db } from '../_shared/db.ts';
import type { Logger } from '../_shared/log.ts';
import { MailError, type MailProvider } from '../_shared/mail.ts';
import { loadOrder } from '../_shared/orders.ts';
import { handleOutboxJob, type OutboxMessage, type Outcome } from '../_shared/outbox.ts';
import { renderEmail, type Shop, type TemplateData } from './templates.ts';

export interface NotificationsDeps {
    /** The keys that stand for the service role (scheduled calls carry one): see _shared/service-role.ts. */
    serviceKeys: readonly string[];
    db: Db;
    mail: MailProvider;
    shop: Shop;
    /** The From header, e.g. "Tillbase <orders@example.com>". */
    from: string;
    clock: () => Date;
    log: Logger;
    worker: string;
}

const orderId = z.string().uuid();

/** Each email topic and how its payload becomes the template's data. */
const TOPICS = {
    'email.order_confirmation': z.object({ order_id: orderId }).transform((): TemplateData => ({ template: 'order_confirmation' })),
    'email.payment_failed': z
        .object({ order_id: orderId, message: z.string().nullish() })
        .transform((p): TemplateData => ({ template: 'payment_failed', message: p.message ?? null })),
    'email.order_shipped': z
        .object({ order_id: orderId, tracking_number: z.string().nullish() })
        .transform((p): TemplateData => ({ template: 'order_shipped', tracking_number: p.tracking_number ?? null })),
    'email.refund_issued': z
        .object({ order_id: orderId, amount_refunded: z.number().int().positive() })
        .transform((p): TemplateData => ({ template: 'refund_issued', amount_refunded: p.amount_refunded })),
} as const;

export const EMAIL_TOPICS = Object.keys(TOPICS) as Array<keyof typeof TOPICS>;

export async function sendEmail(deps: NotificationsDeps, message: OutboxMessage, signal: AbortSignal): Promise<Outcome> {
    const schema = TOPICS[message.topic as keyof typeof TOPICS];
    if (!schema) return { kind: 'dead', error: `no template for topic ${message.topic}` };
    const data = schema.safeParse(message.payload);
    if (!data.success) return { kind: 'dead', error: `malformed payload: ${data.error.issues[0]?.message}` };

    const { rows: sent } = await deps.db.query('select 1 from private.email_deliveries where outbox_id = $1', [message.id]);
    if (sent.length) return { kind: 'done' };
    const order = await loadOrder(deps.db, (message.payload as { order_id: string }).order_id);
    if (!order) return { kind: 'dead', error: 'the order does not exist' };

    const content = renderEmail(order, data.data, deps.shop);
    let id: string;
    try {
        ({ id } = await deps.mail.send({ from: deps.from, to: order.email, ...content, idempotencyKey: message.idempotency_key }, signal));
    } catch (error) {
        if (error instanceof MailError) return error.retryable ? { kind: 'retry', error: error.message } : { kind: 'dead', error: error.message };
        throw error;
    }
    await deps.db.query('select public.record_email_delivery($1, $2, $3, $4, $5, $6)', [message.id, data.data.template, order.email, deps.mail.name, id, deps.clock()]);
    return { kind: 'done' };
}

export async function handle(request: Request, deps: NotificationsDeps): Promise<Response> {
    return handleOutboxJob(request, deps, {
        topics: EMAIL_TOPICS,
        log: deps.log.with({ provider: deps.mail.name }),
        process: (message, signal) => sendEmail(deps, message, signal),
    });
}
