// Chaos, end to end on real Deno: 100 paid orders while the ERP fake fails 30% of calls
// (some after carrying them out), leaves 10% unanswered (after carrying them out), and the
// erp-sync worker is killed
// (SIGKILL) mid-batch. In the end every order is in the ERP exactly once (by
// client_order_ref), with the right lines and totals, and erp_status = synced. Then the ERP
// goes down past the last attempt: dead letters; after recovery an admin with MFA replays
// them: synced, still once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signErpWebhook } from '../../functions/_shared/erp/webhook-signature.ts';
import { startErpFake, type ErpFake } from '../../stack/fakes/erp/index.js';
import { useTestDatabase, type TestUser } from '../harness/db.js';
import { createShop, createStaff, paidOrder, type Shop, type Staff } from '../harness/commerce-shop.js';
import { serveProjectFunctions, type ProjectFunctions } from '../harness/functions-stack.js';

const db = useTestDatabase();
let fake: ErpFake;
let stack: ProjectFunctions;
let shop: Shop;
let admin: Staff;
const customers: TestUser[] = [];

/** Short leases and backoff so that a killed worker's messages and retries come back within seconds. */
const RUN = { batch: 10, visibility_seconds: 4, retry_base_ms: 200, retry_max_ms: 1_000, budget_ms: 8_000 };

interface FakeOrder {
    id: number;
    client_order_ref: string;
    state: string;
    amount_total: number;
    lines: Array<{ default_code: string; product_uom_qty: number; price_unit: number }>;
}

const WEBHOOK_SECRET = 'whsec_' + Buffer.from('chaos-erp-webhook-secret').toString('base64');

const fakeOrders = async (): Promise<FakeOrder[]> => ((await (await fetch(`${fake.url}/__admin/orders`)).json()) as { odoo: FakeOrder[] }).odoo;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
    fake = await startErpFake({ apiKey: 'chaos-key', database: 'chaos' });
    stack = await serveProjectFunctions({
        dbUrl: db.url,
        stackSecrets: {
            ERP_ADAPTER: 'odoo',
            ODOO_URL: fake.url,
            ODOO_DATABASE: 'chaos',
            ODOO_API_KEY: 'chaos-key',
            ODOO_CREATE_MISSING_PRODUCTS: 'true',
            ERP_TIMEOUT_MS: '1000',
            ERP_WEBHOOK_SECRET: WEBHOOK_SECRET,
        },
    });
    shop = await createShop(db, 100_000);
    admin = await createStaff(db, 'admin');
    for (let i = 0; i < 20; i++) customers.push(await db.createUser());
}, 120_000);

afterAll(async () => {
    await stack?.stop();
    await fake?.close();
});

/** Invokes erp-sync (two at a time) until `done()` holds or the time is up. */
async function syncUntil(done: () => Promise<boolean>, seconds: number, body: Record<string, unknown> = RUN): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await done())) {
        if (Date.now() > deadline) throw new Error('erp-sync did not reach the expected state in time');
        const runs = await Promise.all([stack.invoke('erp-sync', body), stack.invoke('erp-sync', body)]);
        for (const run of runs) expect(run.status, JSON.stringify(run.body)).toBe(200);
        if (runs.every((r) => (r.body as { claimed: number }).claimed === 0)) await pause(250);
    }
}

const statuses = async (ids: string[]) =>
    db.query<{ erp_status: string; n: number }>('select erp_status, count(*)::int as n from public.orders where id = any($1) group by 1', [ids]);

describe('erp-sync under chaos (real Deno)', () => {
    const orders: Array<{ id: string; number: string; total_amount: string }> = [];

    it('100 paid orders reach a flaky ERP exactly once each, with their lines and totals, despite a worker killed mid-batch', async () => {
        for (let i = 0; i < 100; i++) {
            const lines = [{ variant_id: shop.variants[i % 3]!.id, quantity: 1 + (i % 3) }];
            if (i % 2 === 0) lines.push({ variant_id: shop.variants[(i + 1) % 3]!.id, quantity: 2 });
            orders.push(await paidOrder(db, customers[i % customers.length]!, lines));
        }
        const ids = orders.map((o) => o.id);
        expect(await statuses(ids)).toEqual([{ erp_status: 'queued', n: 100 }]);

        // 30% of calls fail — two thirds before doing anything (503), one third after doing it
        // (502, the answer lost) — and 10% are carried out but never answered.
        fake.setFaults({ error_rate: 0.2, error_after_rate: 0.1, timeout_rate: 0.1, hang_ms: 1_500, seed: 20261126 });

        // A run that is killed mid-batch: wait until it holds messages and talks to the ERP.
        const doomed = stack.invoke('erp-sync', RUN);
        const killDeadline = Date.now() + 60_000;
        let inFlight: string[] = [];
        while (Date.now() < killDeadline) {
            inFlight = (await db.query<{ id: string }>(`select id from private.outbox where topic = 'erp.order.upsert' and status = 'processing'`)).map((r) => r.id);
            if (inFlight.length > 0 && fake.received().length >= 5) break;
            await pause(20);
        }
        expect(inFlight.length).toBeGreaterThan(0);
        const pids = stack.workerPids('erp-sync');
        expect(pids).toHaveLength(1);
        process.kill(pids[0]!, 'SIGKILL');
        expect((await doomed).status).toBeGreaterThanOrEqual(500);

        await syncUntil(async () => (await statuses(ids)).some((s) => s.erp_status === 'synced' && s.n === 100), 240);

        // The killed worker's messages were taken over after their lease and completed.
        const taken = await db.query<{ status: string; attempts: number }>('select status, attempts from private.outbox where id = any($1)', [inFlight]);
        expect(taken.every((m) => m.status === 'done' && m.attempts >= 2)).toBe(true);

        const report = fake.report();
        expect(report.faults.error).toBeGreaterThan(0);
        expect(report.faults.error_after).toBeGreaterThan(0);
        expect(report.faults.timeout).toBeGreaterThan(0);
        expect(report.duplicate_orders).toEqual([]);

        const inErp = await fakeOrders();
        const items = await db.query<{ order_id: string; sku: string; quantity: number; unit_price_amount: string }>(
            'select order_id, sku, quantity, unit_price_amount from public.order_items where order_id = any($1)',
            [ids],
        );
        const links = new Map(
            (await db.query<{ order_id: string; erp_document_id: string }>('select order_id, erp_document_id from private.erp_links where order_id = any($1)', [ids])).map((l) => [l.order_id, l.erp_document_id]),
        );
        for (const order of orders) {
            const matches = inErp.filter((o) => o.client_order_ref === order.number);
            expect(matches, order.number).toHaveLength(1);
            const erpOrder = matches[0]!;
            expect(erpOrder.state).toBe('sale');
            expect(erpOrder.amount_total).toBe(Number(order.total_amount) / 100);
            expect(links.get(order.id)).toBe(String(erpOrder.id));
            const expected = items
                .filter((i) => i.order_id === order.id)
                .map((i) => [i.sku, i.quantity, Number(i.unit_price_amount) / 100])
                .sort();
            expect(erpOrder.lines.map((l) => [l.default_code, l.product_uom_qty, l.price_unit]).sort()).toEqual(expected);
        }
    }, 300_000);

    it('with the ERP down past the last attempt the orders are dead letters; replayed after recovery they sync, still once', async () => {
        fake.setFaults({ error_rate: 0, error_after_rate: 0, timeout_rate: 0, down: true });
        const stranded: Array<{ id: string; number: string }> = [];
        for (let i = 0; i < 5; i++) stranded.push(await paidOrder(db, customers[i]!, [{ variant_id: shop.variants[i % 3]!.id, quantity: 1 }]));
        const ids = stranded.map((o) => o.id);

        const fast = { ...RUN, retry_base_ms: 50, retry_max_ms: 100 };
        await syncUntil(async () => (await statuses(ids)).some((s) => s.erp_status === 'dead' && s.n === 5), 120, fast);
        const dead = await db.query<{ id: string; attempts: number; last_error: string }>(
            `select id, attempts, last_error from private.outbox where topic = 'erp.order.upsert' and aggregate_id = any($1)`,
            [ids],
        );
        expect(dead.map((m) => m.attempts)).toEqual([8, 8, 8, 8, 8]);
        expect(dead.every((m) => /unreachable|timed out|aborted/.test(m.last_error))).toBe(true);

        fake.setFaults({ down: false });
        for (const message of dead) {
            await db.asUser(admin.token('aal2'), (q) => q('select public.replay_outbox_message($1)', [message.id]));
        }
        expect(await statuses(ids)).toEqual([{ erp_status: 'queued', n: 5 }]);
        await syncUntil(async () => (await statuses(ids)).some((s) => s.erp_status === 'synced' && s.n === 5), 120);
        const inErp = await fakeOrders();
        for (const order of stranded) expect(inErp.filter((o) => o.client_order_ref === order.number), order.number).toHaveLength(1);
        expect(fake.report().duplicate_orders).toEqual([]);
    }, 300_000);
});

describe('inbound ERP functions (real Deno)', () => {
    it('erp-webhook applies a signed stock message once and refuses a forged one; erp-stock-pull reads the ERP', async () => {
        const variant = shop.variants[0]!;
        const send = async (body: string, id: string, secret = WEBHOOK_SECRET) => {
            const timestamp = Math.floor(Date.now() / 1000);
            // No JWT: verify_jwt = false for this function, the signature is the credential.
            const response = await fetch(`${stack.url}/functions/v1/erp-webhook`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': await signErpWebhook(secret, id, timestamp, body) },
                body,
            });
            return { status: response.status, body: (await response.json()) as { status?: string; code?: string } };
        };
        const body = JSON.stringify({ stock: [{ sku: variant.sku, on_hand: 54_321 }] });
        expect(await send(body, 'msg_deno_1', 'whsec_' + Buffer.from('not-the-secret-of-this-erp').toString('base64'))).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
        expect(await send(body, 'msg_deno_1')).toMatchObject({ status: 200, body: { status: 'applied' } });
        expect(await send(body, 'msg_deno_1')).toMatchObject({ status: 200, body: { status: 'duplicate' } });
        expect(await db.query('select on_hand from public.inventory_levels where variant_id = $1', [variant.id])).toEqual([{ on_hand: 54_321 }]);

        fake.setFaults({ error_rate: 0, error_after_rate: 0, timeout_rate: 0, down: false });
        await fetch(`${fake.url}/__admin/stock`, { method: 'POST', body: JSON.stringify({ items: [{ default_code: shop.variants[1]!.sku, quantity: 4_242 }] }) });
        const pulled = await stack.invoke('erp-stock-pull');
        expect(pulled).toMatchObject({ status: 200, body: { status: 'applied' } });
        expect(await db.query('select on_hand from public.inventory_levels where variant_id = $1', [shop.variants[1]!.id])).toEqual([{ on_hand: 4_242 }]);
    }, 120_000);
});

