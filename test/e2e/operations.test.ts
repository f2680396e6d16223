// Operating the running stack, as an operator meets it: a broken function beside good
// ones, `npm run status` from another process, the Prometheus endpoint scraped as
// Prometheus would, Postgres killed with SIGKILL under load, `db:reset` while the stack
// runs, and `npm run logs` reading it all back.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../stack/db/cluster.js';
import { LOCAL_ANON_KEY, LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import type { LogLine } from '../../stack/log.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import type { StackStatus } from '../../stack/cli/status-file.js';
import { alive, killGroup, launch, makeProject, runCli, type Launched, type Ports } from '../harness/local-stack.js';
import { parseExposition, sampleValue } from '../harness/prometheus.js';

// Each test runs CLI processes (tsx) that take seconds each on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

const APP_MIGRATION = `
create table public.notes (id int primary key, body text not null);
alter table public.notes enable row level security;
create policy "Anyone can read notes" on public.notes for select to anon using (true);
grant select on public.notes to anon;
insert into public.notes values (1, 'kept across restarts');

create schema metrics;
revoke all on schema metrics from public, anon, authenticated, service_role;
create view metrics.e2e_probe with (security_invoker = true) as select 'probe'::text as kind, 42::bigint as value;
`;

/** Requests whose answer never arrives within this time count as hanging. */
const REQUEST_TIMEOUT_MS = 15_000;

let ports: Ports;
let workdir: string;
let api: string;
let stack: Launched;
const user = { email: `ops-${Date.now()}@example.test`, password: 'operations-123456' };
let accessToken: string;

const restNotes = () => fetch(`${api}/rest/v1/notes?select=id,body`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
const signIn = () =>
    fetch(`${api}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { apikey: LOCAL_PUBLISHABLE_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(user),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
/** Reads the signed-in user (a database query in the auth server, no rate limit, no bcrypt). */
const currentUser = () =>
    fetch(`${api}/auth/v1/user`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY, authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
const signUp = () =>
    fetch(`${api}/auth/v1/signup`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY, 'content-type': 'application/json' }, body: JSON.stringify(user) });
const basic = (password: string, name = 'service_role') => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
const scrape = (authorization?: string) => fetch(`${api}/customer/v1/privileged/metrics`, { headers: authorization ? { authorization } : {} });

async function liveStatus(): Promise<StackStatus> {
    const result = await runCli(['status', '-o', 'json'], workdir);
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as StackStatus;
}

function logLines(): LogLine[] {
    return fs
        .readFileSync(path.join(workdir, '.local', 'stack.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogLine);
}

async function metricsNow() {
    const response = await scrape(basic(LOCAL_SECRET_KEY));
    expect(response.status).toBe(200);
    return parseExposition(await response.text());
}

beforeAll(async () => {
    ports = { api: await freePort(), db: await freePort(), mail: await freePort(), smtp: await freePort(), stripe: await freePort() };
    workdir = makeProject(ports, {
        extraConfig: [
            `[functions.ghost]\nentrypoint = "./nowhere/index.ts"\nverify_jwt = false`,
            `[functions.syntax]\nentrypoint = "../syntax/index.ts"\nverify_jwt = false`,
        ],
        migrations: { '20991231000001_ops_app.sql': APP_MIGRATION },
    });
    fs.mkdirSync(path.join(workdir, 'syntax'));
    fs.writeFileSync(path.join(workdir, 'syntax', 'index.ts'), 'Deno.serve(() => new Response("never"))) ));\n');
    api = `http://127.0.0.1:${ports.api}`;
    stack = await launch(workdir);
    const signedUp = await signUp();
    expect(signedUp.status).toBe(200);
    accessToken = ((await signedUp.json()) as { access_token: string }).access_token;
}, 150_000);

afterAll(async () => {
    if (stack?.child.pid && stack.child.exitCode === null) {
        process.kill(-stack.child.pid, 'SIGINT');
        await Promise.race([stack.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    killGroup(stack);
    if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

describe('a broken function', () => {
    it('is named in the status table at start and in `status -o json`, while every other component runs', async () => {
        expect(stack.out.stdout).toMatch(/functions: degraded: 1 of 4 function\(s\) cannot run: ghost \(\[functions\.ghost\] entrypoint: .*nowhere\/index\.ts does not exist\)/);
        const status = await liveStatus();
        expect(status.components).toMatchObject({ database: 'running', mail: 'running', rest: 'running', auth: 'running', gateway: 'running', scheduler: 'running' });
        expect(status.components.functions).toMatch(/^degraded: .*ghost/);
        expect(status.details!.database).toMatchObject({ state: 'running', restarts: 0, last_error: null });
        expect(status.details!.database!.pids).toHaveLength(1);
        expect(alive(status.details!.database!.pids[0]!)).toBe(true);
    });

    it('answers 503 BOOT_ERROR with its reason while the good functions answer 200', async () => {
        const call = (name: string) => fetch(`${api}/functions/v1/${name}`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY }, body: '{}' });
        const ghost = await call('ghost');
        expect(ghost.status).toBe(503);
        expect(await ghost.json()).toMatchObject({ code: 'BOOT_ERROR', reason: expect.stringContaining('[functions.ghost] entrypoint') });
        const syntax = await call('syntax');
        expect(syntax.status).toBe(503);
        expect(await syntax.json()).toMatchObject({ code: 'BOOT_ERROR', reason: expect.any(String) });
        expect((await call('public')).status).toBe(200);
        const hello = await fetch(`${api}/functions/v1/hello`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(hello.status).toBe(200);
        // The code error is known once the function was tried: status names it too.
        expect((await liveStatus()).components.functions).toMatch(/^degraded: 2 of 4 .*ghost.*syntax/);
    });
});

describe('the metrics endpoint', () => {
    it('answers 401 without credentials or with wrong ones', async () => {
        for (const authorization of [undefined, basic('nope'), basic(LOCAL_SECRET_KEY, 'postgres'), basic(LOCAL_ANON_KEY), `Bearer ${LOCAL_SERVICE_ROLE_KEY}`]) {
            expect((await scrape(authorization)).status).toBe(401);
        }
    });

    it('serves valid exposition format with every family, and the gauges of a metrics view added by a migration', async () => {
        await fetch(`${api}/auth/v1/otp`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ email: `otp-${Date.now()}@example.test` }) });
        await vi.waitFor(async () => expect(sampleValue(await metricsNow(), 'stack_scheduler_runs_total', { job: 'e2e-every-second', status: '200' })).toBeGreaterThan(0), {
            timeout: 15_000,
            interval: 250,
        });
        for (const password of [LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY]) {
            const families = parseExposition(await (await scrape(basic(password))).text());
            for (const family of [
                'stack_http_requests_total',
                'stack_http_request_duration_seconds',
                'stack_db_pool_connections',
                'stack_db_pool_errors_total',
                'stack_postgres_up',
                'stack_postgres_restarts_total',
                'stack_component_up',
                'stack_function_boots_total',
                'stack_function_invocations_total',
                'stack_function_errors_total',
                'stack_function_wall_seconds',
                'stack_scheduler_runs_total',
                'stack_scheduler_failures_total',
                'stack_scheduler_lateness_seconds',
                'stack_mail_sent_total',
            ]) {
                expect(families.has(family), family).toBe(true);
            }
            expect(sampleValue(families, 'stack_postgres_up')).toBe(1);
            expect(sampleValue(families, 'stack_mail_sent_total')).toBeGreaterThanOrEqual(1);
            expect(sampleValue(families, 'stack_function_errors_total', { function: 'ghost', code: 'BOOT_ERROR' })).toBeGreaterThanOrEqual(1);
            expect(sampleValue(families, 'stack_function_invocations_total', { function: 'public', status: '200' })).toBeGreaterThan(0);
            expect(sampleValue(families, 'stack_http_requests_total', { service: 'auth', route: '/signup', status: '200' })).toBe(1);
            expect(sampleValue(families, 'stack_db_pool_connections', { pool: 'rest', state: 'total' })).toBeGreaterThanOrEqual(0);
            expect(sampleValue(families, 'db_e2e_probe_value', { kind: 'probe' })).toBe(42);
        }
    });
});

describe('Postgres killed under load', () => {
    it('is restarted on its data; REST and auth answer again, no request hangs, and status, log and metrics show the restart', async () => {
        const before = (await liveStatus()).details!.database!.pids[0]!;
        const outcomes: Array<{ service: string; status: number | 'timeout' | 'network'; code?: string }> = [];
        let loading = true;
        const worker = async (service: 'rest' | 'auth') => {
            while (loading) {
                try {
                    const response = await (service === 'rest' ? restNotes() : currentUser());
                    const body = (await response.json().catch(() => ({}))) as { code?: string | number; error_code?: string };
                    outcomes.push({ service, status: response.status, code: String(body.error_code ?? body.code ?? '') });
                } catch (error) {
                    outcomes.push({ service, status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network' });
                }
            }
        };
        const load = [worker('rest'), worker('rest'), worker('auth')];
        await vi.waitFor(() => expect(outcomes.filter((o) => o.status === 200).length).toBeGreaterThan(5), { timeout: 10_000 });

        process.kill(before, 'SIGKILL');
        const killedAt = outcomes.length;
        await vi.waitFor(
            async () => {
                expect((await restNotes()).status).toBe(200);
                expect((await currentUser()).status).toBe(200);
            },
            { timeout: 60_000, interval: 200 },
        );
        loading = false;
        await Promise.all(load);

        // Every request got an answer: 200, or the service's own "unavailable" answer. A
        // statement in flight when the postmaster died is ended by its backend with FATAL
        // 57P01 ("terminating connection due to unexpected postmaster exit"), which PostgREST
        // answers as any SQLSTATE of class 57: 500 with the code. Later requests get 503/504.
        expect(outcomes.filter((o) => o.status === 'timeout' || o.status === 'network')).toEqual([]);
        for (const outcome of outcomes.filter((o) => o.status !== 200)) {
            if (outcome.service === 'rest' && outcome.status === 500) expect(outcome.code, JSON.stringify(outcome)).toBe('57P01');
            else if (outcome.service === 'rest') expect([503, 504], JSON.stringify(outcome)).toContain(outcome.status);
            if (outcome.service === 'rest' && outcome.status !== 500) expect(['PGRST000', 'PGRST001', 'PGRST003']).toContain(outcome.code);
            if (outcome.service === 'auth') expect(outcome).toMatchObject({ status: 500, code: 'unexpected_failure' });
        }
        expect(outcomes.length).toBeGreaterThan(killedAt);

        const status = await liveStatus();
        expect(status.components.database).toBe('running');
        expect(status.details!.database).toMatchObject({ restarts: 1, last_error: { message: 'PostgreSQL was killed by SIGKILL' } });
        expect(status.details!.database!.pids[0]).not.toBe(before);

        const database = logLines().filter((l) => l.component === 'database');
        expect(database.some((l) => l.level === 'error' && /stopped unexpectedly: PostgreSQL was killed by SIGKILL/.test(l.msg))).toBe(true);
        expect(database.some((l) => /restarted \(restart 1\)/.test(l.msg))).toBe(true);
        // The services lost their connections once and said so once, not once per request.
        const restLost = logLines().filter((l) => l.component === 'rest' && /^database connection failed/.test(l.msg));
        expect(restLost.length).toBeGreaterThanOrEqual(1);
        expect(restLost.length).toBeLessThanOrEqual(2);

        const families = await metricsNow();
        expect(sampleValue(families, 'stack_postgres_restarts_total')).toBe(1);
        expect(sampleValue(families, 'stack_postgres_up')).toBe(1);
        expect(sampleValue(families, 'stack_component_restarts_total', { component: 'database' })).toBe(1);

        const logs = await runCli(['logs', 'database'], workdir);
        expect(logs.status).toBe(0);
        expect(logs.stdout).toMatch(/ERROR database +database stopped unexpectedly: PostgreSQL was killed by SIGKILL/);
        expect(logs.stdout.split('\n').filter(Boolean).every((line) => / database /.test(line))).toBe(true);
    }, 120_000);
});

describe('db:reset while the stack runs', () => {
    it('recreates the database and the stack keeps serving afterwards, saying so in its log', async () => {
        const reset = await runCli(['db-reset'], workdir, 110_000);
        expect(reset.status, reset.stderr).toBe(0);
        await vi.waitFor(
            async () => {
                const notes = await restNotes();
                expect(notes.status).toBe(200);
                expect(await notes.json()).toEqual([{ id: 1, body: 'kept across restarts' }]);
            },
            { timeout: 30_000, interval: 250 },
        );
        // The reset dropped every user: signing up again works against the new database.
        const again = await signUp();
        expect(again.status).toBe(200);
        expect((await signIn()).status).toBe(200);
        const status = await liveStatus();
        expect(status.components).toMatchObject({ database: 'running', rest: 'running', auth: 'running' });
        expect(status.details!.database!.restarts).toBe(1); // the reset is no crash
        const rest = logLines().filter((l) => l.component === 'rest');
        expect(rest.some((l) => /recovered after/.test(l.msg))).toBe(true);
    }, 150_000);
});

describe('npm run logs --follow', () => {
    it('prints new lines of one component as they are written', async () => {
        const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/cli/main.ts', 'logs', 'scheduler', '--follow', '-o', 'json', '--workdir', workdir], {
            cwd: PROJECT_ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
        try {
            const seen = () => out.split('\n').filter(Boolean).length;
            await vi.waitFor(() => expect(seen()).toBeGreaterThan(0), { timeout: 60_000 });
            const first = seen();
            // The job runs every second: a new line arrives while following.
            await vi.waitFor(() => expect(seen()).toBeGreaterThan(first), { timeout: 60_000 });
            const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
            expect(lines.every((l) => l.component === 'scheduler')).toBe(true);
        } finally {
            child.kill('SIGINT');
        }
    });
});
