// Stock hoarding (issue 9 §2), as the attacker tried it: a fresh customer reserving the
// whole catalogue, forcing the clock and the hold time, mailing strangers, probing stock
// counts. Each attack asserts the refusal with its SQLSTATE and that nothing changed;
// the shop's settings and the expiry's exactly-once release have their own cases.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import { createShop, placeOrder, placeOrderAt, setShopSettings, snapshot, type Line, type Shop } from '../../harness/commerce-shop.js';

const db = useTestDatabase();
let shop: Shop;

beforeAll(async () => {
    shop = await createShop(db);
});

/** A variant of its own with `onHand` units, so tests do not share stock. */
async function variant(onHand: number): Promise<{ id: string; sku: string }> {
    const sku = `HOARD-${randomUUID().slice(0, 8)}`;
    const [row] = await db.query<{ id: string }>(
        `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, $2, 1000, 'EUR') returning id`,
        [shop.productId, sku],
    );
    await db.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)', [row!.id, onHand]);
    return { id: row!.id, sku };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
    const error = (await promise.then(
        () => undefined,
        (e: unknown) => e,
    )) as { code: string; message: string } | undefined;
    expect(error, 'expected the call to fail').toBeDefined();
    return { code: error!.code, message: error!.message };
}

/** The call fails with `code`, and no commerce table changed. */
async function refused(attack: () => Promise<unknown>, code: string): Promise<string> {
    const before = await snapshot(db);
    const { code: actual, message } = await failure(attack());
    expect(actual, message).toBe(code);
    expect(await snapshot(db)).toEqual(before);
    return message;
}

const catalogue = async () =>
    db.query<{ id: string; on_hand: number }>(
        `select v.id, l.on_hand from public.product_variants v join public.inventory_levels l on l.variant_id = v.id
         where v.active and l.on_hand > l.reserved order by v.id`,
    );

describe('the shop settings', () => {
    it('have the documented defaults and are readable by visitors and customers', async () => {
        const expected = [{ reservation_ttl: '00:30:00', max_unpaid_orders: 3, max_quantity_per_variant: 10 }];
        const read = 'select reservation_ttl::text, max_unpaid_orders, max_quantity_per_variant from public.shop_settings()';
        expect(await db.asAnon((q) => q(read))).toEqual(expected);
        expect(await db.asUser(await db.createUser(), (q) => q(read))).toEqual(expected);
    });

    it('hold one row that can be changed but never deleted, within sane bounds', async () => {
        await expect(db.asService((q) => q('delete from private.shop_settings'))).rejects.toMatchObject({ code: '42501' });
        await expect(db.query('delete from private.shop_settings')).rejects.toMatchObject({ code: '42501' });
        await expect(db.asService((q) => q(`update private.shop_settings set reservation_ttl = interval '3 days'`))).rejects.toMatchObject({ code: '23514' });
        await expect(db.query('insert into private.shop_settings (id) values (false)')).rejects.toMatchObject({ code: '23514' });
        expect(await db.query<{ n: number }>('select count(*)::int as n from private.shop_settings')).toEqual([{ n: 1 }]);
    });
});

describe('the hoarding attack', () => {
    it('a fresh customer trying to reserve every unit of the catalogue is refused with TB006, and nothing changes', async () => {
        const attacker = await db.createUser();
        const everything = await catalogue();
        expect(everything.length).toBeGreaterThanOrEqual(3);
        // The attack as it was run: every unit of every variant, in one order and one order per variant.
        const message = await refused(() => placeOrder(db, attacker, everything.map((v) => ({ variant_id: v.id, quantity: v.on_hand }))), 'TB006');
        expect(message).toBe('place_order: quantity limit reached (at most 10 of a variant per order)');
        for (const v of everything) await refused(() => placeOrder(db, attacker, [{ variant_id: v.id, quantity: v.on_hand }]), 'TB006');
        expect(await catalogue()).toEqual(everything);
    });

    it('within the limits a customer holds at most 3 orders × 10 units of a variant; the rest stays for other buyers', async () => {
        const attacker = await db.createUser();
        const scarce = await variant(40);
        for (let i = 0; i < 3; i++) await placeOrder(db, attacker, [{ variant_id: scarce.id, quantity: 10 }]);
        const message = await refused(() => placeOrder(db, attacker, [{ variant_id: scarce.id, quantity: 1 }]), 'TB006');
        expect(message).toBe('place_order: unpaid orders limit reached (at most 3 at a time); pay or cancel one first');
        expect(await db.asAnon((q) => q('select in_stock from public.product_variants where id = $1', [scarce.id]))).toEqual([{ in_stock: true }]);
        await placeOrder(db, await db.createUser(), [{ variant_id: scarce.id, quantity: 10 }]);
    });

    it('quantities are summed per variant for the limit: 6 + 6 is refused, 5 + 5 is accepted', async () => {
        const customer = await db.createUser();
        const v = await variant(50);
        await refused(() => placeOrder(db, customer, [{ variant_id: v.id, quantity: 6 }, { variant_id: v.id, quantity: 6 }]), 'TB006');
        await placeOrder(db, customer, [{ variant_id: v.id, quantity: 5 }, { variant_id: v.id, quantity: 5 }]);
    });

    it('10 parallel orders with different keys from one customer: exactly 3 are placed, the others get TB006', async () => {
        const customer = await db.createUser();
        const v = await variant(100);
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }])));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
        expect(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))).toEqual(Array(7).fill('TB006'));
        expect(await db.query('select reserved from public.inventory_levels where variant_id = $1', [v.id])).toEqual([{ reserved: 3 }]);
    });

    it('repeating an existing order\'s key returns that order, even at the limit', async () => {
        const customer = await db.createUser();
        const v = await variant(100);
        const key = randomUUID();
        const first = await placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }], key);
        await placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }]);
        await placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }]);
        const again = await placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }], key);
        expect(again.id).toBe(first.id);
        await refused(() => placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }]), 'TB006');
    });

    it('a canceled or overdue order frees its slot; a paid one never counted', async () => {
        const customer = await db.createUser();
        const v = await variant(100);
        const line: Line[] = [{ variant_id: v.id, quantity: 1 }];
        const first = await placeOrder(db, customer, line);
        await placeOrder(db, customer, line);
        // Overdue (placed by the backend an hour ago): it holds stock until the job runs, but no longer counts.
        await placeOrderAt(db, customer, line, new Date(Date.now() - 3_600_000));
        await placeOrder(db, customer, line);
        await refused(() => placeOrder(db, customer, line), 'TB006');
        await db.asUser(customer, (q) => q('select public.cancel_order($1)', [first.id]));
        await placeOrder(db, customer, line);
    });

    it('the limits follow the settings', async () => {
        const customer = await db.createUser();
        const v = await variant(100);
        await setShopSettings(db, { max_unpaid_orders: 1, max_quantity_per_variant: 2 });
        try {
            await refused(() => placeOrder(db, customer, [{ variant_id: v.id, quantity: 3 }]), 'TB006');
            await placeOrder(db, customer, [{ variant_id: v.id, quantity: 2 }]);
            await refused(() => placeOrder(db, customer, [{ variant_id: v.id, quantity: 1 }]), 'TB006');
        } finally {
            await setShopSettings(db, { max_unpaid_orders: 3, max_quantity_per_variant: 10 });
        }
    });

    it('an empty cart or item list is TB007, and nothing changes', async () => {
        const customer = await db.createUser();
        const cart = await db.asUser(customer, async (q) => (await q<{ id: string }>('insert into public.carts default values returning id'))[0]!);
        await refused(() => db.asUser(customer, (q) => q('select public.place_order($1, p_cart_id => $2)', [randomUUID(), cart.id])), 'TB007');
        await refused(() => placeOrder(db, customer, []), 'TB007');
    });
});

describe('the hold is the shop\'s, on the real clock', () => {
    const holdOf = (who: TestUser, args: string, params: unknown[] = []) =>
        db.asUser(who, async (q) => {
            const [row] = await q<{ hold: string; created_now: boolean }>(
                `select (expires_at - now())::text as hold, created_at = now() as created_now
                 from public.place_order($1, p_items => $2::jsonb${args})`,
                [randomUUID(), JSON.stringify([{ variant_id: shop.variants[0]!.id, quantity: 1 }]), ...params],
            );
            return row!;
        });

    it('a customer asking for a 24-hour hold, or a clock a month ahead, gets the shop\'s 30 minutes from now', async () => {
        const customer = await db.createUser();
        expect(await holdOf(customer, `, p_reservation_ttl => interval '24 hours'`)).toEqual({ hold: '00:30:00', created_now: true });
        expect(await holdOf(customer, `, p_now => now() + interval '30 days'`)).toEqual({ hold: '00:30:00', created_now: true });
    });

    it('a customer\'s clock in the past cannot create an order that is already overdue (and uncounted)', async () => {
        const customer = await db.createUser();
        expect(await holdOf(customer, `, p_now => now() - interval '2 hours'`)).toEqual({ hold: '00:30:00', created_now: true });
    });

    it('a customer may shorten the hold', async () => {
        expect(await holdOf(await db.createUser(), `, p_reservation_ttl => interval '5 minutes'`)).toEqual({ hold: '00:05:00', created_now: true });
    });

    it('the service role\'s clock and hold time are honoured (never past a day from now)', async () => {
        const customer = await db.createUser();
        const [row] = await db.asRole('service_role', customer.claims(), (q) =>
            q<{ hold: string; created: string }>(
                `select (expires_at - now())::text as hold, (now() - created_at)::text as created
                 from public.place_order($1, p_items => $2::jsonb, p_reservation_ttl => interval '2 hours', p_now => now() - interval '1 hour')`,
                [randomUUID(), JSON.stringify([{ variant_id: shop.variants[0]!.id, quantity: 1 }])],
            ),
        );
        expect(row).toEqual({ hold: '01:00:00', created: '01:00:00' });
    });
});

describe('order mail goes to the customer only', () => {
    it('a stranger\'s address is refused with 42501, and nothing changes', async () => {
        const customer = await db.createUser({ email: 'mallory@example.test' });
        for (const stranger of ['victim@example.test', ' Victim@Example.test ', 'mallory@example.test.evil.test']) {
            const message = await refused(
                () =>
                    db.asUser(customer, (q) =>
                        q('select public.place_order($1, p_items => $2::jsonb, p_email => $3)', [
                            randomUUID(),
                            JSON.stringify([{ variant_id: shop.variants[1]!.id, quantity: 1 }]),
                            stranger,
                        ]),
                    ),
                '42501',
            );
            expect(message).toBe('place_order: orders are mailed to your account\'s email address only');
        }
    });

    it('the account\'s own address (in any case) or none at all mails the account; the JWT\'s email claim is not trusted', async () => {
        const customer = await db.createUser({ email: 'ada@example.test' });
        const place = (email: string | null, claims = customer.claims()) =>
            db.asUser(claims, async (q) => {
                const [row] = await q<{ email: string }>('select email from public.place_order($1, p_items => $2::jsonb, p_email => $3)', [
                    randomUUID(),
                    JSON.stringify([{ variant_id: shop.variants[1]!.id, quantity: 1 }]),
                    email,
                ]);
                return row!.email;
            });
        expect(await place('ADA@example.test')).toBe('ada@example.test');
        expect(await place(null, customer.claims({ email: 'victim@example.test' }))).toBe('ada@example.test');
    });

    it('the service role may address an order as the backend decides', async () => {
        const customer = await db.createUser();
        const [row] = await db.asRole('service_role', customer.claims(), (q) =>
            q<{ email: string }>(`select email from public.place_order($1, p_items => $2::jsonb, p_email => 'billing@example.test')`, [
                randomUUID(),
                JSON.stringify([{ variant_id: shop.variants[1]!.id, quantity: 1 }]),
            ]),
        );
        expect(row!.email).toBe('billing@example.test');
    });
});

describe('probing stock counts', () => {
    it('TB002 names the sku and no quantity', async () => {
        const scarce = await variant(3);
        const buyer = await db.createUser();
        const message = await refused(() => placeOrder(db, buyer, [{ variant_id: scarce.id, quantity: 4 }]), 'TB002');
        expect(message).toBe(`place_order: not enough stock for ${scarce.sku}`);
    });

    it('quantities above the per-variant limit are refused before stock is looked at', async () => {
        const scarce = await variant(3);
        const plenty = await variant(1000);
        const prober = await db.createUser();
        expect((await failure(placeOrder(db, prober, [{ variant_id: scarce.id, quantity: 11 }]))).code).toBe('TB006');
        expect((await failure(placeOrder(db, prober, [{ variant_id: plenty.id, quantity: 11 }]))).code).toBe('TB006');
    });

    it('at the unpaid-order limit every probe is TB006, whether the stock is there or not', async () => {
        const scarce = await variant(2);
        const prober = await db.createUser();
        for (let i = 0; i < 3; i++) await placeOrder(db, prober, [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        for (const quantity of [1, 2, 3, 10]) {
            await refused(() => placeOrder(db, prober, [{ variant_id: scarce.id, quantity }]), 'TB006');
        }
    });
});

describe('expire_reservations under concurrency', () => {
    it('a second run while the first holds its orders skips them; after the first commits there is nothing left', async () => {
        const v = await variant(50);
        const orders = [];
        for (let i = 0; i < 5; i++) orders.push(await placeOrderAt(db, await db.createUser(), [{ variant_id: v.id, quantity: 2 }], new Date(Date.now() - 3_600_000)));
        const now = new Date();
        let firstRan!: () => void;
        const firstRunning = new Promise<void>((resolve) => (firstRan = resolve));
        let letFirstCommit!: () => void;
        const commit = new Promise<void>((resolve) => (letFirstCommit = resolve));
        const expire = (q: (sql: string, params?: unknown[]) => Promise<Array<{ r: { expired_orders: number; released_units: number } }>>) =>
            q('select public.expire_reservations($1) as r', [now]).then((rows) => rows[0]!.r);

        const first = db.asService(async (q) => {
            const result = await expire(q);
            firstRan();
            await commit;
            return result;
        });
        await firstRunning;
        const second = await db.asService((q) => expire(q));
        letFirstCommit();
        const firstResult = await first;
        const third = await db.asService((q) => expire(q));

        expect(firstResult.expired_orders).toBeGreaterThanOrEqual(5);
        expect(second).toMatchObject({ expired_orders: 0, released_units: 0 });
        expect(third).toMatchObject({ expired_orders: 0, released_units: 0 });
        expect(await db.query('select reserved from public.inventory_levels where variant_id = $1', [v.id])).toEqual([{ reserved: 0 }]);
        expect(
            await db.query<{ status: string }>('select distinct status from public.orders where id = any ($1)', [orders.map((o) => o.id)]),
        ).toEqual([{ status: 'expired' }]);
    });
});
