// What the checkout asks Stripe for, derived from the order alone, so that a repeated
// checkout sends the same parameters under the same idempotency key and gets the same
// PaymentIntent / Checkout Session back (one payment per order).
import type Stripe from 'stripe';

export interface CheckoutOrder {
    id: string;
    number: string;
    currency: string;
    total_amount: number;
    subtotal_amount: number;
    discount_amount: number;
    shipping_amount: number;
    tax_amount: number;
    email: string;
}

export interface OrderLine {
    name: string;
    unit_price_amount: number;
    quantity: number;
}

/** Stripe idempotency keys, derived from the order (and, for a session, its deadline). */
export const idempotencyKeys = {
    paymentIntent: (orderId: string) => `tillbase:order:${orderId}:payment_intent`,
    checkoutSession: (orderId: string, expiresAt: number) => `tillbase:order:${orderId}:checkout_session:${expiresAt}`,
};

const orderMetadata = (order: CheckoutOrder) => ({ order_id: order.id, order_number: order.number });

export function paymentIntentParams(order: CheckoutOrder, customer: string): Stripe.PaymentIntentCreateParams {
    return {
        amount: order.total_amount,
        currency: order.currency.toLowerCase(),
        customer,
        automatic_payment_methods: { enabled: true },
        description: `Order ${order.number}`,
        receipt_email: order.email,
        metadata: orderMetadata(order),
    };
}

/**
 * The hosted page shows the order's lines when they add up to its total (plus shipping
 * and tax lines); otherwise (a discount) one line for the whole order, so that Stripe
 * always charges exactly the order's total.
 */
export function sessionLineItems(order: CheckoutOrder, lines: OrderLine[]): Stripe.Checkout.SessionCreateParams.LineItem[] {
    const currency = order.currency.toLowerCase();
    const item = (name: string, amount: number, quantity = 1): Stripe.Checkout.SessionCreateParams.LineItem => ({
        price_data: { currency, unit_amount: amount, product_data: { name } },
        quantity,
    });
    const sum = lines.reduce((total, l) => total + l.unit_price_amount * l.quantity, 0);
    if (order.discount_amount > 0 || sum !== order.subtotal_amount) return [item(`Order ${order.number}`, order.total_amount)];
    return [
        ...lines.map((l) => item(l.name, l.unit_price_amount, l.quantity)),
        ...(order.shipping_amount > 0 ? [item('Shipping', order.shipping_amount)] : []),
        ...(order.tax_amount > 0 ? [item('Tax', order.tax_amount)] : []),
    ];
}

export function checkoutSessionParams(
    order: CheckoutOrder,
    lines: OrderLine[],
    customer: string,
    urls: { success_url: string; cancel_url?: string },
    expiresAt: number,
): Stripe.Checkout.SessionCreateParams {
    return {
        mode: 'payment',
        line_items: sessionLineItems(order, lines),
        customer,
        client_reference_id: order.id,
        metadata: orderMetadata(order),
        payment_intent_data: { description: `Order ${order.number}`, metadata: orderMetadata(order) },
        success_url: urls.success_url,
        ...(urls.cancel_url ? { cancel_url: urls.cancel_url } : {}),
        expires_at: expiresAt,
    };
}

/** Stripe keeps a Checkout Session open 30 minutes at least; the reservation must cover that. */
export const SESSION_MIN_LIFETIME_MS = 30 * 60 * 1000;
/** Room for the time between our clock and Stripe's creation of the session. */
export const SESSION_CLOCK_MARGIN_MS = 30 * 1000;
/** How far a too-short reservation is extended (then stable for concurrent or repeated calls). */
export const SESSION_EXTENSION_MS = 31 * 60 * 1000;
