// The payments migration's SQL (20261126110000_payments_stripe.sql), as the service role
// calls it: the session deadline, events matched by recorded ids first, events that
// failed to apply and come back, rejected events reported to staff, refunds linked or
// failed.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import { HANDLED_EVENT_TYPES } from '../../../functions/_shared/stripe-events.ts';
import { applyEvent, createShop, createStaff, paidOrder, placeOrder, stripeEvent, stripeId, type Shop, type Staff } from '../../harness/commerce-shop.js';

const db = useTestDatabase();
let shop: Shop;
let finance: Staff;

beforeAll(async () => {
    shop = await createShop(db);
    finance = await createStaff(db, 'finance');
});

/** Each test its own customer: the shop limits unpaid orders per customer. */
const customer = (): Promise<TestUser> => db.createUser();
const line = (quantity = 1, variant = 0) => [{ variant_id: shop.variants[variant]!.id, quantity }];

async function service<T extends Record<string, unknown>>(sql: string, params: unknown[]): Promise<T> {
    return db.asService(async (q) => (await q<T>(sql, params))[0]!);
}

const extend = (orderId: string, notBefore: Date, extendTo: Date, now: Date) =>
    service<{ deadline: Date }>('select public.extend_payment_deadline($1, $2, $3, $4) as deadline', [orderId, notBefore, extendTo, now]).then((r) => r.deadline);

describe('extend_payment_deadline', () => {
    it('extends a reservation ending before the minimum to the extension, in whole seconds, reservations included', async () => {
        const order = await placeOrder(db, await customer(), line(2));
        const now = new Date();
        const extendTo = new Date(now.getTime() + 31 * 60_000 + 123);
        const deadline = await extend(order.id, new Date(now.getTime() + 30.5 * 60_000), extendTo, now);
        expect(deadline.getTime()).toBe(Math.ceil(extendTo.getTime() / 1000) * 1000);
        const [row] = await db.query<{ expires_at: Date }>('select expires_at from public.orders where id = $1', [order.id]);
        expect(row!.expires_at).toEqual(deadline);
        const reservations = await db.query<{ expires_at: Date }>('select expires_at from public.inventory_reservations where order_id = $1', [order.id]);
        expect(reservations.map((r) => r.expires_at)).toEqual([deadline]);
    });

    it('keeps a reservation that already covers the minimum, only rounding it up to a second, and returns it again to a second caller', async () => {
        const order = await placeOrder(db, await customer(), line());
        const [placed] = await db.query<{ expires_at: Date }>('select expires_at from public.orders where id = $1', [order.id]);
        const now = new Date(placed!.expires_at.getTime() - 40 * 60_000);
        const first = await extend(order.id, new Date(now.getTime() + 30.5 * 60_000), new Date(now.getTime() + 31 * 60_000), now);
        expect(first.getTime()).toBe(Math.ceil(placed!.expires_at.getTime() / 1000) * 1000);
        const later = new Date(now.getTime() + 20_000);
        expect(await extend(order.id, new Date(later.getTime() + 30.5 * 60_000), new Date(later.getTime() + 31 * 60_000), later)).toEqual(first);
    });

    it('returns the deadline unchanged once a payment is attached', async () => {
        const order = await placeOrder(db, await customer(), line());
        await db.asService((q) => q('select public.attach_payment($1, null, $2)', [order.id, `cs_test_${stripeId('x')}`]));
        const [before] = await db.query<{ expires_at: Date }>('select expires_at from public.orders where id = $1', [order.id]);
        const now = new Date();
        expect(await extend(order.id, new Date(now.getTime() + 3_600_000), new Date(now.getTime() + 3_700_000), now)).toEqual(before!.expires_at);
    });

    it('refuses an order whose reservation ran out (TB001), an extension past 24 hours (22023), an extension before the minimum (22023)', async () => {
        const order = await placeOrder(db, await customer(), line());
        const [row] = await db.query<{ expires_at: Date; created_at: Date }>('select expires_at, created_at from public.orders where id = $1', [order.id]);
        const late = new Date(row!.expires_at.getTime() + 1000);
        await expect(extend(order.id, late, late, late)).rejects.toMatchObject({ code: 'TB001' });
        const now = row!.created_at;
        const tooFar = new Date(row!.created_at.getTime() + 25 * 3_600_000);
        await expect(extend(order.id, tooFar, tooFar, now)).rejects.toMatchObject({ code: '22023' });
        await expect(extend(order.id, new Date(now.getTime() + 3_600_000), new Date(now.getTime() + 60_000), now)).rejects.toMatchObject({ code: '22023' });
    });
});

describe('matching events to orders', () => {
    it('prefers the order whose payment recorded the PaymentIntent over metadata.order_id', async () => {
        const who = await customer();
        const recorded = await placeOrder(db, who, line());
        const other = await placeOrder(db, who, line(1, 1));
        const intent = stripeId('pi');
        await db.asService((q) => q('select public.attach_payment($1, $2)', [recorded.id, intent]));
        const result = await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: other.id, paymentIntent: intent, amount: Number(recorded.total_amount) }));
        expect(result).toMatchObject({ status: 'applied', order_id: recorded.id, order_status: 'paid' });
        const [untouched] = await db.query<{ status: string }>('select status from public.orders where id = $1', [other.id]);
        expect(untouched!.status).toBe('pending_payment');
    });

    it('falls back to metadata.order_id for an event that beat attach_payment', async () => {
        const order = await placeOrder(db, await customer(), line());
        const result = await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: stripeId('pi'), amount: Number(order.total_amount) }));
        expect(result).toMatchObject({ status: 'applied', order_id: order.id });
    });
});

describe('the event types reconcile asks Stripe for', () => {
    it('are all handled by apply_stripe_event (none is "not handled")', async () => {
        for (const type of HANDLED_EVENT_TYPES) {
            const event = { ...stripeEvent('customer.created'), id: stripeId('evt'), type };
            expect(await applyEvent(db, event), type).toMatchObject({ status: 'ignored', reason: 'no order for this event' });
        }
        expect(await applyEvent(db, { ...stripeEvent('customer.created'), id: stripeId('evt') })).toMatchObject({ reason: 'event type not handled' });
    });
});

describe('receive_stripe_event', () => {
    const receive = (event: unknown) => service<{ result: Record<string, unknown> }>('select public.receive_stripe_event($1::jsonb) as result', [JSON.stringify(event)]).then((r) => r.result);

    it('records an amount mismatch as rejected, leaves the order unpaid and tells staff through the outbox', async () => {
        const order = await placeOrder(db, await customer(), line(2));
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: stripeId('pi'), amount: Number(order.total_amount) - 1 });
        expect(await receive(event)).toMatchObject({ status: 'rejected', order_id: order.id, order_status: 'pending_payment', payment_status: 'unpaid' });
        const [logged] = await db.query<{ status: string; error: string }>('select status, error from private.stripe_events where id = $1', [event.id]);
        expect(logged).toMatchObject({ status: 'rejected', error: expect.stringContaining('does not match the order total') });
        const messages = await db.query<{ payload: Record<string, unknown> }>(`select payload from private.outbox where topic = 'ops.stripe_event_rejected' and aggregate_id = $1`, [order.id]);
        expect(messages.map((m) => m.payload)).toEqual([{ event_id: event.id, type: 'payment_intent.succeeded', reason: expect.stringContaining('does not match') }]);
    });

    it('applies an event recorded earlier without being applied, counting the attempt, and only once', async () => {
        const order = await placeOrder(db, await customer(), line());
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: stripeId('pi'), amount: Number(order.total_amount) });
        expect(await service('select public.record_stripe_event_failure($1::jsonb, $2) as r', [JSON.stringify(event), 'boom'])).toEqual({
            r: { event_id: event.id, status: 'received', attempts: 1 },
        });
        expect(await receive(event)).toMatchObject({ status: 'applied', order_status: 'paid' });
        const [logged] = await db.query<{ status: string; attempts: number }>('select status, attempts from private.stripe_events where id = $1', [event.id]);
        expect(logged).toEqual({ status: 'applied', attempts: 2 });
        expect(await receive(event)).toMatchObject({ status: 'duplicate' });
    });

    it('never turns an applied event back into a failed one', async () => {
        const order = await placeOrder(db, await customer(), line());
        const event = stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent: stripeId('pi'), amount: Number(order.total_amount) });
        await receive(event);
        expect(await service('select public.record_stripe_event_failure($1::jsonb, $2) as r', [JSON.stringify(event), 'late failure'])).toMatchObject({
            r: { status: 'applied', attempts: 1 },
        });
    });
});

describe('refunds sent to Stripe', () => {
    async function requested(amount: number) {
        const order = await paidOrder(db, await customer(), line(2));
        const refund = await db.asUser(finance.token('aal2'), async (q) => (await q<{ id: string }>('select (public.request_refund($1, $2)).id', [order.id, amount]))[0]!);
        return { order, refund };
    }

    it('links a refund to its Stripe refund once; the same link again is fine, another is TB005', async () => {
        const { refund } = await requested(500);
        const stripeRefund = stripeId('re');
        expect(await service('select (public.link_stripe_refund($1, $2)).stripe_refund_id as id', [refund.id, stripeRefund])).toEqual({ id: stripeRefund });
        expect(await service('select (public.link_stripe_refund($1, $2)).status as status', [refund.id, stripeRefund])).toEqual({ status: 'pending' });
        await expect(service('select public.link_stripe_refund($1, $2)', [refund.id, stripeId('re')])).rejects.toMatchObject({ code: 'TB005' });
    });

    describe('with an idempotency key', () => {
        const request = (orderId: string, amount: number, key: string, reason: string | null = null) =>
            db.asUser(finance.token('aal2'), async (q) =>
                (await q<{ id: string; idempotency_key: string }>('select r.id, r.idempotency_key from public.request_refund($1, $2, $3, $4) r', [orderId, amount, reason, key]))[0]!,
            );
        const written = async (orderId: string) => ({
            refunds: await db.query<{ id: string }>('select id from public.refunds where order_id = $1', [orderId]),
            messages: await db.query<{ id: string }>(`select id from private.outbox where topic = 'stripe.refund.create' and aggregate_id = $1`, [orderId]),
        });

        it('a retried request returns the first refund and writes nothing more', async () => {
            const order = await paidOrder(db, await customer(), line(2));
            const first = await request(order.id, 500, 'double-click');
            expect(first.idempotency_key).toBe(`refund-request:${order.id}:double-click`);
            const before = await written(order.id);
            expect(await request(order.id, 500, 'double-click')).toEqual(first);
            expect(await written(order.id)).toEqual(before);
            expect(before.refunds).toHaveLength(1);
            expect(before.messages).toHaveLength(1);
        });

        it('concurrent requests with one key make one refund', async () => {
            const order = await paidOrder(db, await customer(), line(2));
            const answers = await Promise.all(Array.from({ length: 6 }, () => request(order.id, 300, 'race')));
            expect(new Set(answers.map((a) => a.id)).size).toBe(1);
            const after = await written(order.id);
            expect(after.refunds.map((r) => r.id)).toEqual([answers[0]!.id]);
            expect(after.messages).toHaveLength(1);
        });

        it('the key with another amount or reason is TB005 and changes nothing; the key of another order is its own', async () => {
            const order = await paidOrder(db, await customer(), line(2));
            await request(order.id, 500, 'k');
            const before = await written(order.id);
            await expect(request(order.id, 600, 'k')).rejects.toMatchObject({ code: 'TB005' });
            await expect(request(order.id, 500, 'k', 'duplicate')).rejects.toMatchObject({ code: 'TB005' });
            expect(await written(order.id)).toEqual(before);
            const other = await paidOrder(db, await customer(), line(2));
            await expect(request(other.id, 500, 'k')).resolves.toMatchObject({ idempotency_key: `refund-request:${other.id}:k` });
        });

        it('refuses an empty or over-long key with 22023', async () => {
            const order = await paidOrder(db, await customer(), line(2));
            await expect(request(order.id, 500, '')).rejects.toMatchObject({ code: '22023' });
            await expect(request(order.id, 500, 'k'.repeat(201))).rejects.toMatchObject({ code: '22023' });
            expect((await written(order.id)).refunds).toEqual([]);
        });
    });

    it('fails a refund Stripe refused, which makes its amount refundable again', async () => {
        const { order, refund } = await requested(9000);
        const again = () => db.asUser(finance.token('aal2'), (q) => q('select (public.request_refund($1, 9000)).id', [order.id]));
        await expect(again()).rejects.toMatchObject({ code: 'TB004' });
        expect(await service('select (public.fail_refund($1, $2)).status as status', [refund.id, 'charge_already_refunded'])).toEqual({ status: 'failed' });
        await expect(again()).resolves.toHaveLength(1);
        await expect(service('select public.fail_refund($1, $2)', [refund.id, 'twice'])).rejects.toMatchObject({ code: 'TB001' });
    });
});
