// The `refund` function's contract (finance or admin staff signed in with MFA).
import { z } from 'zod';

/** Stripe's refund reasons; anything else is refused by Stripe itself. */
export const RefundReason = z.enum(['duplicate', 'fraudulent', 'requested_by_customer']);
export type RefundReason = z.infer<typeof RefundReason>;

export const RefundRequest = z
    .object({
        order_id: z.uuid(),
        /** Minor units of the order's currency; at most what is still refundable. */
        amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
        reason: RefundReason.optional(),
        /** The same key for the same order returns the first refund instead of refunding again (a retried request); with another amount or reason it is a conflict. */
        idempotency_key: z.string().min(1).max(200).optional(),
    })
    .strict();
export type RefundRequest = z.infer<typeof RefundRequest>;

export interface RefundResponse {
    refund_id: string;
    order_id: string;
    amount: number;
    currency: string;
    /** `pending` until Stripe's events confirm it (`succeeded`, `failed`, `canceled`). */
    status: 'pending' | 'succeeded' | 'failed' | 'canceled';
    /** Stripe's `re_…` id once the refund reached Stripe; null while it waits in the outbox (Stripe unreachable). */
    stripe_refund_id: string | null;
}
