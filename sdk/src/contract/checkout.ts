// The `checkout` function's contract: what a signed-in customer sends and what comes
// back. The function parses its body with `CheckoutRequest`, and the SDK types its call
// with the same schema, so the two cannot drift. Field names are part of the contract.
import { z } from 'zod';

/** One line of an order placed from items rather than a cart. */
export const CheckoutItem = z.object({
    variant_id: z.uuid(),
    quantity: z.number().int().min(1).max(1000),
});

export const CheckoutMode = z.enum(['payment_intent', 'checkout_session']);
export type CheckoutMode = z.infer<typeof CheckoutMode>;

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

export const CheckoutRequest = z
    .object({
        /** An open cart of the caller; or `items`, never both. */
        cart_id: z.uuid().optional(),
        /** The order's lines; an empty list is refused with `empty_cart`. */
        items: z.array(CheckoutItem).max(100).optional(),
        /** `payment_intent`: a client_secret for Stripe Elements; `checkout_session`: a hosted page URL. */
        mode: CheckoutMode,
        /** The caller's key for this purchase: the same key returns the same order and the same payment. */
        idempotency_key: z.string().min(1).max(200),
        /** Where the hosted page sends the customer after paying (`checkout_session` only; required there). */
        success_url: httpUrl.optional(),
        /** Where the hosted page sends the customer who goes back (`checkout_session` only). */
        cancel_url: httpUrl.optional(),
    })
    .strict()
    .superRefine((input, ctx) => {
        if ((input.cart_id === undefined) === (input.items === undefined)) {
            ctx.addIssue({ code: 'custom', path: ['cart_id'], message: 'give either cart_id or items, not both' });
        }
        if (input.mode === 'checkout_session' && input.success_url === undefined) {
            ctx.addIssue({ code: 'custom', path: ['success_url'], message: 'a checkout_session needs a success_url' });
        }
        if (input.mode === 'payment_intent' && (input.success_url !== undefined || input.cancel_url !== undefined)) {
            ctx.addIssue({ code: 'custom', path: ['success_url'], message: 'success_url and cancel_url belong to checkout_session mode' });
        }
    });
export type CheckoutRequest = z.infer<typeof CheckoutRequest>;

interface CheckoutOrder {
    order_id: string;
    /** The customer-facing number, e.g. `TB-000123`. */
    order_number: string;
    /** Total to pay, in minor units of `currency`. */
    amount: number;
    /** ISO 4217, upper case as everywhere in the API (Stripe itself writes it lower case). */
    currency: string;
}

export interface PaymentIntentCheckout extends CheckoutOrder {
    mode: 'payment_intent';
    payment_intent_id: string;
    /** For `stripe.confirmPayment` / Stripe Elements in the browser. */
    client_secret: string;
}

export interface CheckoutSessionCheckout extends CheckoutOrder {
    mode: 'checkout_session';
    checkout_session_id: string;
    /** Stripe's hosted payment page. */
    url: string;
    /** ISO 8601; equals the order's reservation deadline (orders.expires_at). */
    expires_at: string;
}

export type CheckoutResponse = PaymentIntentCheckout | CheckoutSessionCheckout;
