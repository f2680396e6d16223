// `supabase init` + `supabase functions new hello`, unchanged, served by `npm start` with no
// network: the template's imports (`jsr:@supabase/functions-js/edge-runtime.d.ts` through
// its deno.json, `npm:@supabase/server`) resolve from node_modules, supabase-js invokes it
// through the gateway, and the services the init config enables that the stack does not
// run are listed as "not available locally".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../stack/db/cluster.js';
import { runSupabaseCli } from '../../stack/db/supabase-cli.js';
import { LOCAL_PUBLISHABLE_KEY } from '../../stack/keys.js';
import type { StackStatus } from '../../stack/cli/status-file.js';
import { killGroup, launch, runCli, type Launched } from '../harness/local-stack.js';
import { testClient } from '../stack/gateway/supabase-client.js';

vi.setConfig({ testTimeout: 120_000 });

describe('a project made by supabase init and functions new', () => {
    let workdir: string;
    let api: string;
    let stack: Launched;

    beforeAll(async () => {
        workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-functions-new-'));
        fs.chmodSync(workdir, 0o755); // PostgreSQL runs as its own OS user under root
        await runSupabaseCli(['init'], { workdir });
        await runSupabaseCli(['functions', 'new', 'hello'], { workdir });
        // Only the ports change (free ones, so that nothing collides — the Stripe fake's
        // default 54330 included, which another e2e stack may hold): the rest is the CLI's.
        const ports = { api: await freePort(), db: await freePort(), mail: await freePort(), stripe: await freePort() };
        const configFile = path.join(workdir, 'supabase', 'config.toml');
        const config = fs
            .readFileSync(configFile, 'utf8')
            .replace(/^port = 54321$/m, `port = ${ports.api}`)
            .replace(/^port = 54322$/m, `port = ${ports.db}`)
            .replace(/^port = 54324$/m, `port = ${ports.mail}`);
        fs.writeFileSync(configFile, `${config}\n[local_stripe]\nport = ${ports.stripe}\n`);
        api = `http://127.0.0.1:${ports.api}`;
        stack = await launch(workdir);
    }, 120_000);

    afterAll(async () => {
        if (stack) {
            process.kill(-stack.child.pid!, 'SIGINT');
            await Promise.race([stack.exited, new Promise((resolve) => setTimeout(resolve, 40_000))]);
            killGroup(stack);
        }
        if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
    }, 60_000);

    it('uses the template unchanged: its deno.json imports jsr:@supabase/functions-js', () => {
        const denoJson = JSON.parse(fs.readFileSync(path.join(workdir, 'supabase', 'functions', 'hello', 'deno.json'), 'utf8')) as { imports: Record<string, string> };
        expect(denoJson.imports['@supabase/functions-js']).toMatch(/^jsr:/);
        expect(fs.readFileSync(path.join(workdir, 'supabase', 'functions', 'hello', 'index.ts'), 'utf8')).toContain('import "@supabase/functions-js/edge-runtime.d.ts"');
    });

    it('invokes the new function through the gateway with supabase-js', async () => {
        const { data, error } = await testClient(api, LOCAL_PUBLISHABLE_KEY).functions.invoke('hello', { body: { name: 'Functions' } });
        expect(error).toBeNull();
        expect(data).toEqual({ message: 'Hello Functions!' });
    });

    it('lets the function judge an API key the gateway does not know (its own 401, not the gateway\'s)', async () => {
        const response = await fetch(`${api}/functions/v1/hello`, { method: 'POST', headers: { apikey: 'sb_publishable_notthisprojectskeynotthisproj' }, body: '{"name":"x"}' });
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ source: '@supabase/server', code: 'INVALID_API_KEY' });
    });

    it('lists the services config.toml enables that the stack does not run as not available locally', async () => {
        expect(stack.out.stderr).toMatch(/not available locally \(enabled in config\.toml, not run by the local stack\): .*studio/);
        const result = await runCli(['status', '-o', 'json'], workdir);
        expect(result.status, result.stderr).toBe(0);
        const { components } = JSON.parse(result.stdout) as StackStatus;
        expect(components).toMatchObject({
            functions: 'running',
            studio: 'not available locally: Supabase Studio ([studio] enabled = true in config.toml)',
            analytics: expect.stringMatching(/^not available locally: /),
            'storage-s3': expect.stringMatching(/^not available locally: /),
        });
        if (!('storage' in components) || components.storage!.startsWith('not available')) {
            const storage = await fetch(`${api}/storage/v1/bucket`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
            expect(storage.status).toBe(503);
            expect(((await storage.json()) as { message: string }).message).toMatch(/^storage is not available locally/);
        }
        expect((await runCli(['status'], workdir)).stdout).toMatch(/studio: not available locally/);
    });
});
