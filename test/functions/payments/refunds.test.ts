// refund and the Stripe outbox worker through the stack: who may refund (finance or
// admin with MFA), how much (never beyond what was captured), partial then full
// refunds confirmed by Stripe's webhooks, a refund waiting out a Stripe outage, and
// payments of expired orders canceled at Stripe.
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, snapshot, type Shop } from '../../harness/commerce-shop.js';
import { useStack, type SignedIn } from '../../harness/stack.js';

const stack = useStack();
let shop: Shop;
let financeMfa: SignedIn;

beforeAll(async () => {
    shop = await createShop(stack.db);
    financeMfa = await stack.staff('finance', { mfa: true });
});

const key = () => `refund-${Math.random().toString(36).slice(2)}`;

/** An order paid by card through checkout and the fake's webhooks. */
async function paidOrder(quantity = 2) {
    const buyer = await stack.customer('buyer');
    const checkout = await stack.call<Record<string, string | number>>(
        'checkout',
        { mode: 'payment_intent', idempotency_key: key(), items: [{ variant_id: shop.variants[0]!.id, quantity }] },
        await buyer.token(),
    );
    expect(checkout.status).toBe(200);
    await stack.stripeSdk().paymentIntents.confirm(checkout.body.payment_intent_id as string, { payment_method: 'pm_card_visa' });
    await stack.stripe.webhooks.settled();
    return { buyer, id: checkout.body.order_id as string, total: checkout.body.amount as number, paymentIntent: checkout.body.payment_intent_id as string };
}

async function refund(who: SignedIn, body: Record<string, unknown>) {
    return stack.call<Record<string, unknown>>('refund', body, await who.token());
}

async function state(orderId: string) {
    const [row] = await stack.db.query<Record<string, unknown>>(
        `select o.status, o.payment_status, p.amount_refunded::int as refunded,
                (select array_agg(r.status::text order by r.created_at) from public.refunds r where r.order_id = o.id) as refunds
         from public.orders o join public.payments p on p.order_id = o.id where o.id = $1`,
        [orderId],
    );
    return row!;
}

const stripeRefundsOf = (paymentIntent: string) => [...stack.stripe.account.refunds.values()].filter((r) => r.payment_intent === paymentIntent);

describe('who may refund', () => {
    it.each([
        ['finance without MFA', 'finance', false, 403, 'mfa_required'],
        ['an admin without MFA', 'admin', false, 403, 'mfa_required'],
        ['support with MFA', 'support', true, 403, 'forbidden'],
    ] as const)('%s is refused, and nothing changes', async (_name, role, mfa, status, code) => {
        const order = await paidOrder();
        const staff = await stack.staff(role, { mfa });
        const before = await snapshot(stack.db);
        const answer = await refund(staff, { order_id: order.id, amount: 500 });
        expect(answer).toMatchObject({ status, body: { code } });
        expect(await snapshot(stack.db)).toEqual(before);
        expect(stripeRefundsOf(order.paymentIntent)).toEqual([]);
    });

    it('the customer who paid is refused, and nothing changes', async () => {
        const order = await paidOrder();
        const before = await snapshot(stack.db);
        const answer = await refund(order.buyer, { order_id: order.id, amount: 500 });
        expect(answer).toMatchObject({ status: 403, body: { code: 'forbidden' } });
        expect(await snapshot(stack.db)).toEqual(before);
    });
});

describe('how much', () => {
    it('refuses more than was captured with 400, and nothing changes', async () => {
        const order = await paidOrder();
        const before = await snapshot(stack.db);
        const answer = await refund(financeMfa, { order_id: order.id, amount: order.total + 1 });
        expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_argument' } });
        expect(await snapshot(stack.db)).toEqual(before);
        expect(stripeRefundsOf(order.paymentIntent)).toEqual([]);
    });

    it('a partial refund, then the rest: confirmed by Stripe, the order ends refunded (canceled, stock back on the shelf)', async () => {
        const order = await paidOrder(2);
        const [stock] = await stack.db.query<{ on_hand: number }>('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants[0]!.id]);

        const part = await refund(financeMfa, { order_id: order.id, amount: 1000, reason: 'requested_by_customer' });
        expect(part).toMatchObject({ status: 200, body: { order_id: order.id, amount: 1000, currency: 'EUR', stripe_refund_id: expect.stringMatching(/^re_/) } });
        await stack.stripe.webhooks.settled();
        expect(await state(order.id)).toEqual({ status: 'paid', payment_status: 'partially_refunded', refunded: 1000, refunds: ['succeeded'] });
        expect(stripeRefundsOf(order.paymentIntent).map((r) => [r.amount, r.reason, r.metadata.refund_id])).toEqual([[1000, 'requested_by_customer', part.body.refund_id]]);

        // More than what is left is still refused.
        expect((await refund(financeMfa, { order_id: order.id, amount: order.total })).status).toBe(400);
        const rest = await refund(financeMfa, { order_id: order.id, amount: order.total - 1000 });
        expect(rest.status).toBe(200);
        await stack.stripe.webhooks.settled();
        expect(await state(order.id)).toEqual({ status: 'canceled', payment_status: 'refunded', refunded: order.total, refunds: ['succeeded', 'succeeded'] });
        const [after] = await stack.db.query<{ on_hand: number }>('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants[0]!.id]);
        expect(after!.on_hand).toBe(stock!.on_hand + 2);
    });
});

describe('a retried request', () => {
    it('with the same idempotency_key answers the first refund, and Stripe refunds once', async () => {
        const order = await paidOrder();
        const body = { order_id: order.id, amount: 800, idempotency_key: key() };
        const first = await refund(financeMfa, body);
        expect(first).toMatchObject({ status: 200, body: { amount: 800, stripe_refund_id: expect.stringMatching(/^re_/) } });
        const again = await refund(financeMfa, body);
        expect(again).toMatchObject({ status: 200, body: { refund_id: first.body.refund_id, stripe_refund_id: first.body.stripe_refund_id } });
        await stack.stripe.webhooks.settled();
        expect(stripeRefundsOf(order.paymentIntent).map((r) => r.amount)).toEqual([800]);
        expect(await state(order.id)).toMatchObject({ refunded: 800, refunds: ['succeeded'] });
    });

    it('with the key of another amount is 409 conflict, and nothing changes', async () => {
        const order = await paidOrder();
        const idempotencyKey = key();
        expect((await refund(financeMfa, { order_id: order.id, amount: 800, idempotency_key: idempotencyKey })).status).toBe(200);
        await stack.stripe.webhooks.settled();
        const before = await snapshot(stack.db);
        const answer = await refund(financeMfa, { order_id: order.id, amount: 900, idempotency_key: idempotencyKey });
        expect(answer).toMatchObject({ status: 409, body: { code: 'conflict' } });
        expect(await snapshot(stack.db)).toEqual(before);
        expect(stripeRefundsOf(order.paymentIntent).map((r) => r.amount)).toEqual([800]);
    });
});

describe('when Stripe is down', () => {
    it('the refund stays pending in the outbox and the scheduled stripe-outbox job sends it once Stripe is back', async () => {
        const order = await paidOrder();
        // The function's SDK tries 3 times (2 retries with the same idempotency key).
        stack.stripe.faults.failNext(3);
        const answer = await refund(financeMfa, { order_id: order.id, amount: 700 });
        expect(answer).toMatchObject({ status: 200, body: { status: 'pending', stripe_refund_id: null } });
        expect(stripeRefundsOf(order.paymentIntent)).toEqual([]);
        const [message] = await stack.db.query<{ status: string; attempts: number; last_error: string }>(
            `select status, attempts, last_error from private.outbox where topic = 'stripe.refund.create' and aggregate_id = $1`,
            [order.id],
        );
        expect(message).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.any(String) });

        // The backoff has elapsed; the job runs.
        await stack.db.query(`update private.outbox set next_attempt_at = now() where topic = 'stripe.refund.create' and aggregate_id = $1`, [order.id]);
        const job = await stack.call<{ processed: Array<{ topic: string; outcome: string }> }>('stripe-outbox', { batch: 10 }, stack.keys.serviceRole);
        expect(job.status).toBe(200);
        expect(job.body.processed).toContainEqual(expect.objectContaining({ topic: 'stripe.refund.create', outcome: 'done' }));
        await stack.stripe.webhooks.settled();
        expect(stripeRefundsOf(order.paymentIntent).map((r) => r.amount)).toEqual([700]);
        expect(await state(order.id)).toMatchObject({ payment_status: 'partially_refunded', refunded: 700, refunds: ['succeeded'] });
    }, 60_000);
});

describe('the Stripe outbox worker', () => {
    it('is for the service role only', async () => {
        const answer = await stack.call('stripe-outbox', {}, await financeMfa.token());
        expect(answer).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    });

    it('expires the Checkout Session of an order that expired unpaid', async () => {
        const buyer = await stack.customer('gone');
        const checkout = await stack.call<Record<string, string>>(
            'checkout',
            { mode: 'checkout_session', idempotency_key: key(), items: [{ variant_id: shop.variants[1]!.id, quantity: 1 }], success_url: 'http://shop.test/ok' },
            await buyer.token(),
        );
        expect(checkout.status).toBe(200);
        await stack.db.asService((q) => q(`select public.expire_reservations(now() + interval '2 hours')`));
        const job = await stack.call<{ processed: Array<{ topic: string; outcome: string; result: Record<string, unknown> }> }>('stripe-outbox', {}, stack.keys.serviceRole);
        expect(job.body.processed).toContainEqual(
            expect.objectContaining({ topic: 'stripe.payment.cancel', outcome: 'done', result: { checkout_session: checkout.body.checkout_session_id, expired: true } }),
        );
        expect(stack.stripe.account.sessions.get(checkout.body.checkout_session_id!)!.status).toBe('expired');
        await stack.stripe.webhooks.settled();
        const [order] = await stack.db.query<{ status: string }>('select status from public.orders where id = $1', [checkout.body.order_id]);
        expect(order!.status).toBe('expired');
    });
});
