// The SQL API's transitions as the roles that call them, and the illegal moves each
// one refuses with its SQLSTATE.
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
    stripeEvent,
    stripeId,
    type Shop,
    type Staff,
} from '../../harness/commerce-shop.js';

const db = useTestDatabase();

let shop: Shop;
let ada: TestUser;
let warehouse: Staff;
let finance: Staff;

beforeAll(async () => {
    shop = await createShop(db);
    ada = await db.createUser({ email: 'ada@example.test', userMetadata: { full_name: 'Ada Lovelace' } });
    warehouse = await createStaff(db, 'warehouse');
    finance = await createStaff(db, 'finance');
    // Ada places many orders here; the shop's limits have their own tests (hoarding.test.ts).
    await setShopSettings(db, { max_unpaid_orders: 1000 });
});

async function orderRow(id: string) {
    const [row] = await db.query<Record<string, unknown>>('select * from public.orders where id = $1', [id]);
    return row!;
}

describe('people', () => {
    it('a profile is created with the user, from the auth row', async () => {
        const profile = await db.asUser(ada, (q) => q('select id, email, full_name from public.profiles'));
        expect(profile).toEqual([{ id: ada.id, email: 'ada@example.test', full_name: 'Ada Lovelace' }]);
    });

    it('a customer updates the profile fields they own', async () => {
        await db.asUser(ada, (q) => q(`update public.profiles set phone = '+44 20 7946 0000' where id = $1`, [ada.id]));
        expect(await db.query('select phone from public.profiles where id = $1', [ada.id])).toEqual([{ phone: '+44 20 7946 0000' }]);
    });
});

describe('deleting users', () => {
    it('a user without orders is deleted with their profile and carts; one with orders is anonymised, the orders kept', async () => {
        const browser = await db.createUser();
        await db.asUser(browser, (q) => q('insert into public.carts default values'));
        await db.query('delete from auth.users where id = $1', [browser.id]);
        expect(await db.query('select 1 from public.profiles where id = $1 union all select 1 from public.carts where user_id = $1', [browser.id])).toEqual([]);

        const buyer = await db.createUser();
        const order = await placeOrder(db, buyer, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        await db.query('delete from auth.users where id = $1', [buyer.id]);
        expect(await db.query('select user_id, email, status from public.orders where id = $1', [order.id])).toEqual([
            { user_id: null, email: 'erased@erased.invalid', status: 'canceled' },
        ]);
    });
});

describe('catalog for visitors', () => {
    it('visitors see active variants with prices and whether they are in stock, never counts or costs', async () => {
        const variants = await db.asAnon((q) =>
            q<Record<string, unknown>>('select * from public.product_variants where product_id = $1 order by price_amount', [shop.productId]),
        );
        expect(variants.map((v) => [v.sku, v.price_amount, v.in_stock])).toEqual(shop.variants.map((v) => [v.sku, String(v.price), true]));
        expect(Object.keys(variants[0]!)).not.toContain('cost_amount');
        await expect(db.asAnon((q) => q('select * from public.inventory_levels'))).rejects.toMatchObject({ code: '42501' });
        await expect(db.asAnon((q) => q('select * from public.variant_costs'))).rejects.toMatchObject({ code: '42501' });
        expect(await db.asUser(ada, (q) => q('select * from public.inventory_levels'))).toEqual([]);
    });
});

describe('place_order', () => {
    it('turns the caller\'s cart into an order priced from the catalog and converts the cart', async () => {
        const cart = await db.asUser(ada, async (q) => {
            const [c] = await q<{ id: string }>('insert into public.carts default values returning id');
            await q('insert into public.cart_items (cart_id, variant_id, quantity) values ($1, $2, 2), ($1, $3, 1)', [
                c!.id,
                shop.variants[0]!.id,
                shop.variants[1]!.id,
            ]);
            return c!;
        });
        const order = await db.asUser(ada, async (q) => {
            const [o] = await q<Record<string, unknown>>(`select * from public.place_order('cart-order', p_cart_id => $1)`, [cart.id]);
            return o!;
        });
        expect(order).toMatchObject({
            user_id: ada.id,
            status: 'pending_payment',
            payment_status: 'unpaid',
            currency: 'EUR',
            subtotal_amount: String(2 * 4500 + 4700),
            total_amount: String(2 * 4500 + 4700),
            email: 'ada@example.test',
        });
        expect(order.number).toMatch(/^TB-\d{6}$/);
        expect(await db.query('select status from public.carts where id = $1', [cart.id])).toEqual([{ status: 'converted' }]);
        await expect(db.asUser(ada, (q) => q('insert into public.cart_items (cart_id, variant_id, quantity) values ($1, $2, 1)', [cart.id, shop.variants[2]!.id]))).rejects.toMatchObject({
            code: '42501',
        });
    });

    it('ignores any price the client sends', async () => {
        const order = await db.asUser(ada, async (q) => {
            const [o] = await q<{ total_amount: string }>(`select total_amount from public.place_order($1, p_items => $2::jsonb)`, [
                randomUUID(),
                JSON.stringify([{ variant_id: shop.variants[2]!.id, quantity: 1, unit_price_amount: 1, price_amount: 1 }]),
            ]);
            return o!;
        });
        expect(order.total_amount).toBe('4900');
    });

    it.each([
        ['no lines', [], 'TB007'],
        ['a zero quantity', [{ quantity: 0 }], '22023'],
        ['a fractional quantity', [{ quantity: 1.5 }], '22023'],
        ['a retired variant', [{ retired: true, quantity: 1 }], 'TB003'],
    ])('refuses an order with %s', async (_name, lines, code) => {
        const items = (lines as Array<{ quantity: number; retired?: boolean }>).map((l) => ({
            variant_id: l.retired ? shop.retired.id : shop.variants[0]!.id,
            quantity: l.quantity,
        }));
        await expect(placeOrder(db, ada, items)).rejects.toMatchObject({ code });
    });

    it('refuses a reservation time outside 1 minute to 24 hours', async () => {
        for (const ttl of ['7 days', '30 seconds']) {
            await expect(
                db.asUser(ada, (q) =>
                    q(`select public.place_order($1, p_items => $2::jsonb, p_reservation_ttl => $3::interval)`, [
                        randomUUID(),
                        JSON.stringify([{ variant_id: shop.variants[0]!.id, quantity: 1 }]),
                        ttl,
                    ]),
                ),
            ).rejects.toMatchObject({ code: '22023' });
        }
    });

    it('refuses visitors', async () => {
        await expect(
            db.asAnon((q) => q(`select public.place_order('k', p_items => '[]'::jsonb)`)),
        ).rejects.toMatchObject({ code: '42501' });
    });
});

describe('payment flow through Stripe events', () => {
    it('a Checkout Session: attach, complete, and the order is paid with its PaymentIntent recorded', async () => {
        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const session = stripeId('cs_test');
        const paymentIntent = stripeId('pi');
        await db.asService((q) => q('select public.attach_payment($1, p_checkout_session_id => $2)', [order.id, session]));
        const result = await applyEvent(
            db,
            stripeEvent('checkout.session.completed', { orderId: order.id, checkoutSession: session, paymentIntent, amount: Number(order.total_amount) }),
        );
        expect(result).toMatchObject({ status: 'applied', order_status: 'paid', payment_status: 'captured' });
        expect(await db.query('select stripe_payment_intent_id, status from public.payments where order_id = $1', [order.id])).toEqual([
            { stripe_payment_intent_id: paymentIntent, status: 'succeeded' },
        ]);
    });

    it('a Checkout Session paid by a delayed method: completed unpaid, then the async result decides', async () => {
        const settle = async (outcome: 'checkout.session.async_payment_succeeded' | 'checkout.session.async_payment_failed') => {
            const order = await placeOrder(db, ada, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
            const session = stripeId('cs_test');
            const paymentIntent = stripeId('pi');
            const amount = Number(order.total_amount);
            const completed = stripeEvent('checkout.session.completed', { orderId: order.id, checkoutSession: session, paymentIntent, amount });
            completed.data.object.payment_status = 'unpaid';
            expect(await applyEvent(db, completed)).toMatchObject({ status: 'applied', order_status: 'pending_payment', payment_status: 'unpaid' });
            return applyEvent(db, stripeEvent(outcome, { orderId: order.id, checkoutSession: session, paymentIntent, amount }));
        };
        expect(await settle('checkout.session.async_payment_succeeded')).toMatchObject({ order_status: 'paid', payment_status: 'captured' });
        expect(await settle('checkout.session.async_payment_failed')).toMatchObject({ order_status: 'pending_payment', payment_status: 'failed' });
    });

    it('a failed payment keeps the order open for a retry, and a later success pays it', async () => {
        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        const paymentIntent = stripeId('pi');
        const failed = await applyEvent(db, stripeEvent('payment_intent.payment_failed', { orderId: order.id, paymentIntent }));
        expect(failed).toMatchObject({ status: 'applied', order_status: 'pending_payment', payment_status: 'failed' });
        expect(await db.query(`select payload from private.outbox where aggregate_id = $1 and topic = 'email.payment_failed'`, [order.id])).toEqual([
            { payload: { order_id: order.id, message: 'Your card has insufficient funds.' } },
        ]);
        const paid = await applyEvent(db, stripeEvent('payment_intent.succeeded', { orderId: order.id, paymentIntent, amount: Number(order.total_amount) }));
        expect(paid).toMatchObject({ order_status: 'paid', payment_status: 'captured' });
    });

    it('an authorization extends the reservation, so the expiry job leaves the order alone', async () => {
        const now = Date.now();
        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        await applyEvent(
            db,
            stripeEvent('payment_intent.amount_capturable_updated', { orderId: order.id, paymentIntent: stripeId('pi'), amount: Number(order.total_amount), created: Math.floor(now / 1000) }),
        );
        await db.asService((q) => q('select public.expire_reservations($1)', [new Date(now + 86_400_000)]));
        expect(await orderRow(order.id)).toMatchObject({ status: 'pending_payment', payment_status: 'authorized' });
    });

    it('unhandled event types are recorded and ignored', async () => {
        const event = stripeEvent('customer.created');
        expect(await applyEvent(db, event)).toMatchObject({ status: 'ignored', type: 'customer.created' });
        expect(await db.query('select status from private.stripe_events where id = $1', [event.id])).toEqual([{ status: 'ignored' }]);
    });

    it('rejects a payload that is not a Stripe event', async () => {
        await expect(db.asService((q) => q(`select public.apply_stripe_event('{"type": "payment_intent.succeeded"}')`))).rejects.toMatchObject({
            code: '22023',
        });
    });

    it('a dispute is recorded on the payment and announced to staff, once', async () => {
        const order = await paidOrder(db, ada, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        const event = stripeEvent('charge.dispute.created', { orderId: null, paymentIntent: order.paymentIntent });
        expect(await applyEvent(db, event)).toMatchObject({ status: 'applied', order_id: order.id });
        expect(await applyEvent(db, stripeEvent('charge.dispute.created', { orderId: null, paymentIntent: order.paymentIntent }))).toMatchObject({
            status: 'stale',
        });
        expect(await db.query('select dispute_reason from public.payments where order_id = $1', [order.id])).toEqual([{ dispute_reason: 'fraudulent' }]);
    });
});

describe('refunds', () => {
    it('finance with MFA requests a refund; Stripe\'s refund.updated confirms it; a full refund before shipping cancels and restocks', async () => {
        const before = await db.query<{ on_hand: number }>('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants[0]!.id]);
        const order = await paidOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 2 }]);
        const refund = await db.asUser(finance.token('aal2'), async (q) => {
            const [r] = await q<{ id: string; status: string; idempotency_key: string }>(
                `select id, status, idempotency_key from public.request_refund($1, 9000, 'customer changed their mind')`,
                [order.id],
            );
            return r!;
        });
        expect(refund).toMatchObject({ status: 'pending', idempotency_key: `refund:${refund.id}` });
        expect(await db.query(`select payload->>'refund_id' as refund_id from private.outbox where topic = 'stripe.refund.create' and aggregate_id = $1`, [order.id])).toEqual([
            { refund_id: refund.id },
        ]);

        const confirmed = await applyEvent(
            db,
            stripeEvent('refund.updated', { orderId: null, paymentIntent: order.paymentIntent, refundId: refund.id, amountRefunded: 9000, refundStatus: 'succeeded' }),
        );
        expect(confirmed).toMatchObject({ status: 'applied', order_status: 'canceled', payment_status: 'refunded' });
        expect(await db.query('select status from public.refunds where id = $1', [refund.id])).toEqual([{ status: 'succeeded' }]);
        expect(await db.query('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants[0]!.id])).toEqual(before);
    });

    it('finance without MFA cannot request a refund', async () => {
        const order = await paidOrder(db, ada, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        await expect(db.asUser(finance.token('aal1'), (q) => q('select public.request_refund($1, 100)', [order.id]))).rejects.toMatchObject({ code: '42501' });
    });
});

describe('fulfilment', () => {
    it('warehouse staff move a paid order forward; each step is queued for the ERP; shipping emails the customer', async () => {
        const order = await paidOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        const step = (status: string, tracking?: string) =>
            db.asUser(warehouse.token(), async (q) => {
                const [o] = await q<{ status: string; fulfillment_status: string }>(
                    'select status, fulfillment_status from public.set_fulfillment_status($1, $2, $3)',
                    [order.id, status, tracking ?? null],
                );
                return o!;
            });
        expect(await step('picking')).toEqual({ status: 'fulfilling', fulfillment_status: 'picking' });
        expect(await step('shipped', '1Z999AA10123456784')).toEqual({ status: 'fulfilled', fulfillment_status: 'shipped' });
        await expect(step('picking')).rejects.toMatchObject({ code: 'TB001' });
        expect(await step('delivered')).toEqual({ status: 'completed', fulfillment_status: 'delivered' });
        const topics = await db.query<{ topic: string }>('select topic from private.outbox where aggregate_id = $1 order by id', [order.id]);
        expect(topics.map((t) => t.topic)).toEqual([
            'email.order_confirmation',
            'erp.order.upsert',
            'erp.order.upsert',
            'email.order_shipped',
            'erp.order.upsert',
            'erp.order.upsert',
        ]);
    });

    it('an unpaid order cannot be fulfilled, and terminal orders never change', async () => {
        const order = await placeOrder(db, ada, [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        await expect(db.asUser(warehouse.token(), (q) => q(`select public.set_fulfillment_status($1, 'picking')`, [order.id]))).rejects.toMatchObject({
            code: 'TB001',
        });
        await db.asUser(ada, (q) => q('select public.cancel_order($1)', [order.id]));
        await expect(db.asService((q) => q(`update public.orders set status = 'pending_payment' where id = $1`, [order.id]))).rejects.toMatchObject({
            code: 'TB001',
        });
        await expect(db.asUser(ada, (q) => q('select public.cancel_order($1)', [order.id]))).rejects.toMatchObject({ code: 'TB001' });
    });
});

describe('inventory through the ledger', () => {
    it('warehouse receipts and ERP stock levels are ledger entries; a repeated or older ERP message changes nothing', async () => {
        const variant = shop.variants[2]!;
        await db.asUser(warehouse.token(), (q) => q(`select public.adjust_inventory($1, 5, 'delivery from supplier', 'receipt')`, [variant.id]));
        const apply = (onHand: number, ref: string, at: string) =>
            db.asService(async (q) => {
                const [r] = await q<{ r: { status: string } }>('select public.apply_erp_stock_level($1, $2, $3, $4) as r', [variant.sku, onHand, ref, at]);
                return r!.r.status;
            });
        expect(await apply(80, 'erp-msg-1', '2026-11-21T10:00:00Z')).toBe('applied');
        expect(await apply(80, 'erp-msg-1', '2026-11-21T10:00:00Z')).toBe('duplicate');
        expect(await apply(60, 'erp-msg-0', '2026-11-21T09:00:00Z')).toBe('stale');
        const [levelRow] = await db.query<{ on_hand: number }>('select on_hand from public.inventory_levels where variant_id = $1', [variant.id]);
        expect(levelRow!.on_hand).toBe(80);
        const ledger = await db.query<{ kind: string; actor_id: string | null }>(
            `select kind, actor_id from public.inventory_movements where variant_id = $1 and kind in ('receipt', 'erp_sync') order by id`,
            [variant.id],
        );
        expect(ledger).toEqual([
            { kind: 'receipt', actor_id: warehouse.id },
            { kind: 'erp_sync', actor_id: null },
        ]);
        const [sum] = await db.query<{ total: number; on_hand: number }>(
            `select (select sum(quantity)::int from public.inventory_movements where variant_id = $1) as total,
                    (select on_hand from public.inventory_levels where variant_id = $1) as on_hand`,
            [variant.id],
        );
        expect(sum!.total).toBe(sum!.on_hand - 100); // the opening 100 were set up outside the ledger
    });

    it('the ledger is append-only, even for the service role', async () => {
        await expect(db.asService((q) => q('delete from public.inventory_movements'))).rejects.toMatchObject({ code: '42501' });
        await expect(db.asService((q) => q('update private.audit_log set action = $1', ['x']))).rejects.toMatchObject({ code: '42501' });
    });

    it('staff actions are audited with the acting user', async () => {
        await db.asUser(warehouse.token(), (q) => q(`select public.adjust_inventory($1, -1, 'damaged in storage')`, [shop.variants[0]!.id]));
        const rows = await db.query<{ actor_id: string; actor_role: string }>(
            `select actor_id, actor_role from private.audit_log where action = 'inventory.adjustment'`,
        );
        expect(rows).toContainEqual({ actor_id: warehouse.id, actor_role: 'warehouse' });
    });
});
