// Functions' remote imports, as on Supabase: with a network they are fetched and cached
// (a module served over loopback HTTP stands for a CDN); without one, the imports Supabase's
// templates, examples and client tests use resolve to installed npm packages or built-in
// equivalents, and any other fails to boot with a reason naming the import.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../../stack/config.js';
import { LOCAL_PUBLISHABLE_KEY } from '../../../stack/keys.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { serveFunctions, type RunningFunctions } from '../../harness/functions.js';
import { testClient } from '../gateway/supabase-client.js';

const FIXTURE_PROJECT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'project');
const denoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-deno-imports-'));
const offline = async () => false;
const started: RunningFunctions[] = [];

afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    fs.rmSync(denoDir, { recursive: true, force: true });
});

const post = async (url: string, name: string) => {
    const response = await fetch(`${url}/functions/v1/${name}`, { method: 'POST', headers: { apikey: LOCAL_PUBLISHABLE_KEY }, body: 'ping' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('offline: the imports of Supabase templates and examples', () => {
    let stack: RunningFunctions;
    beforeAll(async () => {
        stack = await serveFunctions(loadProjectConfig(FIXTURE_PROJECT), { denoDir, network: offline });
        started.push(stack);
    });

    it('resolves deno.land/std serve, esm.sh, jsr: and npm: supabase-js, its /cors helper and functions-js without a network', async () => {
        const { data, error } = await testClient(stack.url, LOCAL_PUBLISHABLE_KEY).functions.invoke('supabase-imports', { body: 'ping' });
        expect(error).toBeNull();
        expect(data).toEqual({ esmSh: 'function', jsr: 'function', npm: 'function', sameModule: true, functionsClient: 'function', corsAllowsApikey: true, body: 'ping' });
    });

    it('answers the CORS preflight with the headers of supabase-js/cors', async () => {
        const response = await fetch(`${stack.url}/functions/v1/supabase-imports`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' } });
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-headers')).toContain('x-client-info');
    });

    it('fails to boot on any other remote import with 503 BOOT_ERROR naming it', async () => {
        expect(await post(stack.url, 'remote-missing')).toEqual({
            status: 503,
            body: {
                code: 'BOOT_ERROR',
                message: expect.any(String),
                reason: expect.stringMatching(/^import "https:\/\/deno\.land\/x\/tillbase_fixture_missing@1\.0\.0\/mod\.ts" cannot be resolved offline/),
            },
        });
        const health = await stack.functions.health();
        expect(health.degraded).toContain('remote-missing (import "https://deno.land/x/tillbase_fixture_missing@1.0.0/mod.ts"');
    });
});

describe('an import map or package the stack cannot serve', () => {
    let project: string;
    beforeAll(() => {
        project = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-imports-'));
        const fn = (name: string, source: string, denoJson?: object) => {
            fs.mkdirSync(path.join(project, 'supabase', 'functions', name), { recursive: true });
            fs.writeFileSync(path.join(project, 'supabase', 'functions', name, 'index.ts'), source);
            if (denoJson) fs.writeFileSync(path.join(project, 'supabase', 'functions', name, 'deno.json'), JSON.stringify(denoJson));
        };
        fn('jsr-other', "import { encodeBase64 } from '@std/encoding';\nDeno.serve(() => new Response(encodeBase64('x')));\n", { imports: { '@std/encoding': 'jsr:@std/encoding@^1' } });
        fn('npm-missing', "import leftPad from 'npm:left-pad@1';\nDeno.serve(() => new Response(leftPad('x', 3)));\n");
        fs.writeFileSync(path.join(project, 'supabase', 'config.toml'), 'project_id = "imports"\n[functions.jsr-other]\nverify_jwt = false\n[functions.npm-missing]\nverify_jwt = false\n');
    });
    afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

    it('names a jsr: package reached through deno.json, and an npm: package that is not installed', async () => {
        const own = await serveFunctions(loadProjectConfig(project), { denoDir, network: offline });
        started.push(own);
        const jsr = await post(own.url, 'jsr-other');
        expect(jsr).toMatchObject({ status: 503, body: { code: 'BOOT_ERROR', reason: expect.stringMatching(/^import "jsr:@std\/encoding@\^1" cannot be resolved offline/) } });
        const npm = await post(own.url, 'npm-missing');
        expect(npm).toMatchObject({ status: 503, body: { code: 'BOOT_ERROR', reason: expect.stringMatching(/^import "npm:left-pad@1" cannot be resolved: no matching package in .*node_modules/) } });
    });
});

describe('online: remote imports are fetched and cached', () => {
    it('fetches a module when its host answers, and boots from the cache once the host is gone', async () => {
        let fetched = 0;
        const server = http.createServer((request, response) => {
            fetched += 1;
            if (request.url !== '/greeting.ts') return response.writeHead(404).end();
            response.writeHead(200, { 'content-type': 'application/typescript' }).end("export const greeting: string = 'fetched over the network';\n");
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        const project = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-imports-online-'));
        const entry = path.join(project, 'supabase', 'functions', 'remote', 'index.ts');
        fs.mkdirSync(path.dirname(entry), { recursive: true });
        fs.writeFileSync(entry, `import { greeting } from '${origin}/greeting.ts';\nDeno.serve(() => Response.json({ greeting }));\n`);
        fs.writeFileSync(path.join(project, 'supabase', 'config.toml'), 'project_id = "online"\n[functions.remote]\nverify_jwt = false\n');
        try {
            // The default network check: a TCP probe of the import's host (here it answers).
            const online = await serveFunctions(loadProjectConfig(project), { denoDir });
            started.push(online);
            expect(await post(online.url, 'remote')).toEqual({ status: 200, body: { greeting: 'fetched over the network' } });
            expect(fetched).toBeGreaterThan(0);
            await online.stop();
            await new Promise<void>((resolve) => server.close(() => resolve()));

            const later = await serveFunctions(loadProjectConfig(project), { denoDir, network: offline });
            started.push(later);
            expect(await post(later.url, 'remote')).toEqual({ status: 200, body: { greeting: 'fetched over the network' } });
        } finally {
            server.close();
            fs.rmSync(project, { recursive: true, force: true });
        }
    });
});
