// erp-sync in-process under Node (real database, the ERP fake over HTTP, an injected
// clock): a paid order reaches the ERP once with its lines and totals; later changes
// follow in order; transient failures back off and heal; permanent ones dead-letter at
// once; the order's erp_status says what happened at every step; the generic HTTP adapter
// sends the outbox key as Idempotency-Key.
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handle, type ErpSyncDeps } from '../../functions/erp-sync/handler.ts';
import { createErpAdapter } from '../../functions/_shared/erp/config.ts';
import type { ErpAdapter } from '../../functions/_shared/erp/adapter.ts';
import { createLogger } from '../../functions/_shared/log.ts';
import { createPgPool } from '../../stack/db/connect.js';
import { NO_FAULTS, startErpFake, type ErpFake } from '../../stack/fakes/erp/index.js';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { useTestDatabase } from '../harness/db.js';
import { createShop, createStaff, paidOrder, type Shop, type Staff } from '../harness/commerce-shop.js';

const db = useTestDatabase();
let pool: pg.Pool;
let fake: ErpFake;
let shop: Shop;
let warehouse: Staff;
let admin: Staff;
let now = new Date(Date.now() + 60_000);

const odoo = (createMissingProducts = true, timeoutMs = 2_000) =>
    createErpAdapter({ ERP_ADAPTER: 'odoo', ODOO_URL: fake.url, ODOO_DATABASE: 'shopdb', ODOO_API_KEY: 'sync-key', ODOO_PROTOCOL: 'json2', ODOO_CREATE_MISSING_PRODUCTS: createMissingProducts, ERP_TIMEOUT_MS: timeoutMs });

function deps(erp: ErpAdapter = odoo()): ErpSyncDeps {
    return { db: pool, erp, clock: () => now, log: createLogger({}, () => {}), worker: 'test-worker', serviceKeys: [LOCAL_SERVICE_ROLE_KEY] };
}

async function run(body: Record<string, unknown> = {}, erp?: ErpAdapter, key = LOCAL_SERVICE_ROLE_KEY): Promise<Response> {
    return handle(
        new Request('http://functions/erp-sync', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ retry_base_ms: 1000, ...body }) }),
        deps(erp),
    );
}

const erpStatus = async (orderId: string) => (await db.query<{ erp_status: string }>('select erp_status from public.orders where id = $1', [orderId]))[0]!.erp_status;
const messages = (orderId: string) =>
    db.query<{ status: string; attempts: number; last_error: string | null }>(
        `select status, attempts, last_error from private.outbox where topic = 'erp.order.upsert' and aggregate_id = $1 order by id`,
        [orderId],
    );

interface FakeOrder {
    id: number;
    client_order_ref: string;
    state: string;
    amount_total: number;
    partner: { email: string };
    lines: Array<{ default_code: string; product_uom_qty: number; price_unit: number }>;
}
const fakeOrders = async (): Promise<FakeOrder[]> => ((await (await fetch(`${fake.url}/__admin/orders`)).json()) as { odoo: FakeOrder[] }).odoo;

beforeAll(async () => {
    pool = createPgPool({ connectionString: db.url, max: 6 });
    fake = await startErpFake({ apiKey: 'sync-key', database: 'shopdb' });
    shop = await createShop(db, 1000);
    warehouse = await createStaff(db, 'warehouse');
    admin = await createStaff(db, 'admin');
});

afterAll(async () => {
    await fake.close();
    await pool.end();
});

beforeEach(() => {
    // The fake keeps its records (ERP document ids are unique in erp_links); faults are per test.
    fake.setFaults(NO_FAULTS);
    now = new Date(now.getTime() + 3_600_000);
});

/** Runs the worker until nothing is claimed, stepping the clock past any backoff. */
async function drain(erp?: ErpAdapter, rounds = 20): Promise<void> {
    for (let i = 0; i < rounds; i++) {
        now = new Date(now.getTime() + 3_600_000);
        const summary = (await (await run({}, erp)).json()) as { claimed: number };
        if (summary.claimed === 0) return;
    }
}

describe('erp-sync', () => {
    it('pushes a paid order once, with its customer, lines and total, and marks it synced', async () => {
        const customer = await db.createUser({ email: 'ada.lovelace@example.test' });
        const order = await paidOrder(db, customer, [{ variant_id: shop.variants[0]!.id, quantity: 2 }, { variant_id: shop.variants[1]!.id, quantity: 1 }]);
        expect(await erpStatus(order.id)).toBe('queued');

        const response = await run();
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ claimed: 1, done: 1, retried: 0, dead: 0 });
        expect(await erpStatus(order.id)).toBe('synced');
        const [link] = await db.query<{ erp_document_id: string }>('select erp_document_id from private.erp_links where order_id = $1', [order.id]);
        const orders = (await fakeOrders()).filter((o) => o.client_order_ref === order.number);
        expect(orders).toHaveLength(1);
        expect(link!.erp_document_id).toBe(String(orders[0]!.id));
        expect(orders[0]).toMatchObject({
            client_order_ref: order.number,
            state: 'sale',
            amount_total: Number(order.total_amount) / 100,
            partner: { email: 'ada.lovelace@example.test' },
        });
        expect(orders[0]!.lines.map((l) => [l.default_code, l.product_uom_qty, l.price_unit]).sort()).toEqual(
            [[shop.variants[0]!.sku, 2, shop.variants[0]!.price / 100], [shop.variants[1]!.sku, 1, shop.variants[1]!.price / 100]].sort(),
        );
    });

    it('sends later changes after the first push, in order, and keeps one ERP order', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[2]!.id, quantity: 1 }]);
        await db.asUser(warehouse.token(), (q) => q(`select public.set_fulfillment_status($1, 'picking')`, [order.id]));
        await db.asUser(warehouse.token(), (q) => q(`select public.set_fulfillment_status($1, 'shipped', 'TRACK-1')`, [order.id]));
        expect((await messages(order.id)).map((m) => m.status)).toEqual(['pending', 'pending', 'pending']);

        // One message per order in flight: each run moves this order one step.
        expect(await (await run()).json()).toMatchObject({ claimed: 1 });
        expect((await messages(order.id)).map((m) => m.status)).toEqual(['done', 'pending', 'pending']);
        expect(await erpStatus(order.id)).toBe('queued');
        await drain();
        expect((await messages(order.id)).map((m) => m.status)).toEqual(['done', 'done', 'done']);
        expect(await erpStatus(order.id)).toBe('synced');
        const [{ version, synced_version }] = await db.query<{ version: number; synced_version: number }>(
            'select o.version, l.synced_version from public.orders o join private.erp_links l on l.order_id = o.id where o.id = $1',
            [order.id],
        ) as [{ version: number; synced_version: number }];
        expect(synced_version).toBe(version);
        expect((await fakeOrders()).filter((o) => o.client_order_ref === order.number)).toHaveLength(1);
        expect(fake.report().duplicate_orders).toEqual([]);
    });

    it('backs off on ERP errors (erp_status failed), then syncs when the ERP recovers', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        fake.setFaults({ error_rate: 1 });
        expect(await (await run()).json()).toMatchObject({ claimed: 1, retried: 1 });
        expect(await erpStatus(order.id)).toBe('failed');
        expect(await messages(order.id)).toEqual([{ status: 'pending', attempts: 1, last_error: expect.stringContaining('503') }]);
        // Not due yet: the backoff holds it.
        expect(await (await run()).json()).toMatchObject({ claimed: 0 });

        fake.setFaults({ error_rate: 0 });
        now = new Date(now.getTime() + 60_000);
        expect(await (await run()).json()).toMatchObject({ claimed: 1, done: 1 });
        expect(await erpStatus(order.id)).toBe('synced');
    });

    it('after a timeout whose call the ERP carried out, the retry finds that order instead of creating a second', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
        fake.setFaults({ timeout_rate: 1, hang_ms: 5_000, calls: ['sale.order.create'] });
        expect(await (await run({}, odoo(true, 300))).json()).toMatchObject({ claimed: 1, retried: 1 });
        expect(await messages(order.id)).toEqual([{ status: 'pending', attempts: 1, last_error: expect.stringContaining('timed out') }]);
        // The lost call created the order (unconfirmed).
        expect((await fakeOrders()).filter((o) => o.client_order_ref === order.number)).toMatchObject([{ state: 'draft' }]);
        fake.setFaults({ timeout_rate: 0 });
        await drain();
        expect(await erpStatus(order.id)).toBe('synced');
        expect((await fakeOrders()).filter((o) => o.client_order_ref === order.number)).toMatchObject([{ state: 'sale' }]);
    });

    it('when the answer to a carried-out create is lost (502), the upsert looks again at once and confirms the order it finds', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[2]!.id, quantity: 2 }]);
        fake.setFaults({ error_after_rate: 1, calls: ['sale.order.create'] });
        expect(await (await run()).json()).toMatchObject({ claimed: 1, done: 1, retried: 0 });
        expect(await erpStatus(order.id)).toBe('synced');
        expect((await fakeOrders()).filter((o) => o.client_order_ref === order.number)).toMatchObject([{ state: 'sale' }]);
        expect(fake.received().filter((c) => c.call === 'sale.order.create').at(-1)?.outcome).toBe('error_after');
    });

    it('dead-letters at once what the ERP will always refuse (an unknown product), and says so on the order', async () => {
        const unknownToErp = (await createShop(db, 10)).variants[0]!;
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: unknownToErp.id, quantity: 1 }]);
        expect(await (await run({}, odoo(false))).json()).toMatchObject({ claimed: 1, dead: 1 });
        expect(await erpStatus(order.id)).toBe('dead');
        expect(await messages(order.id)).toEqual([{ status: 'dead', attempts: 1, last_error: expect.stringContaining(unknownToErp.sku) }]);
    });

    it('dead-letters a message whose ERP document is already linked to another order, instead of failing the run', async () => {
        await drain();
        const earlier = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        await drain();
        // An ERP that forgot its records (a fake restarted) hands out a document id the shop already linked.
        const forgetful = await startErpFake({ apiKey: 'sync-key', database: 'shopdb', firstId: 9_000_000 });
        try {
            await db.query(`update private.erp_links set erp_document_id = '9000000' where order_id = $1`, [earlier.id]);
            const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[1]!.id, quantity: 1 }]);
            const adapter = createErpAdapter({ ERP_ADAPTER: 'odoo', ODOO_URL: forgetful.url, ODOO_DATABASE: 'shopdb', ODOO_API_KEY: 'sync-key', ODOO_PROTOCOL: 'json2', ODOO_CREATE_MISSING_PRODUCTS: true, ERP_TIMEOUT_MS: 2_000 });
            const response = await run({}, adapter);
            expect(response.status).toBe(200);
            expect(await response.json()).toMatchObject({ claimed: 1, done: 0, dead: 1 });
            expect(await messages(order.id)).toEqual([{ status: 'dead', attempts: 1, last_error: expect.stringContaining('erp_links_erp_document_id_key') }]);
            expect(await erpStatus(order.id)).toBe('dead');
            expect(await db.query('select erp_document_id from private.erp_links where order_id = $1', [earlier.id])).toEqual([{ erp_document_id: '9000000' }]);
        } finally {
            await forgetful.close();
        }
    });

    it('with the ERP down past the last attempt: dead letter; replayed by an admin with MFA after recovery: synced, once', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[2]!.id, quantity: 3 }]);
        fake.setFaults({ down: true });
        await drain();
        expect(await erpStatus(order.id)).toBe('dead');
        const [dead] = await db.query<{ id: string; attempts: number }>(`select id, attempts from private.outbox where topic = 'erp.order.upsert' and aggregate_id = $1`, [order.id]);
        expect(dead!.attempts).toBe(8);

        const listed = await db.asUser(admin.token(), (q) => q<{ id: string; order_number: string }>('select id, order_number from public.list_dead_letters($1)', ['erp.order.upsert']));
        expect(listed).toContainEqual({ id: dead!.id, order_number: order.number });
        // ERP messages need aal2 to replay.
        await expect(db.asUser(admin.token(), (q) => q('select public.replay_outbox_message($1)', [dead!.id]))).rejects.toMatchObject({ code: '42501' });
        expect(await erpStatus(order.id)).toBe('dead');

        fake.setFaults({ down: false });
        await db.asUser(admin.token('aal2'), (q) => q('select public.replay_outbox_message($1, $2)', [dead!.id, now]));
        expect(await erpStatus(order.id)).toBe('queued');
        await drain();
        expect(await erpStatus(order.id)).toBe('synced');
        expect((await fakeOrders()).filter((o) => o.client_order_ref === order.number)).toHaveLength(1);
    });

    it('through the generic HTTP adapter: the outbox key is the Idempotency-Key, a repeat is answered from the ERP\'s record', async () => {
        const http = createErpAdapter({ ERP_ADAPTER: 'http', ERP_HTTP_URL: `${fake.url}/api/v1`, ERP_HTTP_TOKEN: 'sync-key', ERP_TIMEOUT_MS: 300 });
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        fake.setFaults({ timeout_rate: 1, hang_ms: 5_000 });
        await run({}, http);
        fake.setFaults({ timeout_rate: 0 });
        await drain(http);
        expect(await erpStatus(order.id)).toBe('synced');
        // Timed-out POSTs were repeated (the key makes that safe); the ERP applied the first one only.
        const outcomes = fake.received().filter((c) => c.call === 'POST /api/v1/orders').map((c) => c.outcome);
        expect(outcomes.at(-1)).toBe('answered');
        expect(outcomes.slice(0, -1).every((o) => o === 'timeout')).toBe(true);
        expect(outcomes.length).toBeGreaterThan(2);
        expect(fake.report()).toMatchObject({ http_orders: 1, http_replayed_keys: outcomes.length - 1 });
    });

    it('refuses a caller that is not the service role (403) and settings out of range (400), claiming nothing', async () => {
        const order = await paidOrder(db, await db.createUser(), [{ variant_id: shop.variants[0]!.id, quantity: 1 }]);
        expect((await run({}, undefined, LOCAL_ANON_KEY)).status).toBe(403);
        const bad = await run({ batch: 1000 });
        expect(bad.status).toBe(400);
        expect(await bad.json()).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('batch') });
        expect(await messages(order.id)).toEqual([{ status: 'pending', attempts: 0, last_error: null }]);
        await drain();
    });
});
