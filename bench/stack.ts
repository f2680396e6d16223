// Figures of the local stack (printed, never asserted): time to ready with a fresh data
// directory (cold: initdb + platform + the project's migrations + seed) and with an
// existing one (warm), resident memory of the whole stack (node + postgres + deno), and
// edge-function invocation latency through the gateway (cold = first request, which
// starts the Deno worker; warm = median of the following ones), the time of one metrics
// scrape (stack registry + the shop's `metrics` SQL views), and how long REST takes to
// answer 200 again after PostgreSQL is killed with SIGKILL (supervised restart + crash
// recovery).
//
// Runs the real project (supabase/config.toml, migrations, seed) from a temporary copy on
// free ports (bench/local-stack.ts), plus one fixture function, so it never touches
// 54321–54330 or .local/.
//   npm run bench:stack
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from '../stack/keys.js';
import { PROJECT_ROOT } from '../stack/paths.js';
import { descendants, programName } from '../test/harness/processes.js';
import { makeWorkdir, startStack } from './local-stack.js';

const WARM_SAMPLES = 30;

function rssOf(pid: number): number {
    try {
        const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
    } catch {
        return 0;
    }
}

/** Resident memory of the stack process tree, by kind (node, postgres, deno, other). */
function stackRss(root: number): Record<string, number> {
    const byKind: Record<string, number> = { node: rssOf(root), postgres: 0, deno: 0, other: 0 };
    for (const [pid, command] of descendants(root)) {
        const program = programName(command);
        const kind = program.startsWith('node') ? 'node' : program.startsWith('postgres') ? 'postgres' : program === 'deno' ? 'deno' : 'other';
        byKind[kind] = (byKind[kind] ?? 0) + rssOf(pid);
    }
    return byKind;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

async function invoke(apiUrl: string): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${apiUrl}/functions/v1/bench-hello`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY }, body: '{}' });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`bench-hello answered ${response.status}`);
    return performance.now() - started;
}

async function scrapeMs(apiUrl: string): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${apiUrl}/customer/v1/privileged/metrics`, { headers: { authorization: `Basic ${Buffer.from(`service_role:${LOCAL_SECRET_KEY}`).toString('base64')}` } });
    await response.text();
    if (response.status !== 200) throw new Error(`metrics answered ${response.status}`);
    return performance.now() - started;
}

/** Kills the stack's Postgres and measures until REST serves a table again. */
async function postgresRecoveryMs(dir: string, apiUrl: string): Promise<number> {
    const status = JSON.parse(fs.readFileSync(path.join(dir, '.local', 'stack.json'), 'utf8')) as { details: { database: { pids: number[] } } };
    const started = performance.now();
    process.kill(status.details.database.pids[0]!, 'SIGKILL');
    for (;;) {
        const response = await fetch(`${apiUrl}/rest/v1/products?select=id&limit=1`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY }, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
        await response?.arrayBuffer();
        if (response?.status === 200 && performance.now() - started > 50) return performance.now() - started;
        await new Promise((r) => setTimeout(r, 20));
    }
}

const { dir, apiUrl } = await makeWorkdir({
    'bench-hello': { entrypoint: path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions', 'hello', 'index.ts'), verify_jwt: false },
});
try {
    const cold = await startStack(dir);
    const components = (JSON.parse(fs.readFileSync(path.join(dir, '.local', 'stack.json'), 'utf8')) as { components: Record<string, string> }).components;
    const idleRss = stackRss(cold.child.pid!);
    const coldInvoke = await invoke(apiUrl);
    const warm: number[] = [];
    for (let i = 0; i < WARM_SAMPLES; i++) warm.push(await invoke(apiUrl));
    warm.sort((a, b) => a - b);
    const busyRss = stackRss(cold.child.pid!);
    const scrapes: number[] = [];
    for (let i = 0; i < 10; i++) scrapes.push(await scrapeMs(apiUrl));
    scrapes.sort((a, b) => a - b);
    const recovery = await postgresRecoveryMs(dir, apiUrl);
    await cold.stop();

    const again = await startStack(dir);
    await again.stop();

    const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const rows: Array<[string, string]> = [
        ['components', Object.entries(components).map(([name, state]) => `${name} ${state}`).join(', ')],
        ['time to ready, cold (fresh data dir, migrations + seed)', ms(cold.readyMs)],
        ['time to ready, warm (existing data dir)', ms(again.readyMs)],
        ['stack RSS after ready (no function loaded)', `${mb(total(idleRss))} (node ${mb(idleRss.node!)}, postgres ${mb(idleRss.postgres!)}, deno ${mb(idleRss.deno!)}, other ${mb(idleRss.other!)})`],
        ['stack RSS with one function worker', `${mb(total(busyRss))} (node ${mb(busyRss.node!)}, postgres ${mb(busyRss.postgres!)}, deno ${mb(busyRss.deno!)}, other ${mb(busyRss.other!)})`],
        ['function invocation, cold (starts the Deno worker)', ms(coldInvoke)],
        [`function invocation, warm (median of ${WARM_SAMPLES})`, ms(warm[Math.floor(warm.length / 2)]!)],
        [`function invocation, warm p90`, ms(warm[Math.floor(warm.length * 0.9)]!)],
        ['metrics scrape incl. SQL views (median of 10)', ms(scrapes[5]!)],
        ['PostgreSQL SIGKILL → REST answers 200 again', ms(recovery)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`local stack on ${os.cpus().length} cores, Node ${process.version}`);
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
} finally {
    fs.rmSync(dir, { recursive: true, force: true });
}
