// Figures of the local stack (printed, never asserted): time to ready with a fresh data
// directory — built (initdb + platform + the project's migrations + seed, templates off), and
// copied from the migrated template an earlier start saved (stack/db/template-cache.ts) —
// and with an existing one (warm), the CPU time the stack spent until ready (its Node
// process, and all its processes: figures the load of a shared machine disturbs less than
// wall time), memory of the whole
// stack (node + postgres + deno; RSS per kind, and PSS, which counts shared memory once), and
// edge-function invocation latency through the gateway (cold = first request, which
// starts the Deno worker; warm = median of the following ones), the time of one metrics
// scrape (stack registry + the shop's `metrics` SQL views), and how long REST takes to
// answer 200 again after PostgreSQL is killed with SIGKILL (supervised restart + crash
// recovery).
//
// Runs the real project (supabase/config.toml, migrations, seed) from temporary copies on
// free ports (bench/local-stack.ts), plus one fixture function, so it never touches
// 54321–54330 or .local/.
// The stack runs as `npm start` runs it (stack/cli/launch.mjs), without npm's own start-up.
//   npm run bench:stack
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from '../stack/keys.js';
import { PROJECT_ROOT } from '../stack/paths.js';
import { descendants, programName } from '../test/harness/processes.js';
import { makeWorkdir } from './local-stack.js';

const WARM_SAMPLES = 30;
const WARM_STARTS = 3;
const CLOCK_TICKS = 100; // USER_HZ on Linux

interface Running {
    child: ChildProcess;
    readyMs: number;
    /** CPU time (user + system) of the stack's Node process until ready. */
    cpuMs: number;
    /** CPU time of the whole stack until ready: Node, its live children (Postgres…) and the children it waited for (initdb, the Supabase CLI…). */
    treeCpuMs: number;
    stop(): Promise<void>;
}

/** User + system CPU time of a process so far, from /proc; with `waited`, plus that of the children it waited for. */
function cpuMsOf(pid: number, waited = false): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        return ((fields[11]! + fields[12]! + (waited ? fields[13]! + fields[14]! : 0)) * 1000) / CLOCK_TICKS;
    } catch {
        return 0;
    }
}

async function startStack(workdir: string, env: Record<string, string> = {}): Promise<Running> {
    const started = performance.now();
    const child = spawn(process.execPath, ['stack/cli/launch.mjs', 'start', '--workdir', workdir], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
        env: { ...process.env, ...env },
    });
    let stderr = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            if (/ready in \d+ ms/.test(stderr)) resolve();
        });
        child.once('exit', () => reject(new Error(`the stack exited before ready:\n${stderr}`)));
    });
    const readyMs = performance.now() - started;
    const cpuMs = cpuMsOf(child.pid!);
    const treeCpuMs = cpuMsOf(child.pid!, true) + [...descendants(child.pid!).keys()].reduce((sum, pid) => sum + cpuMsOf(pid, true), 0);
    return {
        child,
        readyMs,
        cpuMs,
        treeCpuMs,
        stop: async () => {
            process.kill(-child.pid!, 'SIGINT');
            await exited;
            // The stack's children finish their own shutdown right after.
            const deadline = Date.now() + 30_000;
            while (descendants(child.pid!).size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        },
    };
}


function rssOf(pid: number): number {
    try {
        const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
    } catch {
        return 0;
    }
}

/** Proportional set size: the process's private memory plus its share of pages it shares (shared memory counted once overall). */
function pssOf(pid: number): number {
    try {
        const match = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
    } catch {
        return 0;
    }
}

/** Memory of the stack process tree, by kind (node, postgres, deno, other): RSS summed, and PSS. */
function stackMemory(root: number): { rss: Record<string, number>; pss: Record<string, number> } {
    const rss: Record<string, number> = { node: rssOf(root), postgres: 0, deno: 0, other: 0 };
    const pss: Record<string, number> = { node: pssOf(root), postgres: 0, deno: 0, other: 0 };
    for (const [pid, command] of descendants(root)) {
        const program = programName(command);
        const kind = program.startsWith('node') ? 'node' : program.startsWith('postgres') ? 'postgres' : program === 'deno' ? 'deno' : 'other';
        rss[kind] = (rss[kind] ?? 0) + rssOf(pid);
        pss[kind] = (pss[kind] ?? 0) + pssOf(pid);
    }
    return { rss, pss };
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

const HELLO = { 'bench-hello': { entrypoint: path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions', 'hello', 'index.ts'), verify_jwt: false } };
const workdirs: string[] = [];
const fresh = async () => {
    const made = await makeWorkdir(HELLO);
    workdirs.push(made.dir);
    return made;
};
try {
    // A fresh data directory built from scratch (no template used or saved) …
    const scratch = await fresh();
    const built = await startStack(scratch.dir, { TILLBASE_DB_TEMPLATES: 'off' });
    await built.stop();
    // … then one that saves the template if no earlier run did, and one that copies it.
    const saving = await fresh();
    await (await startStack(saving.dir)).stop();
    const { dir, apiUrl } = await fresh();
    const cold = await startStack(dir);
    const components = (JSON.parse(fs.readFileSync(path.join(dir, '.local', 'stack.json'), 'utf8')) as { components: Record<string, string> }).components;
    const idle = stackMemory(cold.child.pid!);
    const coldInvoke = await invoke(apiUrl);
    const warm: number[] = [];
    for (let i = 0; i < WARM_SAMPLES; i++) warm.push(await invoke(apiUrl));
    warm.sort((a, b) => a - b);
    const busy = stackMemory(cold.child.pid!);
    const scrapes: number[] = [];
    for (let i = 0; i < 10; i++) scrapes.push(await scrapeMs(apiUrl));
    scrapes.sort((a, b) => a - b);
    const recovery = await postgresRecoveryMs(dir, apiUrl);
    await cold.stop();

    const warmStarts: Running[] = [];
    for (let i = 0; i < WARM_STARTS; i++) {
        const again = await startStack(dir);
        warmStarts.push(again);
        await again.stop();
    }
    const warmReady = warmStarts.map((r) => r.readyMs).sort((a, b) => a - b);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

    const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const kinds = (r: Record<string, number>) => `node ${mb(r.node!)}, postgres ${mb(r.postgres!)}, deno ${mb(r.deno!)}, other ${mb(r.other!)}`;
    const rows: Array<[string, string]> = [
        ['components', Object.entries(components).map(([name, state]) => `${name} ${state.startsWith('not available') ? 'not available locally' : state}`).join(', ')],
        ['time to ready, cold, built (initdb + platform + migrations + seed)', `${ms(built.readyMs)} (CPU: node ${ms(built.cpuMs)}, whole stack ${ms(built.treeCpuMs)})`],
        ['time to ready, cold, from the migrated template', `${ms(cold.readyMs)} (CPU: node ${ms(cold.cpuMs)}, whole stack ${ms(cold.treeCpuMs)})`],
        [
            `time to ready, warm (existing data dir), median of ${WARM_STARTS}`,
            `${ms(median(warmReady))} (runs: ${warmReady.map(ms).join(', ')}; CPU: node ${ms(median(warmStarts.map((r) => r.cpuMs)))}, whole stack ${ms(median(warmStarts.map((r) => r.treeCpuMs)))})`,
        ],
        // (The scheduler may already have started a function's Deno worker: it is shown apart.)
        ['stack memory after ready, node + postgres, PSS (shared counted once)', `${mb(idle.pss.node! + idle.pss.postgres!)} (${kinds(idle.pss)})`],
        ['stack memory after ready, node + postgres, RSS summed per process', `${mb(idle.rss.node! + idle.rss.postgres!)} (${kinds(idle.rss)})`],
        ['stack memory with one function worker, PSS', `${mb(total(busy.pss))} (${kinds(busy.pss)})`],
        ['function invocation, cold (starts the Deno worker)', ms(coldInvoke)],
        [`function invocation, warm (median of ${WARM_SAMPLES})`, ms(warm[Math.floor(warm.length / 2)]!)],
        [`function invocation, warm p90`, ms(warm[Math.floor(warm.length * 0.9)]!)],
        ['metrics scrape incl. SQL views (median of 10)', ms(scrapes[5]!)],
        ['PostgreSQL SIGKILL → REST answers 200 again', ms(recovery)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    const [load1] = os.loadavg();
    console.log(`local stack on ${os.cpus().length} cores, Node ${process.version}, load average ${load1!.toFixed(1)} (a loaded machine stretches every wall time)`);
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
} finally {
    for (const dir of workdirs) fs.rmSync(dir, { recursive: true, force: true });
}
