// Edge functions on real Deno, through the gateway, called with supabase-js
// `functions.invoke` the way frontends call them. Fixtures: test/fixtures/functions,
// wired by test/fixtures/project/supabase/config.toml.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FunctionsHttpError } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadProjectConfig, type ProjectConfig } from '../../../stack/config.js';
import { LOCAL_ANON_KEY, LOCAL_PUBLISHABLE_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { serveFunctions, UNUSED_DB_URL, type RunningFunctions } from '../../harness/functions.js';
import { testClient } from '../gateway/supabase-client.js';

const FIXTURE_PROJECT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'project');
const denoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-deno-'));

/** This machine reaches no host but the npm registry: remote imports are judged offline. */
const offline = async () => false;

const serve = (config: ProjectConfig, limits: { wallClockMs?: number; idleTimeoutMs?: number; shutdownGraceMs?: number } = {}) =>
    serveFunctions(config, { denoDir, network: offline, ...limits });

let stack: RunningFunctions;
const started: RunningFunctions[] = [];

beforeAll(async () => {
    stack = await serve(loadProjectConfig(FIXTURE_PROJECT), { wallClockMs: 1_500 });
    started.push(stack);
});

afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    fs.rmSync(denoDir, { recursive: true, force: true });
});

const anon = () => testClient(stack.url, LOCAL_ANON_KEY);

async function failure(error: unknown): Promise<{ status: number; body: unknown }> {
    expect(error).toBeInstanceOf(FunctionsHttpError);
    const response = (error as FunctionsHttpError).context as Response;
    return { status: response.status, body: await response.json() };
}

describe('routing', () => {
    it('runs a Deno.serve function, which sees the path /<name>/…', async () => {
        const { data, error } = await anon().functions.invoke('hello/orders/42', { body: { ping: true } });
        expect(error).toBeNull();
        expect(data).toMatchObject({ style: 'Deno.serve', method: 'POST', path: '/hello/orders/42', body: '{"ping":true}' });
    });

    it('runs an `export default { fetch }` function', async () => {
        const { data, error } = await anon().functions.invoke('fetch-style', { method: 'GET' });
        expect(error).toBeNull();
        expect(data).toEqual({ style: 'export default', path: '/fetch-style' });
    });

    it('answers 404 for an unknown function', async () => {
        const { error } = await anon().functions.invoke('no-such-function');
        expect(await failure(error)).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Function not found' } });
    });

    it('does not serve a function declared with enabled = false', async () => {
        const { error } = await anon().functions.invoke('disabled');
        expect((await failure(error)).status).toBe(404);
    });
});

describe('environment', () => {
    it('gives the platform variables and the env file, without user SUPABASE_ names', async () => {
        const { data, error } = await anon().functions.invoke('env', { method: 'GET' });
        expect(error).toBeNull();
        expect(data).toEqual({
            supabaseJs: true,
            env: {
                SUPABASE_URL: 'http://127.0.0.1:0',
                SUPABASE_ANON_KEY: LOCAL_ANON_KEY,
                SUPABASE_SERVICE_ROLE_KEY: LOCAL_SERVICE_ROLE_KEY,
                SUPABASE_DB_URL: UNUSED_DB_URL,
                SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: LOCAL_PUBLISHABLE_KEY }),
                SUPABASE_SECRET_KEYS: expect.stringMatching(/^\{"default":"sb_secret_/),
                FIXTURE_SECRET: 'from-env-file',
                SUPABASE_FORBIDDEN: null,
            },
        });
        expect(stack.logs.some((l) => l.level === 'warn' && l.msg.includes('SUPABASE_FORBIDDEN'))).toBe(true);
    });
});

describe('verify_jwt', () => {
    const forged = () =>
        new SignJWT({ role: 'service_role' })
            .setProtectedHeader({ alg: 'HS256' })
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode('not-the-project-secret-but-32-characters-long'));

    it('refuses a JWT the project did not sign with 401 Invalid JWT', async () => {
        const client = testClient(stack.url, LOCAL_PUBLISHABLE_KEY, await forged());
        const { error } = await client.functions.invoke('hello');
        expect(await failure(error)).toEqual({ status: 401, body: { msg: 'Invalid JWT' } });
    });

    it('refuses a request without Authorization', async () => {
        const response = await fetch(`${stack.url}/functions/v1/hello`);
        expect(response.status).toBe(401);
    });

    it('accepts the publishable key, which the gateway turns into the anon JWT', async () => {
        const { data, error } = await testClient(stack.url, LOCAL_PUBLISHABLE_KEY).functions.invoke('hello');
        expect(error).toBeNull();
        expect((data as { authorization: string }).authorization).toBe(`Bearer ${LOCAL_ANON_KEY}`);
    });

    it('lets any request reach a function with verify_jwt = false', async () => {
        const client = testClient(stack.url, LOCAL_PUBLISHABLE_KEY, await forged());
        const { data, error } = await client.functions.invoke('public');
        expect(error).toBeNull();
        expect(data).toEqual({ public: true });
    });

    it('lets OPTIONS preflights through to the function without a JWT', async () => {
        const response = await fetch(`${stack.url}/functions/v1/public`, {
            method: 'OPTIONS',
            headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-headers')).toContain('apikey');
        const guarded = await fetch(`${stack.url}/functions/v1/hello`, { method: 'OPTIONS' });
        expect(guarded.status).toBe(200);
        expect(((await guarded.json()) as { method: string }).method).toBe('OPTIONS');
    });
});

describe('API keys on /functions/v1 (no key-auth there, as on Supabase)', () => {
    const UNKNOWN_KEY = 'sb_publishable_notthisprojectskeynotthisproj';
    const call = async (name: string, headers: Record<string, string>) => {
        const response = await fetch(`${stack.url}/functions/v1/${name}`, { method: 'POST', headers, body: '{}' });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('passes an apikey it does not know through to a verify_jwt = false function, unchanged', async () => {
        const result = await call('hello-open', { apikey: UNKNOWN_KEY });
        expect(result.status).toBe(200);
        expect(result.body).toMatchObject({ style: 'Deno.serve', apikey: UNKNOWN_KEY, authorization: null });
    });

    it('passes an unknown opaque key in Authorization through as well', async () => {
        const result = await call('hello-open', { authorization: `Bearer ${UNKNOWN_KEY}` });
        expect(result).toMatchObject({ status: 200, body: { authorization: `Bearer ${UNKNOWN_KEY}`, apikey: null } });
    });

    it('leaves JWT checks to verify_jwt: an unknown apikey with a forged JWT gets 401 Invalid JWT from it', async () => {
        const forgedJwt = await new SignJWT({ role: 'anon' })
            .setProtectedHeader({ alg: 'HS256' })
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode('not-the-project-secret-but-32-characters-long'));
        expect(await call('hello', { apikey: UNKNOWN_KEY, authorization: `Bearer ${forgedJwt}` })).toEqual({ status: 401, body: { msg: 'Invalid JWT' } });
        expect(await call('hello', { apikey: UNKNOWN_KEY })).toEqual({ status: 401, body: { msg: 'Error: Missing authorization header' } });
    });

    it('still turns a known opaque key into its JWT', async () => {
        const result = await call('hello', { apikey: LOCAL_PUBLISHABLE_KEY });
        expect(result).toMatchObject({ status: 200, body: { apikey: LOCAL_PUBLISHABLE_KEY, authorization: `Bearer ${LOCAL_ANON_KEY}` } });
    });
});

describe('runtime errors', () => {
    it('answers 500 WORKER_ERROR for an uncaught exception, and logs it', async () => {
        const { error } = await anon().functions.invoke('boom');
        expect(await failure(error)).toEqual({ status: 500, body: { code: 'WORKER_ERROR', message: expect.any(String) } });
        expect(stack.logs.some((l) => l.function === 'boom' && l.msg.includes('boom: fixture failure'))).toBe(true);
    });

    it('answers 503 BOOT_ERROR when the module fails to load, with the error in the log', async () => {
        const { error } = await anon().functions.invoke('boot-fail');
        expect(await failure(error)).toEqual({ status: 503, body: { code: 'BOOT_ERROR', message: expect.any(String), reason: expect.stringContaining('FIXTURE_REQUIRED_BUT_MISSING') } });
        const logged = stack.logs.find((l) => l.function === 'boot-fail' && l.msg === 'function failed to boot');
        expect(String(logged?.error)).toContain('FIXTURE_REQUIRED_BUT_MISSING is not set');
    });

    it('answers 546 WORKER_LIMIT past the wall-clock limit', async () => {
        const { error } = await anon().functions.invoke('slow');
        expect(await failure(error)).toEqual({ status: 546, body: { code: 'WORKER_LIMIT', message: expect.any(String) } });
    });

    it('answers 504 when the function sends no response within the idle timeout', async () => {
        const own = await serve(loadProjectConfig(FIXTURE_PROJECT), { idleTimeoutMs: 300, shutdownGraceMs: 500 });
        started.push(own);
        const { error } = await testClient(own.url, LOCAL_ANON_KEY).functions.invoke('slow');
        expect(await failure(error)).toEqual({ status: 504, body: { msg: expect.stringContaining('idle timeout') } });
    });

    it('answers 546 WORKER_LIMIT when the worker runs out of its memory limit, and starts a fresh one', async () => {
        const first = await anon().functions.invoke('memory-hog');
        expect(await failure(first.error)).toEqual({ status: 546, body: { code: 'WORKER_LIMIT', message: expect.any(String) } });
        const second = await anon().functions.invoke('memory-hog');
        expect((await failure(second.error)).status).toBe(546);
    });

    it('keeps serving a function after one of its requests failed', async () => {
        await anon().functions.invoke('boom');
        const { error } = await anon().functions.invoke('hello');
        expect(error).toBeNull();
    });
});

describe('EdgeRuntime.waitUntil', () => {
    it('finishes background work after the response', async () => {
        const file = path.join(denoDir, 'after-response.txt');
        const { data, error } = await anon().functions.invoke('background', { body: { file, delayMs: 200 } });
        expect(error).toBeNull();
        expect(data).toEqual({ accepted: true });
        expect(fs.existsSync(file)).toBe(false);
        await vi.waitFor(() => expect(fs.readFileSync(file, 'utf8')).toBe('background work done'), { timeout: 10_000 });
    });

    it('awaits pending background work when the stack shuts down', async () => {
        const own = await serve(loadProjectConfig(FIXTURE_PROJECT));
        const file = path.join(denoDir, 'at-shutdown.txt');
        const { error } = await testClient(own.url, LOCAL_ANON_KEY).functions.invoke('background', { body: { file, delayMs: 700 } });
        expect(error).toBeNull();
        await own.stop();
        expect(fs.readFileSync(file, 'utf8')).toBe('background work done');
    });
});

describe('code changes', () => {
    it('serves new code and new functions on the next request, without a restart', async () => {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-reload-'));
        fs.mkdirSync(path.join(project, 'supabase', 'functions', 'reloadable'), { recursive: true });
        fs.writeFileSync(path.join(project, 'supabase', 'config.toml'), 'project_id = "reload"\n[functions.reloadable]\nverify_jwt = false\n');
        const source = path.join(project, 'supabase', 'functions', 'reloadable', 'index.ts');
        fs.copyFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions', 'reloadable', 'index.ts'), source);
        const own = await serve(loadProjectConfig(project));
        started.push(own);
        const client = testClient(own.url, LOCAL_ANON_KEY);
        expect((await client.functions.invoke('reloadable', { method: 'GET' })).data).toEqual({ version: 1 });

        fs.writeFileSync(source, fs.readFileSync(source, 'utf8').replace('version: 1', 'version: 2'));
        expect((await client.functions.invoke('reloadable', { method: 'GET' })).data).toEqual({ version: 2 });

        const added = path.join(project, 'supabase', 'functions', 'added', 'index.ts');
        fs.mkdirSync(path.dirname(added));
        fs.writeFileSync(added, "Deno.serve(() => Response.json({ added: true }));\n");
        expect((await client.functions.invoke('added', { method: 'GET' })).data).toEqual({ added: true });
        fs.rmSync(project, { recursive: true, force: true });
    });
});

describe('isolation of broken functions', () => {
    it('serves the good function while each broken one answers 503 BOOT_ERROR with its reason, and health names them', async () => {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-broken-'));
        const fixtures = path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions');
        fs.mkdirSync(path.join(project, 'supabase'), { recursive: true });
        fs.mkdirSync(path.join(project, 'syntax'));
        fs.writeFileSync(path.join(project, 'syntax', 'index.ts'), 'Deno.serve(() => new Response("never"))) ));\n');
        fs.writeFileSync(path.join(project, 'bad-map.json'), '{ "imports": ');
        fs.writeFileSync(
            path.join(project, 'supabase', 'config.toml'),
            [
                'project_id = "broken"',
                `[functions.good]\nentrypoint = "${path.join(fixtures, 'hello', 'index.ts')}"\nverify_jwt = false`,
                `[functions.missing]\nentrypoint = "./nowhere/index.ts"\nverify_jwt = false`,
                `[functions.syntax]\nentrypoint = "${path.join(project, 'syntax', 'index.ts')}"\nverify_jwt = false`,
                `[functions.bad-map]\nentrypoint = "${path.join(fixtures, 'hello', 'index.ts')}"\nimport_map = "${path.join(project, 'bad-map.json')}"\nverify_jwt = false`,
            ].join('\n'),
        );
        try {
            const own = await serve(loadProjectConfig(project));
            started.push(own);
            const call = async (name: string) => {
                const response = await fetch(`${own.url}/functions/v1/${name}`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY }, body: '{}' });
                return { status: response.status, body: (await response.json()) as Record<string, unknown> };
            };
            expect((await call('good')).status).toBe(200);
            const missing = await call('missing');
            expect(missing).toEqual({ status: 503, body: { code: 'BOOT_ERROR', message: expect.any(String), reason: expect.stringMatching(/\[functions\.missing\] entrypoint: .* does not exist/) } });
            const syntax = await call('syntax');
            expect(syntax).toMatchObject({ status: 503, body: { code: 'BOOT_ERROR', reason: expect.stringMatching(/parse|expected|unexpected/i) } });
            const badMap = await call('bad-map');
            expect(badMap).toMatchObject({ status: 503, body: { code: 'BOOT_ERROR', reason: expect.stringMatching(/bad-map\.json|import map|json/i) } });
            // The broken ones did not take the good one down.
            expect((await call('good')).status).toBe(200);

            const health = await own.functions.health();
            expect(health.degraded).toMatch(/^3 of 4 function\(s\) cannot run: /);
            for (const name of ['missing', 'syntax', 'bad-map']) expect(health.degraded).toContain(`${name} (`);
            const states = (health.detail as { functions: Array<{ name: string; state: string; boots: number }> }).functions;
            expect(states.find((f) => f.name === 'good')).toMatchObject({ state: 'running', boots: 1 });
            expect(states.find((f) => f.name === 'missing')).toMatchObject({ state: 'config_error', boots: 0 });
            expect(states.find((f) => f.name === 'syntax')).toMatchObject({ state: 'boot_error' });
        } finally {
            fs.rmSync(project, { recursive: true, force: true });
        }
    });

    it('answers a repeated call of a function that failed to boot without booting it again', async () => {
        const first = await anon().functions.invoke('boot-fail');
        expect((await failure(first.error)).status).toBe(503);
        const boots = async () =>
            ((await stack.functions.health()).detail as { functions: Array<{ name: string; boots: number }> }).functions.find((f) => f.name === 'boot-fail')!.boots;
        const before = await boots();
        const second = await anon().functions.invoke('boot-fail');
        expect(await failure(second.error)).toMatchObject({ status: 503, body: { code: 'BOOT_ERROR' } });
        expect(await boots()).toBe(before);
        expect(stack.logs.filter((l) => l.function === 'boot-fail' && l.msg === 'function failed to boot')).toHaveLength(1);
    });
});
