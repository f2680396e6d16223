// Benchmark: a typical storefront read — 20 products with their variants embedded — through
// /rest/v1 (HTTP, the REST engine, JWT check, one transaction per request) next to the same
// data fetched with one SQL statement sent directly with pg, in one run.
//
//   npx tsx bench/rest.ts [--seconds 5] [--concurrency 16]
//
// Starts its own throwaway Postgres cluster with the Supabase platform and a tiny catalogue.
import os from 'node:os';
import type { ProjectConfig } from '../stack/config.js';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { applyPlatform } from '../stack/db/platform.js';
import { listen } from '../stack/http.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET } from '../stack/keys.js';
import { createRestService } from '../stack/rest/index.js';
import { percentile } from './stats.js';
import { createPgClient, createPgPool } from '../stack/db/connect.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = option('seconds', 5);
const CONCURRENCY = option('concurrency', 16);

const SCHEMA = `
create table public.products (
    id bigint primary key,
    name text not null,
    price_cents integer not null,
    currency text not null default 'EUR',
    active boolean not null default true,
    created_at timestamptz not null default now()
);
create table public.variants (
    id bigint primary key,
    product_id bigint not null references public.products (id),
    sku text not null unique,
    size text,
    stock integer not null default 0
);
create index variants_product_id_idx on public.variants (product_id);
alter table public.products enable row level security;
alter table public.variants enable row level security;
create policy "Anyone can read active products" on public.products for select to anon, authenticated using (active);
create policy "Anyone can read variants" on public.variants for select to anon, authenticated using (true);
insert into public.products (id, name, price_cents)
    select g, 'Product ' || g, 500 + g * 10 from generate_series(1, 500) g;
insert into public.variants (id, product_id, sku, size, stock)
    select g, 1 + (g - 1) / 4, 'SKU-' || g, (array['S','M','L','XL'])[1 + g % 4], g % 13 from generate_series(1, 2000) g;
analyze;
`;

/** The statement an optimised hand-written client would send for the same page. */
const DIRECT_SQL = `
select coalesce(json_agg(t), '[]')::text as body from (
    select p.id, p.name, p.price_cents, p.currency,
           coalesce((select json_agg(v) from (select v.id, v.sku, v.size, v.stock from public.variants v where v.product_id = p.id) v), '[]') as variants
    from public.products p
    where p.active
    order by p.id
    limit 20
) t`;

const REST_PATH = '/rest/v1/products?select=id,name,price_cents,currency,variants(id,sku,size,stock)&active=eq.true&order=id&limit=20';

interface Result {
    requests: number;
    seconds: number;
    latencies: number[];
}

async function drive(seconds: number, concurrency: number, once: () => Promise<void>): Promise<Result> {
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    const start = performance.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (performance.now() < deadline) {
                const t0 = performance.now();
                await once();
                latencies.push(performance.now() - t0);
            }
        }),
    );
    return { requests: latencies.length, seconds: (performance.now() - start) / 1000, latencies };
}

function report(label: string, r: Result): { rps: number; p50: number; p99: number } {
    const rps = r.requests / r.seconds;
    const p50 = percentile(r.latencies, 50);
    const p99 = percentile(r.latencies, 99);
    console.log(`${label.padEnd(24)} ${rps.toFixed(0).padStart(7)} req/s   p50 ${p50.toFixed(2).padStart(6)} ms   p99 ${p99.toFixed(2).padStart(6)} ms   (${r.requests} requests)`);
    return { rps, p50, p99 };
}

async function main(): Promise<void> {
    const { cluster, dir: dataRoot, dispose } = await startThrowawayCluster('tillbase-bench-rest');
    try {
        const admin = createPgClient(cluster.url());
        await admin.connect();
        await admin.query('create database bench');
        await admin.end();
        const dbUrl = cluster.url('bench');
        await applyPlatform(dbUrl);
        const setup = createPgClient(dbUrl);
        await setup.connect();
        await setup.query(SCHEMA);
        await setup.end();

        const config = {
            project_id: 'bench',
            workdir: dataRoot,
            raw: {},
            api: { enabled: true, port: 54321, schemas: ['public', 'graphql_public'], extra_search_path: ['public', 'extensions'], max_rows: 1000 },
            db: { port: 54322, major_version: 17 },
            local_smtp: { port: 54324 },
            auth: {},
            functions: {},
            edge_runtime: {},
        } as unknown as ProjectConfig;
        const service = await createRestService({ dbUrl, config, jwt: { secret: LOCAL_JWT_SECRET, signingKeys: [] }, poolSize: CONCURRENCY });
        const server = await listen(
            (request, info) => {
                const url = new URL(request.url);
                url.pathname = url.pathname.replace(/^\/rest\/v1/, '') || '/';
                return service.handler(new Request(url, request), info);
            },
            { port: 0 },
        );

        // Same role and settings as the REST path, so the comparison is the engine's overhead.
        const direct = createPgPool({ connectionString: cluster.url('bench', 'authenticator', 'postgres'), max: CONCURRENCY });
        const headers = { apikey: LOCAL_ANON_KEY, authorization: `Bearer ${LOCAL_ANON_KEY}` };

        const restOnce = async () => {
            const response = await fetch(server.url + REST_PATH, { headers });
            const body = (await response.json()) as unknown[];
            if (response.status !== 200 || body.length !== 20) throw new Error(`unexpected REST response ${response.status}`);
        };
        const directOnce = async () => {
            const client = await direct.connect();
            try {
                await client.query('begin read only');
                await client.query(`select set_config('role', 'anon', true)`);
                const res = await client.query<{ body: string }>(DIRECT_SQL);
                await client.query('commit');
                if ((JSON.parse(res.rows[0]!.body) as unknown[]).length !== 20) throw new Error('unexpected direct result');
            } finally {
                client.release();
            }
        };
        const inProcessOnce = async () => {
            const url = new URL('http://rest.local' + REST_PATH);
            url.pathname = url.pathname.replace(/^\/rest\/v1/, '');
            const response = await service.handler(new Request(url, { headers }), { remoteAddr: '127.0.0.1' });
            const body = (await response.json()) as unknown[];
            if (response.status !== 200 || body.length !== 20) throw new Error(`unexpected REST response ${response.status}`);
        };

        // Warm up both paths (connections, plans, JIT of the JS).
        await drive(1, CONCURRENCY, restOnce);
        await drive(1, CONCURRENCY, directOnce);

        console.log(`storefront read: 20 products with variants embedded; ${CONCURRENCY} concurrent clients, ${SECONDS}s each, ${os.cpus().length} CPUs`);
        const rest = report('REST /rest/v1 (HTTP)', await drive(SECONDS, CONCURRENCY, restOnce));
        const tx = report('pg direct (tx + role)', await drive(SECONDS, CONCURRENCY, directOnce));
        const inProcess = report('REST handler in-process', await drive(SECONDS, CONCURRENCY, inProcessOnce));
        console.log(
            `ratio REST (HTTP) / pg direct: throughput ${(rest.rps / tx.rps).toFixed(2)}x, p50 latency ${(rest.p50 / tx.p50).toFixed(2)}x, p99 latency ${(rest.p99 / tx.p99).toFixed(2)}x`,
        );
        console.log(`ratio REST (in-process) / pg direct: throughput ${(inProcess.rps / tx.rps).toFixed(2)}x, p50 latency ${(inProcess.p50 / tx.p50).toFixed(2)}x`);

        await direct.end();
        await server.close();
        await service.close();
    } finally {
        await dispose();
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
