// place_order under contention: 50 customers on 50 connections buy the last 10 units of
// a variant at the same moment, for several rounds. Prints latency figures; asserts
// nothing about time. Starts its own throwaway cluster, like the test setup.
//
//   npx tsx bench/place-order.ts [rounds=20] [buyers=50] [units=10]
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { insertAuthUser } from '../stack/auth/user-rows.js';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { resetDatabase } from '../stack/db/reset.js';
import { PROJECT_ROOT } from '../stack/paths.js';
import { mean, percentile } from './stats.js';
import { createPgPool } from '../stack/db/connect.js';

const [rounds = 20, buyers = 50, units = 10] = process.argv.slice(2).map(Number);

function summary(label: string, samples: number[]): string {
    return `${label}: n=${samples.length} mean ${mean(samples).toFixed(1)} ms, p50 ${percentile(samples, 50).toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`;
}

async function main(): Promise<void> {
    const { cluster, dir: dataRoot, dispose } = await startThrowawayCluster('tillbase-bench');
    const pools: pg.Pool[] = [];
    try {
        const url = cluster.url('bench');
        await resetDatabase({ url, workdir: PROJECT_ROOT, seed: false });
        const admin = createPgPool({ connectionString: url, max: 2 });
        pools.push(admin);
        // Each buyer places an order every round: lift the shop's hoarding limits for the bench.
        await admin.query('update private.shop_settings set max_unpaid_orders = 1000');
        const [product] = (await admin.query<{ id: string }>(`insert into public.products (slug, name) values ('bench', 'Bench') returning id`)).rows;
        const users: string[] = [];
        for (let i = 0; i < buyers; i++) {
            const client = await admin.connect();
            try {
                users.push((await insertAuthUser(client, { email: `buyer-${i}@bench.test`, password: null })).id);
            } finally {
                client.release();
            }
        }
        const api = createPgPool({ connectionString: cluster.url('bench', 'authenticator', 'postgres'), max: buyers });
        pools.push(api);

        const placeOrder = async (userId: string, variantId: string): Promise<{ ms: number; ok: boolean }> => {
            const client = await api.connect();
            const t0 = performance.now();
            try {
                await client.query('begin');
                await client.query('set local role authenticated');
                await client.query(`select set_config('request.jwt.claims', $1, true)`, [
                    JSON.stringify({ sub: userId, role: 'authenticated', aal: 'aal1', email: `${userId}@bench.test` }),
                ]);
                await client.query('select id from public.place_order($1, p_items => $2::jsonb)', [
                    randomUUID(),
                    JSON.stringify([{ variant_id: variantId, quantity: 1 }]),
                ]);
                await client.query('commit');
                return { ms: performance.now() - t0, ok: true };
            } catch (error) {
                await client.query('rollback');
                if ((error as { code?: string }).code !== 'TB002') throw error;
                return { ms: performance.now() - t0, ok: false };
            } finally {
                client.release();
            }
        };

        const perCall: number[] = [];
        const walls: number[] = [];
        for (let round = 0; round <= rounds; round++) {
            const [variant] = (
                await admin.query<{ id: string }>(
                    `insert into public.product_variants (product_id, sku, name, price_amount, currency)
                     values ($1, $2, $2, 1000, 'EUR') returning id`,
                    [product!.id, `BENCH-${round}`],
                )
            ).rows;
            await admin.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)', [variant!.id, units]);
            const started = performance.now();
            const results = await Promise.all(users.map((u) => placeOrder(u, variant!.id)));
            const wall = performance.now() - started;
            const sold = results.filter((r) => r.ok).length;
            if (sold !== Math.min(units, buyers)) throw new Error(`round ${round}: ${sold} orders for ${units} units`);
            if (round === 0) {
                console.log(summary(`round 0 (cold connections) per call`, results.map((r) => r.ms)) + `; wall ${wall.toFixed(0)} ms`);
                continue;
            }
            perCall.push(...results.map((r) => r.ms));
            walls.push(wall);
        }
        // Baseline without contention: one buyer at a time, plenty of stock.
        const [plenty] = (
            await admin.query<{ id: string }>(
                `insert into public.product_variants (product_id, sku, name, price_amount, currency)
                 values ($1, 'BENCH-PLENTY', 'Plenty', 1000, 'EUR') returning id`,
                [product!.id],
            )
        ).rows;
        await admin.query('insert into public.inventory_levels (variant_id, on_hand) values ($1, 100000)', [plenty!.id]);
        const sequential: number[] = [];
        for (const u of users) sequential.push((await placeOrder(u, plenty!.id)).ms);
        console.log(summary('place_order, one buyer at a time (no contention)', sequential));
        console.log(`place_order, ${buyers} concurrent buyers for the last ${units} units, ${rounds} warm rounds:`);
        console.log(summary('  per call (successes and sold-out refusals)', perCall));
        console.log(summary('  wall time per round', walls));
    } finally {
        for (const pool of pools) await pool.end();
        await dispose();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
