// The invariants of docs/domain.md, one test each, each trying to break it — with real
// concurrency (separate connections) where it matters.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import {
    applyEvent,
    createShop,
    createStaff,
    paidOrder,
    placeOrder,
    setShopSettings,
    snapshot,
    stripeEvent,
    stripeId,
    type Shop,
    type Staff,
} from '../../harness/commerce-shop.js';

const db = useTestDatabase();

let shop: Shop;
let ada: TestUser;
let finance: Staff;
let admin: Staff;

beforeAll(async () => {
    shop = await createShop(db);
    ada = await db.createUser({ email: 'ada@example.test' });
    finance = await createStaff(db, 'finance');
    admin = await createStaff(db, 'admin');
    // These invariants hold whatever the shop's limits; they are lifted here so one customer
    // can place many orders of any size (the limits have their own tests in hoarding.test.ts).
    await setShopSettings(db, { max_unpaid_orders: 1000, max_quantity_per_variant: 1000 });
});

/** A variant of its own with `onHand` units, so tests do not share stock. */
async function variantWithStock(onHand: number, price = 1000): Promise<{ id: string; sku: string }> {
    const sku = `SKU-${randomUUID().slice(0, 8)}`;
    const [row] = await db.query<{ id: string }>(
        `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, $2, $3, 'EUR') returning id`,
        [shop.productId, sku, price],
    );
    await db.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)', [row!.id, onHand]);
    return { id: row!.id, sku };
}

async function level(variantId: string): Promise<{ on_hand: number; reserved: number; in_stock: boolean }> {
    const [row] = await db.query<{ on_hand: number; reserved: number; in_stock: boolean }>(
        `select l.on_hand, l.reserved, v.in_stock from public.inventory_levels l join public.product_variants v on v.id = l.variant_id
         where l.variant_id = $1`,
        [variantId],
    );
    return row!;
}

async function order(id: string): Promise<Record<string, unknown>> {
    const [row] = await db.query(
        `select o.status, o.payment_status, p.status as payment_state, p.amount_authorized, p.amount_captured, p.amount_refunded
         from public.orders o left join public.payments p on p.order_id = o.id where o.id = $1`,
        [id],
    );
    return row!;
}

function quantile(sorted: number[], q: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe('invariant 1: no oversell', () => {
    it('50 parallel connections buying the last 10 units: exactly 10 orders, stock ends at zero', async () => {
        const variant = await variantWithStock(10);
        const buyers = await Promise.all(Array.from({ length: 50 }, (_, i) => db.createUser({ email: `buyer-${i}-${randomUUID().slice(0, 4)}@example.test` })));
        // Open and warm 50 connections first (each buys one unit of a well-stocked variant),
        // so the figure is contended place_order on warm backends, not connection setup.
        const warm = await variantWithStock(1000);
        await Promise.all(buyers.map((buyer) => placeOrder(db, buyer, [{ variant_id: warm.id, quantity: 1 }])));
        const timings: number[] = [];
        const started = performance.now();
        const results = await Promise.allSettled(
            buyers.map(async (buyer) => {
                const t0 = performance.now();
                try {
                    return await placeOrder(db, buyer, [{ variant_id: variant.id, quantity: 1 }]);
                } finally {
                    timings.push(performance.now() - t0);
                }
            }),
        );
        const wall = performance.now() - started;
        const placed = results.filter((r) => r.status === 'fulfilled');
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(placed).toHaveLength(10);
        expect(rejected.map((r) => (r.reason as { code: string }).code)).toEqual(Array(40).fill('TB002'));
        expect(await level(variant.id)).toEqual({ on_hand: 10, reserved: 10, in_stock: false });

        timings.sort((x, y) => x - y);
        console.log(
            `place_order under 50-connection contention for the last 10 units: wall ${wall.toFixed(0)} ms; ` +
                `per call p50 ${quantile(timings, 0.5).toFixed(1)} ms, p95 ${quantile(timings, 0.95).toFixed(1)} ms, ` +
                `max ${timings[timings.length - 1]!.toFixed(1)} ms`,
        );

        // Paying the ten sells the stock: on_hand and reserved both reach zero.
        for (const r of placed) {
            const o = (r as PromiseFulfilledResult<{ id: string; total_amount: string }>).value;
            await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: o.id, paymentIntent: stripeId('pi'), amount: Number(o.total_amount) }));
        }
        expect(await level(variant.id)).toEqual({ on_hand: 0, reserved: 0, in_stock: false });
        const [ledger] = await db.query<{ sold: number }>(
            `select sum(quantity)::int as sold from public.inventory_movements where variant_id = $1 and kind = 'sale'`,
            [variant.id],
        );
        expect(ledger!.sold).toBe(-10);
    });

    it('an order reserves every line or none: a short line fails the whole order', async () => {
        const plenty = await variantWithStock(5);
        const scarce = await variantWithStock(1);
        await expect(
            placeOrder(db, ada, [
                { variant_id: plenty.id, quantity: 2 },
                { variant_id: scarce.id, quantity: 2 },
            ]),
        ).rejects.toMatchObject({ code: 'TB002' });
        expect(await level(plenty.id)).toMatchObject({ on_hand: 5, reserved: 0 });
        expect(await level(scarce.id)).toMatchObject({ on_hand: 1, reserved: 0 });
    });

    it('quantities are summed per variant before reserving', async () => {
        const variant = await variantWithStock(10);
        await expect(
            placeOrder(db, ada, [
                { variant_id: variant.id, quantity: 6 },
                { variant_id: variant.id, quantity: 6 },
            ]),
        ).rejects.toMatchObject({ code: 'TB002' });
        const placed = await placeOrder(db, ada, [
            { variant_id: variant.id, quantity: 5 },
            { variant_id: variant.id, quantity: 5 },
        ]);
        const items = await db.query('select quantity from public.order_items where order_id = $1', [placed.id]);
        expect(items).toEqual([{ quantity: 10 }]);
        expect(await level(variant.id)).toMatchObject({ on_hand: 10, reserved: 10 });
    });

    it('stock never goes negative and reserved never exceeds on hand, whoever writes', async () => {
        const variant = await variantWithStock(3);
        await placeOrder(db, ada, [{ variant_id: variant.id, quantity: 2 }]);
        await expect(db.asService((q) => q('update public.inventory_levels set on_hand = -1 where variant_id = $1', [variant.id]))).rejects.toMatchObject({ code: '23514' });
        await expect(db.asService((q) => q('update public.inventory_levels set reserved = 4 where variant_id = $1', [variant.id]))).rejects.toMatchObject({
            code: '23514',
            constraint: 'inventory_levels_reserved_within_on_hand',
        });
        await expect(
            db.asUser(admin.token(), (q) => q(`select public.adjust_inventory($1, -2, 'shrinkage')`, [variant.id])),
        ).rejects.toMatchObject({ code: '23514' });
        expect(await level(variant.id)).toMatchObject({ on_hand: 3, reserved: 2 });
    });

    it('the same idempotency key from 5 parallel requests makes one order and one reservation', async () => {
        const variant = await variantWithStock(10);
        const key = randomUUID();
        const results = await Promise.all(Array.from({ length: 5 }, () => placeOrder(db, ada, [{ variant_id: variant.id, quantity: 3 }], key)));
        expect(new Set(results.map((r) => r.id)).size).toBe(1);
        expect(await level(variant.id)).toMatchObject({ reserved: 3 });
        await expect(placeOrder(db, ada, [{ variant_id: variant.id, quantity: 4 }], key)).rejects.toMatchObject({ code: 'TB005' });
        expect(await level(variant.id)).toMatchObject({ reserved: 3 });
    });
});

describe('invariant 2: one payment per order', () => {
    it('a second, different PaymentIntent for the same order is refused; the same one again is a no-op', async () => {
        const placed = await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const pi = stripeId('pi');
        const first = await db.asService((q) => q<{ id: string }>('select (public.attach_payment($1, $2)).id', [placed.id, pi]));
        const again = await db.asService((q) => q<{ id: string }>('select (public.attach_payment($1, $2)).id', [placed.id, pi]));
        expect(again).toEqual(first);
        await expect(db.asService((q) => q('select public.attach_payment($1, $2)', [placed.id, stripeId('pi')]))).rejects.toMatchObject({ code: 'TB005' });
        expect(await db.query('select 1 from public.payments where order_id = $1', [placed.id])).toHaveLength(1);
    });
});

describe('invariant 3: every Stripe event applies at most once', () => {
    it('the same event applied 5 times (twice sequentially, three times in parallel) has one effect', async () => {
        const variant = await variantWithStock(5);
        const placed = await placeOrder(db, ada, [{ variant_id: variant.id, quantity: 2 }]);
        const event = stripeEvent('payment_intent.succeeded', { orderId: placed.id, paymentIntent: stripeId('pi'), amount: Number(placed.total_amount) });
        const outcomes = [await applyEvent(db, event), await applyEvent(db, event)];
        outcomes.push(...(await Promise.all([applyEvent(db, event), applyEvent(db, event), applyEvent(db, event)])));
        expect(outcomes.map((o) => o.status).sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
        expect(await order(placed.id)).toMatchObject({ status: 'paid', payment_status: 'captured', amount_captured: placed.total_amount });
        expect(await level(variant.id)).toMatchObject({ on_hand: 3, reserved: 0 });
        const [counts] = await db.query<Record<string, number>>(
            `select (select count(*)::int from private.stripe_events where id = $1) as events,
                    (select count(*)::int from private.outbox where aggregate_id = $2) as messages,
                    (select count(*)::int from public.inventory_movements where order_id = $2) as movements`,
            [event.id, placed.id],
        );
        expect(counts).toEqual({ events: 1, messages: 2, movements: 1 });
    });

    it('events applied in reverse order end in the newest state, the same as in order', async () => {
        const run = async (reverse: boolean) => {
            const placed = await placeOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 2 }]);
            const amount = Number(placed.total_amount);
            const paymentIntent = stripeId('pi');
            const t = 1_763_754_000;
            const events = [
                stripeEvent('payment_intent.amount_capturable_updated', { orderId: placed.id, paymentIntent, amount, created: t }),
                stripeEvent('payment_intent.succeeded', { orderId: placed.id, paymentIntent, amount, created: t + 60 }),
                stripeEvent('charge.refunded', { orderId: placed.id, paymentIntent, amount, amountRefunded: 1000, created: t + 120 }),
                stripeEvent('charge.refunded', { orderId: placed.id, paymentIntent, amount, amountRefunded: 2500, created: t + 180 }),
            ];
            for (const event of reverse ? events.reverse() : events) await applyEvent(db, event);
            return order(placed.id);
        };
        const forward = await run(false);
        const backward = await run(true);
        expect(forward).toMatchObject({ status: 'paid', payment_status: 'partially_refunded', amount_refunded: '2500' });
        expect(backward).toEqual(forward);
    });

    it('an older failure or cancellation after a success never moves the order back', async () => {
        const placed = await placeOrder(db, ada, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const paymentIntent = stripeId('pi');
        await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: placed.id, paymentIntent, amount: Number(placed.total_amount) }));
        const failed = await applyEvent(db, stripeEvent('payment_intent.payment_failed', { orderId: placed.id, paymentIntent }));
        const canceled = await applyEvent(db, stripeEvent('payment_intent.canceled', { orderId: placed.id, paymentIntent }));
        expect([failed.status, canceled.status]).toEqual(['stale', 'stale']);
        expect(await order(placed.id)).toMatchObject({ status: 'paid', payment_status: 'captured' });
    });
});

describe('invariant 4: reservations end', () => {
    it('paid → consumed, expired → released by the expiry job at its deadline (clock passed in)', async () => {
        const variant = await variantWithStock(4);
        const now = new Date('2026-11-21T12:00:00Z');
        const paid = await placeOrder(db, ada, [{ variant_id: variant.id, quantity: 1 }]);
        await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: paid.id, paymentIntent: stripeId('pi'), amount: Number(paid.total_amount) }));
        // The backend's clock (the service role acting for Ada): customers' p_now is ignored.
        const unpaid = await db.asRole('service_role', ada.claims(), async (q) => {
            const [row] = await q<{ id: string }>(
                `select id from public.place_order($1, p_items => $2::jsonb, p_reservation_ttl => interval '15 minutes', p_now => $3)`,
                [randomUUID(), JSON.stringify([{ variant_id: variant.id, quantity: 2 }]), now],
            );
            return row!;
        });
        const expire = (at: Date) => db.asService((q) => q<{ r: { expired_orders: number } }>('select public.expire_reservations($1) as r', [at]));
        await expire(new Date(now.getTime() + 14 * 60_000));
        expect(await order(unpaid.id)).toMatchObject({ status: 'pending_payment' });
        await expire(new Date(now.getTime() + 15 * 60_000));
        expect(await order(unpaid.id)).toMatchObject({ status: 'expired' });
        const reservations = await db.query<{ order_id: string; status: string }>(
            'select order_id, status from public.inventory_reservations where variant_id = $1 order by status',
            [variant.id],
        );
        expect(reservations.map((r) => [r.order_id, r.status])).toEqual([
            [paid.id, 'consumed'],
            [unpaid.id, 'expired'],
        ]);
        expect(await level(variant.id)).toMatchObject({ on_hand: 3, reserved: 0 });
    });

    it('an expired Checkout Session or a canceled PaymentIntent releases the stock', async () => {
        const variant = await variantWithStock(4);
        const viaSession = await placeOrder(db, ada, [{ variant_id: variant.id, quantity: 1 }]);
        const viaIntent = await placeOrder(db, ada, [{ variant_id: variant.id, quantity: 2 }]);
        const session = stripeId('cs_test');
        await db.asService((q) => q('select public.attach_payment($1, p_checkout_session_id => $2)', [viaSession.id, session]));
        await applyEvent(db, stripeEvent('checkout.session.expired', { orderId: viaSession.id, checkoutSession: session }));
        await applyEvent(db, stripeEvent('payment_intent.canceled', { orderId: viaIntent.id, paymentIntent: stripeId('pi') }));
        expect(await order(viaSession.id)).toMatchObject({ status: 'expired', payment_state: 'canceled' });
        expect(await order(viaIntent.id)).toMatchObject({ status: 'canceled' });
        expect(await level(variant.id)).toMatchObject({ on_hand: 4, reserved: 0 });
    });
});

describe('invariant 5: money adds up', () => {
    it('refunds beyond the captured amount are rejected, by the API, by events and by constraint', async () => {
        const paid = await paidOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const refund = (amount: number) =>
            db.asUser(finance.token('aal2'), (q) => q<{ id: string }>('select (public.request_refund($1, $2)).id', [paid.id, amount]));
        await expect(refund(4501)).rejects.toMatchObject({ code: 'TB004' });
        await refund(4000);
        await expect(refund(501)).rejects.toMatchObject({ code: 'TB004' });

        const before = await snapshot(db);
        const overRefunded = await applyEvent(db, stripeEvent('charge.refunded', { orderId: paid.id, paymentIntent: paid.paymentIntent, amount: 4500, amountRefunded: 9000 }));
        expect(overRefunded.status).toBe('rejected');
        const after = await snapshot(db);
        expect({ ...after, 'private.stripe_events': '' }).toEqual({ ...before, 'private.stripe_events': '' });

        await expect(
            db.asService((q) => q('update public.payments set amount_refunded = amount_captured + 1 where order_id = $1', [paid.id])),
        ).rejects.toMatchObject({ code: '23514', constraint: 'payments_amounts_add_up' });
        await expect(
            db.asService((q) => q('update public.payments set amount_captured = amount + 1, amount_authorized = amount + 1 where order_id = $1', [paid.id])),
        ).rejects.toMatchObject({ code: '23514', constraint: 'payments_amounts_add_up' });
    });

    it('totals that do not add up are rejected: order total, lines vs subtotal, line total, payment amount', async () => {
        const insertOrder = (q: (sql: string, params?: unknown[]) => Promise<unknown[]>, subtotal: number, total: number) =>
            q(
                `insert into public.orders (number, user_id, currency, subtotal_amount, shipping_amount, tax_amount, total_amount, email, idempotency_key, expires_at)
                 values ('T-' || md5(random()::text), $1, 'EUR', $2, 500, 100, $3, 'ada@example.test', md5(random()::text), now()) returning id`,
                [ada.id, subtotal, total],
            ) as Promise<Array<{ id: string }>>;
        await expect(db.asService((q) => insertOrder(q, 1000, 1500))).rejects.toMatchObject({ code: '23514', constraint: 'orders_total_adds_up' });
        await expect(
            db.asService(async (q) => {
                const [o] = await insertOrder(q, 1000, 1600);
                await q(
                    `insert into public.order_items (order_id, sku, name, unit_price_amount, currency, quantity, line_total_amount)
                     values ($1, 'X', 'X', 300, 'EUR', 3, 900)`,
                    [o!.id],
                );
            }),
        ).rejects.toMatchObject({ code: '23514', constraint: 'orders_subtotal_matches_lines' });
        await expect(
            db.asService(async (q) => {
                const [o] = await insertOrder(q, 1000, 1600);
                await q(
                    `insert into public.order_items (order_id, sku, name, unit_price_amount, currency, quantity, line_total_amount)
                     values ($1, 'X', 'X', 300, 'EUR', 3, 1000)`,
                    [o!.id],
                );
            }),
        ).rejects.toMatchObject({ code: '23514', constraint: 'order_items_line_total_adds_up' });

        const placed = await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        await expect(
            db.asService((q) =>
                q(`insert into public.payments (order_id, stripe_payment_intent_id, currency, amount) values ($1, $2, 'EUR', $3)`, [
                    placed.id,
                    stripeId('pi'),
                    Number(placed.total_amount) - 1,
                ]),
            ),
        ).rejects.toMatchObject({ code: '23503', constraint: 'payments_order_total_fkey' });
        const mismatch = await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: placed.id, paymentIntent: stripeId('pi'), amount: 1 }));
        expect(mismatch.status).toBe('rejected');
        expect(await order(placed.id)).toMatchObject({ status: 'pending_payment', payment_status: 'unpaid' });
    });
});

describe('invariant 6: nothing sent twice, nothing lost (outbox)', () => {
    const enqueue = async (topic: string, count: number, aggregate?: string) => {
        const rows = await db.query<{ id: string }>(
            `insert into private.outbox (topic, aggregate_type, aggregate_id, payload, idempotency_key)
             select $1, 'order', coalesce($3::uuid, gen_random_uuid()), jsonb_build_object('n', n), $1 || ':' || gen_random_uuid()
             from generate_series(1, $2) n returning id`,
            [topic, count, aggregate ?? null],
        );
        return rows.map((r) => r.id);
    };
    // Rows become due at the database's now() (microseconds); a JS Date drops the sub-millisecond
    // part and can fall just before it, so claim one millisecond later.
    const afterEnqueue = () => new Date(Date.now() + 1);
    const claim = (topic: string, now: Date, limit = 10, visibility = '30 seconds') =>
        db.asService((q) =>
            q<{ id: string; attempts: number }>('select id, attempts from public.claim_outbox_batch($1, $2, $3::interval, null, $4)', [
                topic,
                limit,
                visibility,
                now,
            ]),
        );

    it('a paid order writes its confirmation email and ERP upsert in the same transaction, keyed once', async () => {
        const paid = await paidOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        const rows = await db.query<{ topic: string; idempotency_key: string }>(
            'select topic, idempotency_key from private.outbox where aggregate_id = $1 order by topic',
            [paid.id],
        );
        expect(rows).toEqual([
            { topic: 'email.order_confirmation', idempotency_key: `email.order_confirmation:${paid.id}` },
            { topic: 'erp.order.upsert', idempotency_key: `erp.order.upsert:${paid.id}:v2` },
        ]);
    });

    it('two workers claiming the same topic concurrently never get the same row, and together get all', async () => {
        const topic = 'test.concurrent';
        const ids = await enqueue(topic, 200);
        const now = afterEnqueue();
        const worker = async () => {
            const got: string[] = [];
            for (;;) {
                const batch = await claim(topic, now, 7);
                if (batch.length === 0) return got;
                got.push(...batch.map((r) => r.id));
            }
        };
        const [first, second] = await Promise.all([worker(), worker()]);
        expect(first!.filter((id) => second!.includes(id))).toEqual([]);
        expect([...first!, ...second!].sort()).toEqual([...ids].sort());
    });

    it('at most one message per order and topic is in flight; the next waits for it', async () => {
        const topic = 'test.ordered';
        const aggregate = randomUUID();
        const [m1, m2] = await enqueue(topic, 3, aggregate);
        const now = afterEnqueue();
        expect((await claim(topic, now)).map((r) => r.id)).toEqual([m1]);
        expect(await claim(topic, now)).toEqual([]);
        await expect(db.asService((q) => q(`update private.outbox set status = 'processing', locked_until = now() where id = $1`, [m2]))).rejects.toMatchObject({
            code: '23505',
        });
        await db.asService((q) => q('select public.complete_outbox_message($1)', [m1]));
        expect((await claim(topic, now)).map((r) => r.id)).toEqual([m2]);
    });

    it('a claimed row whose worker died becomes claimable after the visibility timeout', async () => {
        const topic = 'test.visibility';
        const [id] = await enqueue(topic, 1);
        // The clock is an argument: "now" is a minute ahead of the enqueue, then moves on.
        const t0 = new Date(Date.now() + 60_000);
        expect(await claim(topic, t0, 10, '30 seconds')).toEqual([{ id, attempts: 1 }]);
        expect(await claim(topic, new Date(t0.getTime() + 29_000))).toEqual([]);
        expect(await claim(topic, new Date(t0.getTime() + 30_000))).toEqual([{ id, attempts: 2 }]);
    });

    it('a row failing N times backs off exponentially with jitter, ends dead, and replay re-queues it', async () => {
        const paid = await paidOrder(db, ada, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const [message] = await db.query<{ id: string; max_attempts: number }>(
            `select id, max_attempts from private.outbox where aggregate_id = $1 and topic = 'erp.order.upsert'`,
            [paid.id],
        );
        let now = new Date(Date.now() + 60_000);
        for (let attempt = 1; attempt <= message!.max_attempts; attempt++) {
            const claimed = await claim('erp.order.upsert', now, 50);
            expect(claimed.map((r) => r.id)).toContain(message!.id);
            expect(await db.query('select erp_status from public.orders where id = $1', [paid.id])).toEqual([{ erp_status: 'queued' }]);
            const [failed] = await db.asService((q) =>
                q<{ r: { status: string; next_attempt_at: string } }>(`select public.fail_outbox_message($1, 'ERP 503', $2) as r`, [message!.id, now]),
            );
            const r = failed!.r;
            if (attempt < message!.max_attempts) {
                const delay = (new Date(r.next_attempt_at).getTime() - now.getTime()) / 1000;
                const full = Math.min(3600, 5 * 2 ** (attempt - 1));
                expect(r.status).toBe('pending');
                expect(await db.query('select erp_status from public.orders where id = $1', [paid.id])).toEqual([{ erp_status: 'failed' }]);
                expect(delay).toBeGreaterThanOrEqual(full / 2);
                expect(delay).toBeLessThanOrEqual(full);
                // Postgres keeps microseconds, Date milliseconds: step just past the due time.
                now = new Date(new Date(r.next_attempt_at).getTime() + 1);
            } else {
                expect(r.status).toBe('dead');
            }
        }
        expect(await db.query('select erp_status from public.orders where id = $1', [paid.id])).toEqual([{ erp_status: 'dead' }]);
        expect((await claim('erp.order.upsert', new Date(now.getTime() + 86_400_000), 50)).map((r) => r.id)).not.toContain(message!.id);

        await db.asUser(admin.token('aal2'), (q) => q('select public.replay_outbox_message($1, $2)', [message!.id, now]));
        expect(await db.query('select erp_status from public.orders where id = $1', [paid.id])).toEqual([{ erp_status: 'queued' }]);
        const again = await claim('erp.order.upsert', now, 50);
        expect(again.find((r) => r.id === message!.id)).toEqual({ id: message!.id, attempts: 1 });
        await db.asService((q) => q(`select public.complete_outbox_message($1, '{"erp_document_id": "SO-4711"}', $2)`, [message!.id, now]));
        expect(await db.query('select erp_status from public.orders where id = $1', [paid.id])).toEqual([{ erp_status: 'synced' }]);
        expect(await db.query('select erp_document_id from private.erp_links where order_id = $1', [paid.id])).toEqual([{ erp_document_id: 'SO-4711' }]);
    });
});

describe('invariant 7: customers cannot write status, amounts, owner, role or stock', () => {
    it('not through the tables, not through rpc', async () => {
        const placed = await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const before = await snapshot(db);
        const attacks = [
            `update public.orders set status = 'paid', payment_status = 'captured' where id = '${placed.id}'`,
            `update public.orders set total_amount = 1 where id = '${placed.id}'`,
            `update public.orders set user_id = gen_random_uuid() where id = '${placed.id}'`,
            `insert into public.staff (user_id, role) values ('${ada.id}', 'admin')`,
            `update public.inventory_levels set on_hand = 1000`,
            `select public.adjust_inventory('${shop.variants[0]!.id}', 1000, 'free stock', 'receipt')`,
            `select public.apply_stripe_event('{"id": "evt_x", "type": "payment_intent.succeeded", "created": 1, "data": {"object": {}}}')`,
            `select public.set_fulfillment_status('${placed.id}', 'shipped')`,
        ];
        for (const sql of attacks) {
            await expect(db.asUser(ada, (q) => q(sql)), sql).rejects.toMatchObject({ code: '42501' });
        }
        expect(await snapshot(db)).toEqual(before);
    });
});
