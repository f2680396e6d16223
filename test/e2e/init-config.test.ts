// The stack starts a project whose config.toml is the one `supabase init` (the real CLI from
// node_modules) writes — with project_id removed and the email/phone switches under their
// deprecated name `enable_signup`, as older projects have them (only the ports are moved to
// free ones). Supabase CLI 3.x starts such a project with warnings; so must `npm start`:
// the same warnings, and auth running with the email provider on.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../stack/db/cluster.js';
import { LOCAL_PUBLISHABLE_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';

const run = promisify(execFile);

let workdir: string;
let api: number;
let child: ChildProcess | undefined;
let exited: Promise<number | null> | undefined;
const out = { stdout: '', stderr: '' };

beforeAll(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-init-'));
    workdir = path.join(root, 'older-shop');
    fs.mkdirSync(workdir);
    fs.chmodSync(root, 0o755); // PostgreSQL runs as its own OS user under root
    fs.chmodSync(workdir, 0o755);
    await run(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'supabase'), ['init'], { cwd: workdir, timeout: 60_000 });
    const file = path.join(workdir, 'supabase', 'config.toml');
    [api] = [await freePort()];
    const [db, mail] = [await freePort(), await freePort()];
    const config = fs
        .readFileSync(file, 'utf8')
        .replace(/^project_id = .*\n/m, '')
        .replace(/(# To block new signups only, set enable_signup = false under \[auth\] instead\.\n)enabled = (true|false)\n/g, '$1enable_signup = $2\n')
        .replace('[api]\nenabled = true\n# Port to use for the API URL.\nport = 54321', `[api]\nenabled = true\nport = ${api}`)
        .replace('# Port to use for the local database URL.\nport = 54322', `port = ${db}`)
        .replace('# Port to use for the email testing server web interface.\nport = 54324', `port = ${mail}`);
    expect(config).not.toMatch(/^project_id =/m);
    expect(config.match(/^enable_signup = /gm)).toHaveLength(3);
    for (const port of [api, db, mail]) expect(config).toContain(`port = ${port}\n`);
    // The Stripe fake off its default 54330, which another e2e stack may hold.
    fs.writeFileSync(file, `${config}\n[local_stripe]\nport = ${await freePort()}\n`);

    child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/cli/main.ts', 'start', '--workdir', workdir], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
    });
    child.stdout!.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    await vi.waitFor(
        () => {
            if (child!.exitCode !== null) throw new Error(`start exited early:\n${out.stderr}`);
            expect(out.stderr).toMatch(/ready in \d+ ms/);
        },
        { timeout: 110_000, interval: 200 },
    );
}, 180_000);

afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
        process.kill(-child.pid, 'SIGINT');
        const stopped = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
        if (stopped === 'timeout') process.kill(-child.pid, 'SIGKILL');
    }
    if (workdir) fs.rmSync(path.dirname(workdir), { recursive: true, force: true });
}, 60_000);

describe('npm start with the config `supabase init` writes, for an older CLI', () => {
    it('prints the CLI warnings for the deprecated keys and runs every component, auth included', () => {
        expect(out.stderr).toContain('WARN: auth.email.enable_signup is deprecated and will be removed in v4, use auth.email.enabled instead.');
        expect(out.stderr).toContain('WARN: auth.sms.enable_signup is deprecated and will be removed in v4, use auth.sms.enabled instead.');
        const status = JSON.parse(fs.readFileSync(path.join(workdir, '.local', 'stack.json'), 'utf8')) as { components: Record<string, string> };
        expect(status.components).toMatchObject({ database: 'running', rest: 'running', auth: 'running', gateway: 'running' });
    });

    it('auth answers: the email provider is on, a sign-up gets a session', async () => {
        const base = `http://127.0.0.1:${api}/auth/v1`;
        const settings = (await (await fetch(`${base}/settings`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } })).json()) as { external: Record<string, boolean> };
        expect(settings.external).toMatchObject({ email: true, phone: false });
        const signup = await fetch(`${base}/signup`, {
            method: 'POST',
            headers: { apikey: LOCAL_PUBLISHABLE_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ email: `init-${Date.now()}@example.test`, password: 'init-pass-1' }),
        });
        expect(signup.status).toBe(200);
        expect(((await signup.json()) as { access_token?: string }).access_token).toBeTruthy();
    });
});
