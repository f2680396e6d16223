// stripe-webhook under Stripe's real behaviour and under attack, through the gateway and
// real Deno: duplicates, any order, forged/stale/unsigned requests, unknown types,
// amounts that do not match, the database going away while Stripe keeps delivering,
// and many deliveries at once. Each test checks the end state in the database.
import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createShop, placeOrder, snapshot, stripeEvent, stripeId, type Shop, type StripeEvent } from '../../harness/commerce-shop.js';
import { useStack } from '../../harness/stack.js';
import { deliver, signEvent } from '../../harness/stripe-webhooks.js';

const stack = useStack({ dbProxy: true });
let shop: Shop;

beforeAll(async () => {
    shop = await createShop(stack.db, 1000);
});

/** An order awaiting payment with a PaymentIntent attached (a new customer each: shops limit unpaid orders). */
async function pendingOrder(quantity = 1) {
    const user = await stack.db.createUser();
    const order = await placeOrder(stack.db, user, [{ variant_id: shop.variants[0]!.id, quantity }]);
    const paymentIntent = stripeId('pi');
    await stack.db.asService((q) => q('select public.attach_payment($1, $2)', [order.id, paymentIntent]));
    return { id: order.id, total: Number(order.total_amount), paymentIntent };
}

async function send(event: StripeEvent | string, options: { secret?: string; timestamp?: number } = {}) {
    return deliver(stack.url, await signEvent(event, options.secret ?? stack.webhookSecret, options.timestamp));
}

async function orderState(id: string) {
    const [row] = await stack.db.query<{ status: string; payment_status: string; amount_captured: string; amount_refunded: string }>(
        `select o.status, o.payment_status, p.amount_captured::text, p.amount_refunded::text
         from public.orders o left join public.payments p on p.order_id = o.id where o.id = $1`,
        [id],
    );
    return row!;
}

const count = async (sql: string, params: unknown[]) => Number((await stack.db.query<{ n: string }>(`select count(*)::text as n from (${sql}) x`, params))[0]!.n);
const confirmations = (orderId: string) => count(`select 1 from private.outbox where topic = 'email.order_confirmation' and aggregate_id = $1`, [orderId]);
const sales = (orderId: string) => count(`select 1 from public.inventory_movements where kind = 'sale' and order_id = $1`, [orderId]);

describe('duplicates and order', () => {
    it('the same event delivered 5 times at once is applied once: one capture, one sale, one confirmation email', async () => {
        const order = await pendingOrder(2);
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total });
        const answers = await Promise.all(Array.from({ length: 5 }, () => send(event)));
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
        expect(answers.map((a) => a.body.status).sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
        expect(await orderState(order.id)).toMatchObject({ status: 'paid', payment_status: 'captured', amount_captured: String(order.total) });
        expect(await sales(order.id)).toBe(1);
        expect(await confirmations(order.id)).toBe(1);
        expect(await count('select 1 from private.stripe_events where id = $1', [event.id])).toBe(1);
    });

    it('events delivered newest first end in the same state: paid and partly refunded, the older failure ignored', async () => {
        const order = await pendingOrder(2);
        const t = Math.floor(Date.now() / 1000) - 60;
        const failed = stripeEvent('payment_intent.payment_failed', { orderId: order.id, paymentIntent: order.paymentIntent, created: t });
        const succeeded = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total, created: t + 10 });
        const refunded = stripeEvent('charge.refunded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total, amountRefunded: 1000, created: t + 20 });
        const outcomes = [];
        for (const event of [refunded, succeeded, failed]) outcomes.push((await send(event)).body.status);
        expect(outcomes).toEqual(['applied', 'stale', 'stale']);
        expect(await orderState(order.id)).toEqual({ status: 'paid', payment_status: 'partially_refunded', amount_captured: String(order.total), amount_refunded: '1000' });
        expect(await sales(order.id)).toBe(1);
    });

    it('answers 2xx for a type nobody handles, and records it', async () => {
        const event = { ...stripeEvent('customer.created'), id: `evt_${randomUUID().replaceAll('-', '')}`, type: 'invoice.finalized' };
        const answer = await send(event);
        expect(answer).toMatchObject({ status: 200, body: { received: true, status: 'ignored' } });
        expect(await stack.db.query('select type, status from private.stripe_events where id = $1', [event.id])).toEqual([{ type: 'invoice.finalized', status: 'ignored' }]);
    });
});

describe('forged, stale and unsigned deliveries', () => {
    it.each([
        ['signed with another secret', { secret: 'whsec_forged_by_someone_else' }],
        ['signed 301 s ago', { timestamp: Math.floor(Date.now() / 1000) - 301 }],
    ])('refuses a delivery %s with 400, changing nothing', async (_name, options) => {
        const order = await pendingOrder();
        const before = await snapshot(stack.db);
        const answer = await send(stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total }), options);
        expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
        expect(await snapshot(stack.db)).toEqual(before);
    });

    it('refuses an unsigned delivery and a signature over another body with 400, changing nothing', async () => {
        const order = await pendingOrder();
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total });
        const before = await snapshot(stack.db);
        expect((await deliver(stack.url, { payload: JSON.stringify(event) })).status).toBe(400);
        const signed = await signEvent({ ...event, data: { object: { ...event.data.object, amount_received: 1 } } }, stack.webhookSecret);
        expect((await deliver(stack.url, { payload: JSON.stringify(event), signature: signed.signature })).status).toBe(400);
        expect(await snapshot(stack.db)).toEqual(before);
    });
});

describe('amounts and currencies that do not match the order', () => {
    it.each([
        ['an amount one cent short', (total: number) => ({ amount: total - 1 }), {}],
        ['another currency', (total: number) => ({ amount: total }), { currency: 'usd' }],
    ])('%s: 2xx, recorded as rejected, reported to staff, never paid', async (_name, amounts, overrides) => {
        const order = await pendingOrder();
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, ...amounts(order.total) });
        Object.assign(event.data.object, overrides);
        const answer = await send(event);
        expect(answer).toMatchObject({ status: 200, body: { status: 'rejected', order_status: 'pending_payment', payment_status: 'unpaid' } });
        expect(await orderState(order.id)).toMatchObject({ status: 'pending_payment', payment_status: 'unpaid', amount_captured: '0' });
        const [logged] = await stack.db.query<{ status: string; error: string }>('select status, error from private.stripe_events where id = $1', [event.id]);
        expect(logged!.status).toBe('rejected');
        expect(logged!.error).toMatch(/does not match the order total/);
        expect(await count(`select 1 from private.outbox where topic = 'ops.stripe_event_rejected' and aggregate_id = $1`, [order.id])).toBe(1);
        expect(await sales(order.id)).toBe(0);
    });
});

describe('the database goes away while Stripe delivers', () => {
    it('answers 503 while it is down; Stripe\'s retries with backoff deliver everything once it is back, nothing lost', async () => {
        const order = await pendingOrder();
        const sdk = stack.stripeSdk();
        const intent = await sdk.paymentIntents.create({ amount: order.total, currency: 'eur', metadata: { order_id: order.id } });
        await stack.db.asService((q) => q('update public.payments set stripe_payment_intent_id = $2 where order_id = $1', [order.id, intent.id]));

        stack.dbProxy.down();
        try {
            await sdk.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
            await vi.waitFor(
                () => {
                    const refused = stack.stripe.webhooks.attempts.filter((a) => a.type === 'payment_intent.succeeded' && a.status === 503);
                    expect(refused.length).toBeGreaterThan(0);
                },
                { timeout: 20_000, interval: 50 },
            );
            expect((await orderState(order.id)).status).toBe('pending_payment');
        } finally {
            stack.dbProxy.up();
        }
        await stack.stripe.webhooks.settled();

        expect(await orderState(order.id)).toMatchObject({ status: 'paid', payment_status: 'captured' });
        const events = stack.stripe.account.events.filter((e) => (e.data.object as { id: string; payment_intent?: string }).id === intent.id || (e.data.object as { payment_intent?: string }).payment_intent === intent.id);
        expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
        for (const event of events) {
            const attempts = stack.stripe.webhooks.attempts.filter((a) => a.eventId === event.id);
            expect(attempts.at(-1)!.status, event.type).toBe(200);
        }
        const succeeded = stack.stripe.webhooks.attempts.filter((a) => a.type === 'payment_intent.succeeded' && a.eventId === events[2]!.id);
        expect(succeeded.length).toBeGreaterThan(1);
        expect(await count('select 1 from private.stripe_events where id = any($1)', [events.map((e) => e.id)])).toBe(3);
        expect(await sales(order.id)).toBe(1);
    }, 60_000);
});

describe('many deliveries at once', () => {
    it('50 concurrent deliveries of mixed events for 10 orders: each event applied once, every order paid once', async () => {
        const orders = await Promise.all(Array.from({ length: 10 }, () => pendingOrder()));
        const t = Math.floor(Date.now() / 1000) - 30;
        const deliveries: StripeEvent[] = orders.flatMap((order) => {
            const succeeded = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: order.paymentIntent, amount: order.total, created: t + 5 });
            const failed = stripeEvent('payment_intent.payment_failed', { orderId: order.id, paymentIntent: order.paymentIntent, created: t });
            const other = { ...stripeEvent('customer.created'), id: stripeId('evt') };
            return [succeeded, succeeded, succeeded, failed, other];
        });
        const answers = await Promise.all(deliveries.map((event) => send(event)));
        expect(answers.filter((a) => a.status !== 200)).toEqual([]);
        const ids = [...new Set(deliveries.map((e) => e.id))];
        expect(await count('select 1 from private.stripe_events where id = any($1)', [ids])).toBe(30);
        for (const order of orders) {
            expect(await orderState(order.id)).toMatchObject({ status: 'paid', payment_status: 'captured' });
            expect(await sales(order.id)).toBe(1);
            expect(await confirmations(order.id)).toBe(1);
        }
        expect(answers.filter((a) => a.body.status === 'applied').length).toBeGreaterThanOrEqual(10);
    }, 60_000);
});
