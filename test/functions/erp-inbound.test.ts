// Inbound ERP data: the erp-webhook handler (in-process, real database) refuses forged,
// stale, tampered and unsigned deliveries and applies a replayed one once; stock goes
// through the ledger and never past active reservations (the conflict is recorded for
// staff); a price change updates the catalogue and never a placed order. The scheduled
// stock pull reads the ERP fake through the Odoo adapter.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handle as handleWebhook, type ErpWebhookBody } from '../../functions/erp-webhook/handler.ts';
import { handle as handlePull } from '../../functions/erp-stock-pull/handler.ts';
import { createOdooAdapter } from '../../functions/_shared/erp/odoo.ts';
import { signErpWebhook } from '../../functions/_shared/erp/webhook-signature.ts';
import { createLogger } from '../../functions/_shared/log.ts';
import { createPgPool } from '../../stack/db/connect.js';
import { startErpFake, type ErpFake } from '../../stack/fakes/erp/index.js';
import { LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { useTestDatabase } from '../harness/db.js';
import { createShop, createStaff, paidOrder, placeOrder, snapshot, type Shop } from '../harness/commerce-shop.js';

const db = useTestDatabase();
const SECRET = 'whsec_' + Buffer.from('erp-inbound-test-secret-0123456789').toString('base64');
const T0 = new Date('2026-11-26T12:00:00Z');
let pool: pg.Pool;
let shop: Shop;
let clock = T0;

const deps = () => ({ db: pool, secret: SECRET, clock: () => clock, log: createLogger({}, () => {}) });

async function delivery(body: unknown, options: { id?: string; at?: Date; secret?: string; raw?: string; signedBody?: string } = {}): Promise<Request> {
    const raw = options.raw ?? JSON.stringify(body);
    const id = options.id ?? `msg_${randomUUID()}`;
    const timestamp = Math.floor((options.at ?? clock).getTime() / 1000);
    const signature = await signErpWebhook(options.secret ?? SECRET, id, timestamp, options.signedBody ?? raw);
    return new Request('http://functions/erp-webhook', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature },
        body: raw,
    });
}

const level = async (variantId: string) =>
    (await db.query<{ on_hand: number; reserved: number }>('select on_hand, reserved from public.inventory_levels where variant_id = $1', [variantId]))[0]!;

beforeAll(async () => {
    pool = createPgPool({ connectionString: db.url, max: 4 });
    shop = await createShop(db, 10);
});

afterAll(async () => {
    await pool.end();
});

describe('erp-webhook: signatures', () => {
    const stock = (): ErpWebhookBody => ({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 42 }] });

    it('applies a signed stock message through the ledger', async () => {
        clock = new Date(T0.getTime() + 1_000);
        const response = await handleWebhook(await delivery(stock()), deps());
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'applied', lines: [{ kind: 'stock', status: 'applied', sku: shop.variants[0]!.sku, on_hand: 42 }] });
        expect((await level(shop.variants[0]!.id)).on_hand).toBe(42);
        const movements = await db.query('select kind, quantity, on_hand_after from public.inventory_movements where variant_id = $1', [shop.variants[0]!.id]);
        expect(movements).toEqual([{ kind: 'erp_sync', quantity: 32, on_hand_after: 42 }]);
    });

    const refused: Array<[string, () => Promise<Request>]> = [
        ['signed with another secret (forged)', () => delivery({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }, { secret: 'whsec_' + Buffer.from('not-the-erp-secret-at-all').toString('base64') })],
        ['signed 301 s ago (stale)', () => delivery({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }, { at: new Date(clock.getTime() - 301_000) })],
        ['signed 301 s in the future', () => delivery({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }, { at: new Date(clock.getTime() + 301_000) })],
        ['with a body other than the signed one (tampered)', () => delivery(undefined, { raw: JSON.stringify({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }), signedBody: JSON.stringify({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 50 }] }) })],
        ['without signature headers', async () => new Request('http://functions/erp-webhook', { method: 'POST', body: JSON.stringify({ stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }) })],
    ];
    for (const [name, make] of refused) {
        it(`refuses a delivery ${name} with 401 and changes nothing`, async () => {
            const before = await snapshot(db);
            const response = await handleWebhook(await make(), deps());
            expect(response.status).toBe(401);
            expect(await response.json()).toMatchObject({ code: 'unauthenticated' });
            expect(await snapshot(db)).toEqual(before);
        });
    }

    it('applies a replayed delivery (same message id) once: the replay answers duplicate and changes nothing', async () => {
        clock = new Date(T0.getTime() + 2_000);
        const id = `msg_${randomUUID()}`;
        const first = await handleWebhook(await delivery({ stock: [{ sku: shop.variants[1]!.sku, on_hand: 77 }] }, { id }), deps());
        expect(first.status).toBe(200);
        const before = await snapshot(db);
        // The same message again, re-signed with a fresh timestamp: still the same message.
        clock = new Date(T0.getTime() + 3_000);
        const again = await handleWebhook(await delivery({ stock: [{ sku: shop.variants[1]!.sku, on_hand: 5 }] }, { id }), deps());
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({ status: 'duplicate' });
        expect(await snapshot(db)).toEqual(before);
        expect((await level(shop.variants[1]!.id)).on_hand).toBe(77);
    });

    it('refuses a signed body that is not a valid message with 400 naming the field, and changes nothing', async () => {
        const before = await snapshot(db);
        const response = await handleWebhook(await delivery({ stock: [{ sku: shop.variants[0]!.sku, on_hand: -3 }] }), deps());
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('stock.0.on_hand') });
        expect(await snapshot(db)).toEqual(before);
    });

    it('refuses a count observed in the future (it would make every later count stale)', async () => {
        const before = await snapshot(db);
        const response = await handleWebhook(await delivery({ observed_at: new Date(clock.getTime() + 3_600_000).toISOString(), stock: [{ sku: shop.variants[0]!.sku, on_hand: 1 }] }), deps());
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('observed_at') });
        expect(await snapshot(db)).toEqual(before);
    });

    it('reports a sku the shop does not sell without failing the rest of the message', async () => {
        clock = new Date(T0.getTime() + 4_000);
        const response = await handleWebhook(await delivery({ stock: [{ sku: 'NOT-SOLD-HERE', on_hand: 3 }, { sku: shop.variants[2]!.sku, on_hand: 12 }] }), deps());
        expect(await response.json()).toMatchObject({ lines: [{ status: 'unknown_sku', sku: 'NOT-SOLD-HERE' }, { status: 'applied', on_hand: 12 }] });
        expect((await level(shop.variants[2]!.id)).on_hand).toBe(12);
    });
});

describe('erp-webhook: stock under active reservations', () => {
    it('never makes reserved > on_hand: a short count is applied up to the reservations and the conflict is recorded for staff, then resolved by a later count', async () => {
        const variant = shop.variants[2]!;
        const customer = await db.createUser();
        await placeOrder(db, customer, [{ variant_id: variant.id, quantity: 4 }]);
        expect(await level(variant.id)).toEqual({ on_hand: 12, reserved: 4 });

        clock = new Date(T0.getTime() + 10_000);
        const short = await handleWebhook(await delivery({ stock: [{ sku: variant.sku, on_hand: 2 }] }), deps());
        expect(await short.json()).toMatchObject({ lines: [{ status: 'conflict', erp_on_hand: 2, reserved: 4, on_hand: 4 }] });
        expect(await level(variant.id)).toEqual({ on_hand: 4, reserved: 4 });
        // Visible to warehouse staff through RLS, not to customers.
        const warehouse = await createStaff(db, 'warehouse');
        const seen = await db.asUser(warehouse.token(), (q) => q('select sku, erp_on_hand, reserved, applied_on_hand, status from public.inventory_conflicts where variant_id = $1', [variant.id]));
        expect(seen).toEqual([{ sku: variant.sku, erp_on_hand: 2, reserved: 4, applied_on_hand: 4, status: 'open' }]);
        expect(await db.asUser(customer, (q) => q('select id from public.inventory_conflicts'))).toEqual([]);
        // Nothing more can be sold.
        await expect(placeOrder(db, await db.createUser(), [{ variant_id: variant.id, quantity: 1 }])).rejects.toMatchObject({ code: 'TB002' });

        clock = new Date(T0.getTime() + 20_000);
        await handleWebhook(await delivery({ stock: [{ sku: variant.sku, on_hand: 9 }] }), deps());
        expect(await level(variant.id)).toEqual({ on_hand: 9, reserved: 4 });
        expect(await db.query('select status from public.inventory_conflicts where variant_id = $1', [variant.id])).toEqual([{ status: 'resolved' }]);
    });

    it('ignores a count observed before the one already applied', async () => {
        const variant = shop.variants[2]!;
        const response = await handleWebhook(await delivery({ observed_at: new Date(T0.getTime() + 15_000).toISOString(), stock: [{ sku: variant.sku, on_hand: 100 }] }), deps());
        expect(await response.json()).toMatchObject({ lines: [{ status: 'stale' }] });
        expect((await level(variant.id)).on_hand).toBe(9);
    });
});

describe('erp-webhook: prices', () => {
    it('updates the catalogue price and never the lines or totals of placed orders', async () => {
        const variant = shop.variants[0]!;
        const customer = await db.createUser();
        const unpaid = await placeOrder(db, customer, [{ variant_id: variant.id, quantity: 1 }]);
        const paid = await paidOrder(db, await db.createUser(), [{ variant_id: variant.id, quantity: 2 }]);
        const orderRows = async () =>
            db.query('select o.id, o.total_amount, i.unit_price_amount, i.line_total_amount from public.orders o join public.order_items i on i.order_id = o.id where o.id = any($1) order by o.id', [[unpaid.id, paid.id]]);
        const before = await orderRows();

        clock = new Date(T0.getTime() + 30_000);
        const response = await handleWebhook(await delivery({ prices: [{ sku: variant.sku, price_amount: 9900, currency: 'EUR' }] }), deps());
        expect(await response.json()).toMatchObject({ lines: [{ kind: 'price', status: 'applied', price_amount: 9900, previous_amount: variant.price }] });
        expect(await db.query('select price_amount from public.product_variants where id = $1', [variant.id])).toEqual([{ price_amount: '9900' }]);
        expect(await orderRows()).toEqual(before);
        // A new order pays the new price.
        const fresh = await placeOrder(db, await db.createUser(), [{ variant_id: variant.id, quantity: 1 }]);
        expect(fresh.total_amount).toBe('9900');
    });

    it('refuses a price in another currency than the variant', async () => {
        clock = new Date(T0.getTime() + 40_000);
        const before = await snapshot(db);
        const response = await handleWebhook(await delivery({ prices: [{ sku: shop.variants[1]!.sku, price_amount: 100, currency: 'USD' }] }), deps());
        expect(response.status).toBe(400);
        expect(await snapshot(db)).toEqual(before);
    });
});

describe('erp-stock-pull', () => {
    let fake: ErpFake;
    beforeAll(async () => {
        fake = await startErpFake({ apiKey: 'pull-key', database: 'pulldb' });
    });
    afterAll(async () => {
        await fake.close();
    });

    const pullDeps = () => ({
        db: pool,
        erp: createOdooAdapter({ url: fake.url, database: 'pulldb', apiKey: 'pull-key', protocol: 'json2', createMissingProducts: false, timeoutMs: 2_000 }),
        clock: () => clock,
        log: createLogger({}, () => {}),
        serviceKeys: [LOCAL_SERVICE_ROLE_KEY],
    });
    const pull = (authorization = `Bearer ${LOCAL_SERVICE_ROLE_KEY}`) =>
        handlePull(new Request('http://functions/erp-stock-pull', { method: 'POST', headers: { authorization } }), pullDeps());

    it('applies the ERP stock levels read through stock.quant', async () => {
        const variant = shop.variants[1]!;
        await fetch(`${fake.url}/__admin/stock`, { method: 'POST', body: JSON.stringify({ items: [{ default_code: variant.sku, quantity: 31 }, { default_code: 'ERP-ONLY', quantity: 5 }] }) });
        clock = new Date(T0.getTime() + 50_000);
        const response = await pull();
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ status: 'applied', skus: 2, lines: { applied: 1, unknown_sku: 1 } });
        expect((await level(variant.id)).on_hand).toBe(31);
    });

    it('answers 503 unavailable when the ERP is down, and changes nothing', async () => {
        fake.setFaults({ down: true });
        const before = await snapshot(db);
        const response = await pull();
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ code: 'unavailable' });
        expect(await snapshot(db)).toEqual(before);
        fake.setFaults({ down: false });
    });

    it('refuses a caller that is not the service role', async () => {
        const response = await pull(`Bearer ${(await import('../../stack/keys.js')).LOCAL_ANON_KEY}`);
        expect(response.status).toBe(403);
    });
});
