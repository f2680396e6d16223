// The outbox, measured in one run (figures only; nothing is asserted about time):
//  1. claim + complete in SQL: messages per second through claim_outbox_batch and
//     complete_outbox_messages (batch) / complete_outbox_message (one by one), with several
//     workers on their own connections;
//  2. paid orders per minute reaching the ERP fake (Odoo JSON-2) at 50 ms per call, through
//     the erp-sync handler run back to back, as the scheduler would if it never idled.
// Starts its own throwaway cluster, like the test setup.
//
//   npm run bench:outbox -- [messages=20000] [workers=4] [orders=200]
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { handle } from '../functions/erp-sync/handler.ts';
import { createErpAdapter } from '../functions/_shared/erp/config.ts';
import { createLogger } from '../functions/_shared/log.ts';
import { insertAuthUser } from '../stack/auth/user-rows.js';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { createPgPool } from '../stack/db/connect.js';
import { resetDatabase } from '../stack/db/reset.js';
import { startErpFake } from '../stack/fakes/erp/index.js';
import { LOCAL_SERVICE_ROLE_KEY } from '../stack/keys.js';
import { PROJECT_ROOT } from '../stack/paths.js';

const [messages = 20_000, workers = 4, orderCount = 200] = process.argv.slice(2).map(Number);

/**
 * Claims batches of 100 and completes them: `batch` the way the workers complete the messages
 * of a round that carry no result (complete_outbox_messages, one statement), `one by one` the
 * way ERP upserts complete (complete_outbox_message per message, with its ERP document).
 */
async function claimAndComplete(pool: pg.Pool, how: 'batch' | 'one by one'): Promise<void> {
    const completeSql = how === 'batch'
        ? 'select public.complete_outbox_messages($1::bigint[])'
        : 'select public.complete_outbox_message(id) from unnest($1::bigint[]) as id';
    await pool.query(
        `insert into private.outbox (topic, aggregate_type, aggregate_id, payload, idempotency_key)
         select 'bench.noop', 'bench', gen_random_uuid(), '{}'::jsonb, 'bench:' || $2 || ':' || g from generate_series(1, $1) g`,
        [messages, how],
    );
    await pool.query('analyze private.outbox');
    const batch = 100;
    const started = performance.now();
    let done = 0;
    await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
            for (;;) {
                const { rows } = await pool.query<{ id: string }>(`select id from public.claim_outbox_batch('bench.noop', $1, interval '60 seconds', $2)`, [batch, `bench-${w}`]);
                if (!rows.length) return;
                await pool.query(completeSql, [rows.map((r) => r.id)]);
                done += rows.length;
            }
        }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`claim + complete (${how}) in SQL: ${done} messages, ${workers} workers, batches of ${batch}: ${(done / seconds).toFixed(0)} messages/s (${seconds.toFixed(2)} s)`);
}

async function paidOrders(pool: pg.Pool, api: pg.Pool, count: number, tag: string): Promise<void> {
    const [product] = (await pool.query<{ id: string }>(`insert into public.products (slug, name) values ($1, 'Bench Tee') returning id`, [`bench-tee-${tag}`])).rows;
    const variants: string[] = [];
    for (const size of ['S', 'M', 'L']) {
        const [v] = (
            await pool.query<{ id: string }>(
                `insert into public.product_variants (product_id, sku, name, price_amount, currency) values ($1, $2, $3, 4500, 'EUR') returning id`,
                [product!.id, `BENCH-TEE-${tag}-${size}`, size],
            )
        ).rows;
        await pool.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, 1000000)', [v!.id]);
        variants.push(v!.id);
    }
    const fixture = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'stripe', 'payment_intent.succeeded.json'), 'utf8')) as {
        id: string;
        created: number;
        data: { object: Record<string, unknown> };
    };
    const users: string[] = [];
    for (let i = 0; i < 20; i++) {
        const client = await pool.connect();
        try {
            users.push((await insertAuthUser(client, { email: `bench-${tag}-${i}@bench.test`, password: null })).id);
        } finally {
            client.release();
        }
    }
    for (let i = 0; i < count; i++) {
        const user = users[i % users.length]!;
        const client = await api.connect();
        try {
            await client.query('begin');
            await client.query('set local role authenticated');
            await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user, role: 'authenticated', aal: 'aal1', email: `${user}@bench.test` })]);
            const items = [{ variant_id: variants[i % 3], quantity: 1 + (i % 3) }, { variant_id: variants[(i + 1) % 3], quantity: 1 }];
            const { rows } = await client.query<{ id: string; total_amount: string }>('select id, total_amount from public.place_order($1, p_items => $2::jsonb)', [randomUUID(), JSON.stringify(items)]);
            await client.query('commit');
            const intent = `pi_bench${randomUUID().replaceAll('-', '').slice(0, 20)}`;
            await pool.query('select public.attach_payment($1, $2)', [rows[0]!.id, intent]);
            const event = structuredClone(fixture);
            event.id = `evt_bench${randomUUID().replaceAll('-', '').slice(0, 20)}`;
            event.data.object = { ...event.data.object, id: intent, amount: Number(rows[0]!.total_amount), amount_received: Number(rows[0]!.total_amount), metadata: { order_id: rows[0]!.id } };
            await pool.query('select public.apply_stripe_event($1::jsonb)', [JSON.stringify(event)]);
        } catch (error) {
            await client.query('rollback').catch(() => {});
            throw error;
        } finally {
            client.release();
        }
    }
}

async function ordersToErp(pool: pg.Pool, api: pg.Pool): Promise<void> {
    const fake = await startErpFake({ apiKey: 'bench', database: 'bench', faults: { latency_ms: 50 } });
    try {
        for (const batch of [10, 25]) {
            fake.reset();
            fake.setFaults({ latency_ms: 50 });
            await paidOrders(pool, api, orderCount, String(batch));
            const erp = createErpAdapter({ ERP_ADAPTER: 'odoo', ODOO_URL: fake.url, ODOO_DATABASE: 'bench', ODOO_API_KEY: 'bench', ODOO_PROTOCOL: 'json2', ODOO_CREATE_MISSING_PRODUCTS: true, ERP_TIMEOUT_MS: 10_000 });
            const deps = { db: pool, erp, clock: () => new Date(), log: createLogger({}, () => {}), worker: 'bench', serviceKeys: [LOCAL_SERVICE_ROLE_KEY] };
            const started = performance.now();
            let runs = 0;
            for (;;) {
                const response = await handle(
                    new Request('http://bench/erp-sync', { method: 'POST', headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` }, body: JSON.stringify({ batch }) }),
                    deps,
                );
                runs += 1;
                const summary = (await response.json()) as { claimed: number };
                if (summary.claimed === 0) break;
            }
            const seconds = (performance.now() - started) / 1000;
            const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from public.orders where erp_status = 'synced'`);
            const synced = rows[0]!.n;
            const calls = fake.report().calls;
            console.log(
                `paid orders to the ERP fake at 50 ms per call, batch ${batch}: ${orderCount} orders in ${seconds.toFixed(1)} s = ${((orderCount / seconds) * 60).toFixed(0)} orders/min ` +
                    `(${(calls / orderCount).toFixed(1)} ERP calls per order, ${runs} runs, ${synced} synced in total)`,
            );
        }
    } finally {
        await fake.close();
    }
}

async function main(): Promise<void> {
    const { cluster, dispose } = await startThrowawayCluster('tillbase-bench');
    const pools: pg.Pool[] = [];
    try {
        const url = cluster.url('bench');
        await resetDatabase({ url, workdir: PROJECT_ROOT, seed: false });
        const pool = createPgPool({ connectionString: url, max: workers + 4 });
        const api = createPgPool({ connectionString: cluster.url('bench', 'authenticator', 'postgres'), max: 2 });
        pools.push(pool, api);
        await claimAndComplete(pool, 'batch');
        await claimAndComplete(pool, 'one by one');
        await ordersToErp(pool, api);
    } finally {
        for (const pool of pools) await pool.end();
        await dispose();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
