// Benchmark: a typical storefront read — 20 products with their variants embedded — through
// /rest/v1 (HTTP, the REST engine, JWT check, one transaction per request) next to the same
// data fetched with one SQL statement sent directly with pg, in one run.
//
//   npx tsx bench/rest.ts [--seconds 5] [--concurrency 16] [--repeat 3] [--baseline <dir>]
//
// Starts its own throwaway Postgres cluster with the Supabase platform and a tiny catalogue.
// The machine is shared and noisy, so the paths are measured in turns, `--repeat` times,
// and every figure is also given as a ratio to the raw driver measured in the same turn.
// `--baseline <dir>` adds an older REST engine to the same run, for before/after figures:
// `<dir>` holds an older `stack/` tree inside this checkout (so it resolves this
// node_modules), e.g. `mkdir -p .local/base && git archive <commit> stack | tar -x -C .local/base`.
import os from 'node:os';
import path from 'node:path';
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
const REPEAT = option('repeat', 3);
const baselineIndex = args.indexOf('--baseline');
const BASELINE_DIR = baselineIndex >= 0 ? path.resolve(args[baselineIndex + 1]!) : undefined;

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

interface Figures {
    rps: number;
    p50: number;
    p99: number;
}

function figures(r: Result): Figures {
    return { rps: r.requests / r.seconds, p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99) };
}

function report(label: string, f: Figures, raw?: Figures): void {
    const ratio = raw ? `   ${(f.rps / raw.rps).toFixed(2)}x raw throughput` : '';
    console.log(`${label.padEnd(30)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99.toFixed(2).padStart(6)} ms${ratio}`);
}

const median = (values: number[]): number => percentile(values, 50);

/** A REST engine and the HTTP server of the same tree (the baseline brings its own). */
interface EngineModules {
    createRestService: typeof createRestService;
    listen: typeof listen;
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
        // Same role and settings as the REST path, so the comparison is the engine's overhead.
        const direct = createPgPool({ connectionString: cluster.url('bench', 'authenticator', 'postgres'), max: CONCURRENCY });
        const headers = { apikey: LOCAL_ANON_KEY, authorization: `Bearer ${LOCAL_ANON_KEY}` };

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

        /** One REST engine, over HTTP and called in-process. */
        const engine = async (label: string, modules: EngineModules) => {
            const service = await modules.createRestService({ dbUrl, config, jwt: { secret: LOCAL_JWT_SECRET, signingKeys: [] }, poolSize: CONCURRENCY });
            const server = await modules.listen(
                // Routed as the gateway routes /rest/v1: the prefix stripped, a new Request.
                (request, info) => {
                    const url = new URL(request.url);
                    url.pathname = url.pathname.replace(/^\/rest\/v1/, '') || '/';
                    return service.handler(new Request(url, { method: request.method, headers: request.headers }), info);
                },
                { port: 0 },
            );
            const httpOnce = async () => {
                const response = await fetch(server.url + REST_PATH, { headers });
                const body = (await response.json()) as unknown[];
                if (response.status !== 200 || body.length !== 20) throw new Error(`unexpected REST response ${response.status}`);
            };
            const inProcessUrl = 'http://rest.local' + REST_PATH.replace(/^\/rest\/v1/, '');
            const inProcessOnce = async () => {
                const response = await service.handler(new Request(inProcessUrl, { headers }), { remoteAddr: '127.0.0.1' });
                const body = (await response.json()) as unknown[];
                if (response.status !== 200 || body.length !== 20) throw new Error(`unexpected REST response ${response.status}`);
            };
            return {
                label,
                paths: [
                    { label: `${label} (HTTP)`, once: httpOnce },
                    { label: `${label} (in-process)`, once: inProcessOnce },
                ],
                async close() {
                    await server.close();
                    await service.close();
                },
            };
        };

        const engines = [await engine('REST', { createRestService, listen })];
        if (BASELINE_DIR) {
            const rest = (await import(path.join(BASELINE_DIR, 'stack', 'rest', 'index.ts'))) as Pick<EngineModules, 'createRestService'>;
            const http = (await import(path.join(BASELINE_DIR, 'stack', 'http.ts'))) as Pick<EngineModules, 'listen'>;
            engines.push(await engine('REST baseline', { createRestService: rest.createRestService, listen: http.listen }));
        }
        const paths = engines.flatMap((e) => e.paths);

        // Warm up every path (connections, prepared statements, JIT of the JS).
        await drive(1, CONCURRENCY, directOnce);
        for (const p of paths) await drive(1, CONCURRENCY, p.once);

        console.log(
            `storefront read: 20 products with variants embedded; ${CONCURRENCY} concurrent clients, ${SECONDS}s per path, ${REPEAT} turns, ${os.cpus().length} CPUs` +
                (BASELINE_DIR ? `; baseline from ${path.relative(process.cwd(), BASELINE_DIR)}` : ''),
        );
        const ratios = new Map<string, number[]>(paths.map((p) => [p.label, []]));
        const p99s = new Map<string, number[]>(paths.map((p) => [p.label, []]));
        for (let turn = 1; turn <= REPEAT; turn++) {
            console.log(`turn ${turn}`);
            const raw = figures(await drive(SECONDS, CONCURRENCY, directOnce));
            report('pg direct (tx + role)', raw);
            for (const p of paths) {
                const f = figures(await drive(SECONDS, CONCURRENCY, p.once));
                report(p.label, f, raw);
                ratios.get(p.label)!.push(f.rps / raw.rps);
                p99s.get(p.label)!.push(f.p99);
            }
        }
        console.log(`median over ${REPEAT} turns (throughput as a ratio to pg direct in the same turn):`);
        for (const p of paths) {
            const r = ratios.get(p.label)!;
            console.log(
                `  ${p.label.padEnd(28)} ${median(r).toFixed(2)}x  (turns: ${r.map((x) => x.toFixed(2)).join(', ')})   p99 ${median(p99s.get(p.label)!).toFixed(2)} ms`,
            );
        }

        for (const e of engines) await e.close();
        await direct.end();
    } finally {
        await dispose();
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
