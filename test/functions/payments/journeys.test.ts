// Customer journeys through the stack as a frontend drives it: supabase-js signs in,
// fills a cart through /rest/v1, calls `checkout` (real Deno behind the gateway), pays
// at the Stripe fake (as Stripe.js or the hosted page would), and the fake's signed
// webhooks reach `stripe-webhook`. The order is read back through /rest/v1.
import { FunctionsHttpError } from '@supabase/supabase-js';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckoutResponse, CheckoutSessionCheckout, PaymentIntentCheckout } from '../../../sdk/src/contract/index.ts';
import { LOCAL_STRIPE_PUBLISHABLE_KEY } from '../../../stack/fakes/stripe/index.js';
import { createShop, type Shop } from '../../harness/commerce-shop.js';
import { useStack, type SignedIn } from '../../harness/stack.js';

const stack = useStack();
let shop: Shop;

beforeAll(async () => {
    shop = await createShop(stack.db);
});

const key = () => `journey-${Math.random().toString(36).slice(2)}`;

async function invokeCheckout<T extends CheckoutResponse>(who: SignedIn, body: Record<string, unknown>): Promise<T> {
    const { data, error } = await who.client.functions.invoke<T>('checkout', { body });
    if (error) throw new Error(`checkout failed: ${error instanceof FunctionsHttpError ? await (error.context as Response).text() : error.message}`);
    return data!;
}

/** A cart of the customer's, filled through /rest/v1 under RLS. */
async function cartOf(who: SignedIn, lines: Array<[number, number]>): Promise<string> {
    const { data: cart, error } = await who.client.from('carts').insert({ user_id: who.userId }).select('id').single();
    if (error) throw error;
    const { error: itemsError } = await who.client
        .from('cart_items')
        .insert(lines.map(([variant, quantity]) => ({ cart_id: cart.id, variant_id: shop.variants[variant]!.id, quantity })));
    if (itemsError) throw itemsError;
    return cart.id;
}

/** The browser's Stripe.js: the publishable key and the client secret only. */
function browserStripe(): Stripe {
    return new Stripe(LOCAL_STRIPE_PUBLISHABLE_KEY, { host: '127.0.0.1', port: stack.stripe.listening.port, protocol: 'http', maxNetworkRetries: 0 });
}

async function orderAsCustomer(who: SignedIn, id: string) {
    const { data, error } = await who.client
        .from('orders')
        .select('id, number, status, payment_status, total_amount, currency, expires_at, payments(status, amount_captured, stripe_payment_intent_id, stripe_checkout_session_id, failure_message)')
        .eq('id', id)
        .single();
    if (error) throw error;
    return data;
}

async function stockOf(variant: number) {
    const [row] = await stack.db.query<{ on_hand: number; reserved: number }>('select on_hand, reserved from public.inventory_levels where variant_id = $1', [shop.variants[variant]!.id]);
    return row!;
}

const outboxTopics = async (orderId: string) =>
    (await stack.db.query<{ topic: string }>('select topic from private.outbox where aggregate_id = $1 order by id', [orderId])).map((r) => r.topic);

describe('a cart paid with a PaymentIntent', () => {
    it('sign in → cart → checkout → Stripe.js confirms → signed webhook → paid, captured, stock sold, ERP and email queued', async () => {
        const ada = await stack.customer('ada');
        const stockBefore = await stockOf(0);
        const cartId = await cartOf(ada, [[0, 2], [1, 1]]);
        const checkout = await invokeCheckout<PaymentIntentCheckout>(ada, { cart_id: cartId, mode: 'payment_intent', idempotency_key: key() });
        expect(checkout).toMatchObject({ mode: 'payment_intent', amount: 2 * 4500 + 4700, currency: 'EUR', order_number: expect.stringMatching(/^TB-\d{6}$/) });
        expect(checkout.client_secret).toMatch(new RegExp(`^${checkout.payment_intent_id}_secret_`));
        expect((await stockOf(0)).reserved).toBe(stockBefore.reserved + 2);

        const paid = await browserStripe().paymentIntents.confirm(checkout.payment_intent_id, {
            payment_method: 'pm_card_visa',
            client_secret: checkout.client_secret,
        } as Stripe.PaymentIntentConfirmParams);
        expect(paid.status).toBe('succeeded');
        await stack.stripe.webhooks.settled();

        const order = await orderAsCustomer(ada, checkout.order_id);
        expect(order).toMatchObject({
            status: 'paid',
            payment_status: 'captured',
            payments: [{ status: 'succeeded', amount_captured: 13_700, stripe_payment_intent_id: checkout.payment_intent_id }],
        });
        expect(await stockOf(0)).toEqual({ on_hand: stockBefore.on_hand - 2, reserved: stockBefore.reserved });
        expect(await stack.db.query('select status from public.inventory_reservations where order_id = $1', [order.id])).toEqual([
            { status: 'consumed' },
            { status: 'consumed' },
        ]);
        expect(await outboxTopics(order.id)).toEqual(['email.order_confirmation', 'erp.order.upsert']);
        const { data: cart } = await ada.client.from('carts').select('status').eq('id', cartId).single();
        expect(cart!.status).toBe('converted');
    });

    it('a declined card fails the payment (email queued); another card then pays the same order', async () => {
        const grace = await stack.customer('grace');
        const checkout = await invokeCheckout<PaymentIntentCheckout>(grace, { items: [{ variant_id: shop.variants[1]!.id, quantity: 1 }], mode: 'payment_intent', idempotency_key: key() });
        const browser = browserStripe();
        const declined = await browser.paymentIntents
            .confirm(checkout.payment_intent_id, { payment_method: 'pm_card_chargeDeclined', client_secret: checkout.client_secret } as Stripe.PaymentIntentConfirmParams)
            .catch((e: unknown) => e);
        expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
        await stack.stripe.webhooks.settled();
        expect(await orderAsCustomer(grace, checkout.order_id)).toMatchObject({
            status: 'pending_payment',
            payment_status: 'failed',
            payments: [{ status: 'failed', failure_message: 'Your card was declined.' }],
        });
        expect(await outboxTopics(checkout.order_id)).toEqual(['email.payment_failed']);

        await browser.paymentIntents.confirm(checkout.payment_intent_id, { payment_method: 'pm_card_visa', client_secret: checkout.client_secret } as Stripe.PaymentIntentConfirmParams);
        await stack.stripe.webhooks.settled();
        expect(await orderAsCustomer(grace, checkout.order_id)).toMatchObject({ status: 'paid', payment_status: 'captured' });
    });

    it('a card that needs 3-D Secure pays once the challenge is completed', async () => {
        const who = await stack.customer('secure');
        const checkout = await invokeCheckout<PaymentIntentCheckout>(who, { items: [{ variant_id: shop.variants[2]!.id, quantity: 1 }], mode: 'payment_intent', idempotency_key: key() });
        const pending = await browserStripe().paymentIntents.confirm(checkout.payment_intent_id, {
            payment_method: 'pm_card_authenticationRequired',
            client_secret: checkout.client_secret,
        } as Stripe.PaymentIntentConfirmParams);
        expect(pending.status).toBe('requires_action');
        await stack.stripe.webhooks.settled();
        expect(await orderAsCustomer(who, checkout.order_id)).toMatchObject({ status: 'pending_payment', payment_status: 'unpaid' });
        await stack.stripeSdk().rawRequest('POST', `/v1/test_helpers/payment_intents/${checkout.payment_intent_id}/authenticate`, { outcome: 'succeed' });
        await stack.stripe.webhooks.settled();
        expect(await orderAsCustomer(who, checkout.order_id)).toMatchObject({ status: 'paid', payment_status: 'captured' });
    });

    it('calling checkout again with the same key returns the same order and PaymentIntent', async () => {
        const who = await stack.customer('again');
        const body = { items: [{ variant_id: shop.variants[0]!.id, quantity: 1 }], mode: 'payment_intent', idempotency_key: key() };
        const first = await invokeCheckout<PaymentIntentCheckout>(who, body);
        const second = await invokeCheckout<PaymentIntentCheckout>(who, body);
        expect(second).toEqual(first);
    });

    it('a dispute on a paid order is recorded on its payment and reported to staff', async () => {
        const who = await stack.customer('dispute');
        const checkout = await invokeCheckout<PaymentIntentCheckout>(who, { items: [{ variant_id: shop.variants[0]!.id, quantity: 1 }], mode: 'payment_intent', idempotency_key: key() });
        await stack.stripeSdk().paymentIntents.confirm(checkout.payment_intent_id, { payment_method: 'pm_card_createDispute' });
        await stack.stripe.webhooks.settled();
        const [payment] = await stack.db.query<{ disputed: boolean; dispute_reason: string }>(
            'select disputed_at is not null as disputed, dispute_reason from public.payments where order_id = $1',
            [checkout.order_id],
        );
        expect(payment).toEqual({ disputed: true, dispute_reason: 'fraudulent' });
        expect(await outboxTopics(checkout.order_id)).toContain('ops.dispute_created');
    });
});

describe('a Checkout Session', () => {
    it('items → hosted page paid → session completed → paid, with the session and its PaymentIntent recorded', async () => {
        const ada = await stack.customer('hosted');
        const checkout = await invokeCheckout<CheckoutSessionCheckout>(ada, {
            items: [{ variant_id: shop.variants[1]!.id, quantity: 2 }],
            mode: 'checkout_session',
            idempotency_key: key(),
            success_url: 'http://shop.test/thanks?session={CHECKOUT_SESSION_ID}',
            cancel_url: 'http://shop.test/cart',
        });
        expect(checkout.url).toBe(`${stack.stripe.url}/c/pay/${checkout.checkout_session_id}`);
        const order = await orderAsCustomer(ada, checkout.order_id);
        expect(new Date(checkout.expires_at)).toEqual(new Date(order.expires_at));
        expect(stack.stripe.account.sessions.get(checkout.checkout_session_id)!.expires_at * 1000).toBe(new Date(order.expires_at).getTime());

        // The customer pays on the hosted page and is sent to success_url.
        const page = await fetch(checkout.url, { method: 'POST', body: new URLSearchParams({ payment_method: 'pm_card_visa' }), redirect: 'manual' });
        expect(page.status).toBe(303);
        expect(page.headers.get('location')).toBe(`http://shop.test/thanks?session=${checkout.checkout_session_id}`);
        await stack.stripe.webhooks.settled();

        const session = stack.stripe.account.sessions.get(checkout.checkout_session_id)!;
        expect(await orderAsCustomer(ada, checkout.order_id)).toMatchObject({
            status: 'paid',
            payment_status: 'captured',
            payments: [{ status: 'succeeded', amount_captured: 9400, stripe_checkout_session_id: checkout.checkout_session_id, stripe_payment_intent_id: session.payment_intent }],
        });
        expect(await outboxTopics(checkout.order_id)).toEqual(['email.order_confirmation', 'erp.order.upsert']);
    });

    it('expires with the reservation: the session expires at Stripe, the webhook expires the order, the stock is released', async () => {
        const who = await stack.customer('late');
        const before = await stockOf(2);
        const checkout = await invokeCheckout<CheckoutSessionCheckout>(who, {
            items: [{ variant_id: shop.variants[2]!.id, quantity: 3 }],
            mode: 'checkout_session',
            idempotency_key: key(),
            success_url: 'http://shop.test/thanks',
        });
        expect((await stockOf(2)).reserved).toBe(before.reserved + 3);
        stack.stripe.tick();
        expect(stack.stripe.account.sessions.get(checkout.checkout_session_id)!.status).toBe('open');

        const pastDeadline = new Date(checkout.expires_at).getTime() - Date.now() + 1000;
        stack.clock.advance(pastDeadline);
        try {
            stack.stripe.tick();
            await stack.stripe.webhooks.settled();
        } finally {
            stack.clock.advance(-pastDeadline);
        }
        expect(stack.stripe.account.sessions.get(checkout.checkout_session_id)!.status).toBe('expired');
        expect(await orderAsCustomer(who, checkout.order_id)).toMatchObject({ status: 'expired', payment_status: 'unpaid', payments: [{ status: 'canceled' }] });
        expect(await stockOf(2)).toEqual(before);
        expect(await stack.db.query('select status from public.inventory_reservations where order_id = $1', [checkout.order_id])).toEqual([{ status: 'expired' }]);
    });
});
