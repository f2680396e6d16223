// Signed Stripe webhook deliveries made by the test itself (as an independent client
// would, with the secret from `status -o env`): the official SDK computes the header.
import Stripe from 'stripe';

export interface SignedDelivery {
    payload: string;
    signature: string;
}

/** Signs `event` (an object or the exact payload text) with `secret`, at `timestamp` (unix s; default now). */
export async function signEvent(event: unknown, secret: string, timestamp = Math.floor(Date.now() / 1000)): Promise<SignedDelivery> {
    const payload = typeof event === 'string' ? event : JSON.stringify(event);
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp, cryptoProvider: Stripe.createSubtleCryptoProvider() });
    return { payload, signature };
}

/** POSTs a delivery to the stack's stripe-webhook function, as Stripe does (no Supabase key). */
export async function deliver(apiUrl: string, delivery: { payload: string; signature?: string }): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${apiUrl}/functions/v1/stripe-webhook`, {
        method: 'POST',
        headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            ...(delivery.signature ? { 'stripe-signature': delivery.signature } : {}),
        },
        body: delivery.payload,
    });
    const text = await response.text();
    try {
        return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
    } catch {
        return { status: response.status, body: { text } };
    }
}
