// Staff dead letters: what the SDK sends to and gets from the two rpc calls (PostgREST
// `/rest/v1/rpc/…`) over the outbox's dead-lettered messages. Listing is for admin and
// support staff; replay is for admins, and replaying a message that touches the ERP or
// money (topics erp.*, stripe.*) needs a session raised with MFA (aal2) — else 42501
// (`forbidden` / `mfa_required`). A message that is not dead → TB001 (`conflict`).
import { z } from 'zod';

/** Topics the backend writes to the outbox. */
export const OUTBOX_TOPICS = [
    'erp.order.upsert',
    'email.order_confirmation',
    'email.payment_failed',
    'email.order_shipped',
    'email.refund_issued',
    'stripe.refund.create',
    'stripe.payment.cancel',
    'ops.payment_on_closed_order',
    'ops.dispute_created',
] as const;

/** Topics whose replay needs aal2 (they reach the ERP or move money). */
export function replayNeedsMfa(topic: string): boolean {
    return /^(erp|stripe)\./.test(topic);
}

/** rpc `list_dead_letters`: newest first; page with `p_before_id` = the last id seen. */
export const ListDeadLettersInput = z
    .object({
        p_topic: z.string().min(1).max(100).optional(),
        p_limit: z.number().int().min(1).max(500).optional(),
        p_before_id: z.number().int().positive().optional(),
    })
    .strict();

export type ListDeadLettersInput = z.infer<typeof ListDeadLettersInput>;

export interface DeadLetter {
    id: number;
    topic: string;
    aggregate_type: string;
    aggregate_id: string | null;
    /** The order's number when the message is about an order. */
    order_number: string | null;
    attempts: number;
    last_error: string | null;
    created_at: string;
    dead_since: string;
}

/** rpc `replay_outbox_message`: the message goes back to pending with its attempts reset. */
export const ReplayDeadLetterInput = z.object({ p_id: z.number().int().positive() }).strict();

export type ReplayDeadLetterInput = z.infer<typeof ReplayDeadLetterInput>;

export interface ReplayDeadLetterResult {
    id: number;
    status: 'pending';
}
