// Erasure (issue 9 §4): an admin with MFA erases a customer — personal data gone from
// every table, orders kept as financial records without an owner, audited. Removing the
// auth user by SQL (hard or soft delete) does the same. Everyone else is refused, and a
// refusal changes nothing.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type Claims, type TestUser } from '../../harness/db.js';
import {
    COMMERCE_TABLES,
    applyEvent,
    createShop,
    createStaff,
    paidOrder,
    placeOrder,
    snapshot,
    stripeEvent,
    type Shop,
    type Staff,
} from '../../harness/commerce-shop.js';

const db = useTestDatabase();
let shop: Shop;
let admin: Staff;
let support: Staff;
let finance: Staff;
let warehouse: Staff;

beforeAll(async () => {
    shop = await createShop(db);
    admin = await createStaff(db, 'admin');
    support = await createStaff(db, 'support');
    finance = await createStaff(db, 'finance');
    warehouse = await createStaff(db, 'warehouse');
});

interface History {
    user: TestUser;
    email: string;
    name: string;
    phone: string;
    street: string;
    shipped: string;
    pending: string;
    canceled: string;
    stripeCustomer: string;
}

/** A customer with everything personal the shop can hold about them. */
async function customerWithHistory(): Promise<History> {
    const tag = randomUUID().slice(0, 8);
    const email = `erase-me-${tag}@example.test`;
    const name = `Ada Erasable ${tag}`;
    const phone = `+44 20 7946 ${tag.slice(0, 4)}`;
    const street = `${tag} Erasure Street`;
    const address = { line1: street, city: 'London', postal_code: 'SW1Y 4JH', country: 'GB' };
    const user = await db.createUser({ email, userMetadata: { full_name: name } });
    await db.asUser(user, (q) =>
        q('update public.profiles set phone = $2, shipping_address = $3, billing_address = $3 where id = $1', [user.id, phone, address]),
    );
    await db.asUser(user, async (q) => {
        const [cart] = await q<{ id: string }>('insert into public.carts default values returning id');
        await q('insert into public.cart_items (cart_id, variant_id, quantity) values ($1, $2, 1)', [cart!.id, shop.variants[0]!.id]);
    });
    const shipped = await db.asUser(user, async (q) => {
        const [o] = await q<{ id: string }>(
            'select id from public.place_order($1, p_items => $2::jsonb, p_shipping_address => $3)',
            [randomUUID(), JSON.stringify([{ variant_id: shop.variants[0]!.id, quantity: 1 }]), address],
        );
        return o!.id;
    });
    const paymentIntent = `pi_${tag}${tag}`;
    await db.asService((q) => q('select public.attach_payment($1, $2)', [shipped, paymentIntent]));
    const succeeded = stripeEvent('payment_intent.succeeded', { orderId: shipped, paymentIntent, amount: 4500 });
    Object.assign(succeeded.data.object, { receipt_email: email, shipping: { name, address: { line1: street } } });
    await applyEvent(db, succeeded);
    await db.asUser(warehouse.token(), (q) => q(`select public.set_fulfillment_status($1, 'shipped', 'TRACK-1')`, [shipped]));
    const pending = (await placeOrder(db, user, [{ variant_id: shop.variants[1]!.id, quantity: 2 }])).id;
    const canceled = (await placeOrder(db, user, [{ variant_id: shop.variants[2]!.id, quantity: 1 }])).id;
    await db.asUser(user, (q) => q('select public.cancel_order($1)', [canceled]));
    const stripeCustomer = `cus_${tag}`;
    await db.asService((q) => q('select public.link_stripe_customer($1, $2)', [user.id, stripeCustomer]));
    return { user, email, name, phone, street, shipped, pending, canceled, stripeCustomer };
}

/** Tables (commerce and auth) whose rows still mention any of `needles`. */
async function mentions(...needles: string[]): Promise<string[]> {
    const tables = [...COMMERCE_TABLES, 'auth.users', 'auth.identities'];
    const found: string[] = [];
    for (const table of tables) {
        const [row] = await db.query<{ n: number }>(
            `select count(*)::int as n from ${table} x where ${needles.map((_, i) => `strpos(lower(x::text), lower($${i + 1})) > 0`).join(' or ')}`,
            needles,
        );
        if (row!.n > 0) found.push(table);
    }
    return found;
}

const erase = (claims: Claims | 'service', userId: string) =>
    claims === 'service'
        ? db.asService((q) => q<{ r: Record<string, unknown> }>('select public.erase_customer($1) as r', [userId]))
        : db.asUser(claims, (q) => q<{ r: Record<string, unknown> }>('select public.erase_customer($1) as r', [userId]));

const reserved = async (variantId: string) =>
    (await db.query<{ reserved: number }>('select reserved from public.inventory_levels where variant_id = $1', [variantId]))[0]!.reserved;

describe('erase_customer', () => {
    it('an admin with MFA erases a customer: no personal data is left anywhere, the orders stay as records', async () => {
        const h = await customerWithHistory();
        expect(await mentions(h.email, h.name, h.phone, h.street)).toEqual(
            expect.arrayContaining(['public.profiles', 'public.orders', 'private.stripe_events', 'private.audit_log', 'auth.users']),
        );
        const heldBefore = await reserved(shop.variants[1]!.id);

        const [result] = await erase(admin.token('aal2'), h.user.id);
        expect(result!.r).toEqual({ user_id: h.user.id, orders_kept: 3, orders_canceled: 1 });

        expect(await mentions(h.email, h.name, h.phone, h.street)).toEqual([]);
        expect(await db.query('select 1 from auth.users where id = $1', [h.user.id])).toEqual([]);
        const orders = await db.query<Record<string, unknown>>(
            `select id, user_id, email, shipping_address, billing_address, status, total_amount from public.orders where id = any ($1) order by id`,
            [[h.shipped, h.pending, h.canceled]],
        );
        expect(orders).toHaveLength(3);
        for (const o of orders) expect(o).toMatchObject({ user_id: null, email: 'erased@erased.invalid' });
        expect(orders.find((o) => o.id === h.shipped)).toMatchObject({
            status: 'fulfilled',
            total_amount: '4500',
            shipping_address: { country: 'GB' },
            billing_address: { country: 'GB' },
        });
        // The unpaid order ended and gave its stock back.
        expect(orders.find((o) => o.id === h.pending)).toMatchObject({ status: 'canceled' });
        expect(await reserved(shop.variants[1]!.id)).toBe(heldBefore - 2);
        // Lines and payments stay: the records still add up.
        expect(await db.query('select count(*)::int as n from public.order_items where order_id = any ($1)', [[h.shipped, h.pending, h.canceled]])).toEqual([{ n: 3 }]);
        expect(await db.query('select amount_captured from public.payments where order_id = $1', [h.shipped])).toEqual([{ amount_captured: '4500' }]);

        const outbox = await db.query<{ topic: string; status: string; payload: Record<string, unknown>; last_error: string | null }>(
            `select topic, status, payload, last_error from private.outbox
             where aggregate_id = any ($1) and topic in ('stripe.customer.delete', 'email.order_shipped') order by topic`,
            [[h.user.id, h.shipped]],
        );
        expect(outbox).toEqual([
            { topic: 'email.order_shipped', status: 'done', payload: expect.any(Object), last_error: 'not sent: the customer was erased' },
            { topic: 'stripe.customer.delete', status: 'pending', payload: { stripe_customer_id: h.stripeCustomer }, last_error: null },
        ]);
        // The ERP gets the scrubbed version of the order it holds.
        expect(
            await db.query(
                `select 1 as queued from private.outbox x join public.orders o on o.id = x.aggregate_id
                 where x.topic = 'erp.order.upsert' and x.status = 'pending' and o.id = $1 and (x.payload ->> 'version')::int = o.version`,
                [h.shipped],
            ),
        ).toEqual([{ queued: 1 }]);
        expect(await db.query(`select actor_id, actor_role, after from private.audit_log where action = 'customer.erase' and entity_id = $1`, [h.user.id])).toEqual([
            { actor_id: admin.id, actor_role: 'admin', after: result!.r },
        ]);
    });

    it('an erased customer\'s token reads nothing and places nothing; staff still read the orders', async () => {
        const h = await customerWithHistory();
        const token = h.user.claims();
        await erase(admin.token('aal2'), h.user.id);
        expect(await db.asUser(token, (q) => q('select id from public.orders'))).toEqual([]);
        expect(await db.asUser(token, (q) => q('select id from public.profiles'))).toEqual([]);
        expect(await db.asUser(token, (q) => q('select id from public.payments'))).toEqual([]);
        const before = await snapshot(db);
        await expect(placeOrder(db, token, [{ variant_id: shop.variants[0]!.id, quantity: 1 }])).rejects.toMatchObject({ code: '22023' });
        expect(await snapshot(db)).toEqual(before);
        expect(await db.asUser(support.token(), (q) => q('select id from public.orders where id = $1', [h.shipped]))).toEqual([{ id: h.shipped }]);
    });

    it('erases a customer who never ordered', async () => {
        const browser = await db.createUser();
        const [result] = await erase(admin.token('aal2'), browser.id);
        expect(result!.r).toEqual({ user_id: browser.id, orders_kept: 0, orders_canceled: 0 });
        expect(await db.query('select 1 from auth.users where id = $1 union all select 1 from public.profiles where id = $1', [browser.id])).toEqual([]);
    });

    it.each([
        ['a visitor', 'anon'],
        ['the customer themselves', 'self'],
        ['another customer', 'other'],
        ['support', 'support'],
        ['support with MFA', 'support+aal2'],
        ['finance with MFA', 'finance+aal2'],
        ['an admin without MFA', 'admin'],
    ])('%s cannot erase a customer, and nothing changes', async (_who, who) => {
        const h = await customerWithHistory();
        const other = await db.createUser();
        const claims: Record<string, Claims> = {
            self: h.user.claims(),
            other: other.claims(),
            support: support.token('aal1'),
            'support+aal2': support.token('aal2'),
            'finance+aal2': finance.token('aal2'),
            admin: admin.token('aal1'),
        };
        const before = await snapshot(db);
        const attempt =
            who === 'anon'
                ? db.asAnon((q) => q('select public.erase_customer($1)', [h.user.id]))
                : db.asUser(claims[who]!, (q) => q('select public.erase_customer($1)', [h.user.id]));
        await expect(attempt).rejects.toMatchObject({ code: '42501' });
        expect(await snapshot(db)).toEqual(before);
        expect(await db.query('select email from auth.users where id = $1', [h.user.id])).toEqual([{ email: h.email }]);
    });

    it('refuses a staff member, a customer with a paid order not shipped yet, and an unknown id, changing nothing', async () => {
        const waiting = await db.createUser();
        await paidOrder(db, waiting, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const cases: Array<[string, string]> = [
            [warehouse.id, 'TB001'],
            [waiting.id, 'TB001'],
            [randomUUID(), 'TB003'],
        ];
        for (const [id, code] of cases) {
            const before = await snapshot(db);
            await expect(erase(admin.token('aal2'), id)).rejects.toMatchObject({ code });
            expect(await snapshot(db)).toEqual(before);
        }
        expect(await db.query('select count(*)::int as n from auth.users where id = any ($1)', [[warehouse.id, waiting.id]])).toEqual([{ n: 2 }]);
    });
});

describe('removing the auth user directly', () => {
    it('a hard delete with SQL anonymises the same way instead of failing on the orders', async () => {
        const h = await customerWithHistory();
        await db.query('delete from auth.users where id = $1', [h.user.id]);
        expect(await mentions(h.email, h.name, h.phone, h.street)).toEqual([]);
        expect(await db.query('select count(*)::int as n from public.orders where id = any ($1) and user_id is null', [[h.shipped, h.pending, h.canceled]])).toEqual([{ n: 3 }]);
        expect(await db.query(`select actor_role, after from private.audit_log where action = 'customer.erase' and entity_id = $1`, [h.user.id])).toEqual([
            { actor_role: 'postgres', after: { user_id: h.user.id, orders_kept: 3, orders_canceled: 1 } },
        ]);
    });

    it('a soft delete (deleted_at set, as the Auth admin API does) anonymises too', async () => {
        const h = await customerWithHistory();
        await db.query('delete from auth.identities where user_id = $1', [h.user.id]);
        await db.query(`update auth.users set deleted_at = now(), email = null, raw_user_meta_data = '{}' where id = $1`, [h.user.id]);
        expect(await mentions(h.email, h.name, h.phone, h.street)).toEqual([]);
        expect(await db.query('select count(*)::int as n from public.orders where id = any ($1) and user_id is null', [[h.shipped, h.pending, h.canceled]])).toEqual([{ n: 3 }]);
    });
});

describe('the audit log', () => {
    it('stays append-only: an entry can only lose personal fields, never change otherwise or disappear', async () => {
        const [entry] = await db.query<{ id: number }>(
            `insert into private.audit_log (action, entity, entity_id, after) values ('test.entry', 'order', 'x', '{"email": "a@b.test", "total": 1}') returning id`,
        );
        await expect(db.query(`update private.audit_log set action = 'forged' where id = $1`, [entry!.id])).rejects.toMatchObject({ code: '42501' });
        await expect(db.query(`update private.audit_log set after = '{"total": 2}' where id = $1`, [entry!.id])).rejects.toMatchObject({ code: '42501' });
        await expect(db.query(`delete from private.audit_log where id = $1`, [entry!.id])).rejects.toMatchObject({ code: '42501' });
        await db.query(`update private.audit_log set after = after - 'email' where id = $1`, [entry!.id]);
        expect(await db.query('select after from private.audit_log where id = $1', [entry!.id])).toEqual([{ after: { total: 1 } }]);
    });

    it('an order\'s owner can be cleared but never changed to someone else', async () => {
        const owner = await db.createUser();
        const order = await placeOrder(db, owner, [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        const other = await db.createUser();
        await expect(db.query('update public.orders set user_id = $2 where id = $1', [order.id, other.id])).rejects.toMatchObject({ code: 'TB001' });
    });
});
