// `npm start` as a user runs it: a child process on a temporary Supabase project (free
// ports, the fixture functions, one scheduled job), ready, answering on every route, and
// gone without a trace after Ctrl-C (SIGINT).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../stack/db/cluster.js';
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { alive, killGroup, launch, makeProject, runCli, type Launched, type Ports } from '../harness/local-stack.js';
import { LOCAL_STRIPE_SECRET_KEY } from '../../stack/fakes/stripe/index.js';
import { descendants } from '../harness/processes.js';

// Each test runs CLI processes (tsx) that take seconds each on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

describe('npm start', () => {
    let ports: Ports;
    let workdir: string;
    let stack: Launched;
    let stdout = '';
    const later: Launched[] = [];

    beforeAll(async () => {
        ports = { api: await freePort(), db: await freePort(), mail: await freePort(), smtp: await freePort(), stripe: await freePort() };
        workdir = makeProject(ports);
        stack = await launch(workdir);
        stdout = stack.out.stdout;
    }, 120_000);

    afterAll(async () => {
        // Whatever a failed test left behind: the whole process groups.
        [stack, ...later].forEach(killGroup);
        if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
    });

    it('prints the status table with the URLs and keys', () => {
        expect(stdout).toContain(`API URL: http://127.0.0.1:${ports.api}`);
        expect(stdout).toContain(`DB URL: postgresql://postgres:postgres@127.0.0.1:${ports.db}/postgres`);
        expect(stdout).toContain(`Publishable key: ${LOCAL_PUBLISHABLE_KEY}`);
        expect(stdout).toMatch(/functions: running/);
        expect(stdout).toMatch(/gateway: running/);
    });

    it('status -o env prints the variables scripts read', async () => {
        const result = await runCli(['status', '-o', 'env'], workdir);
        expect(result.status).toBe(0);
        for (const name of ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL', 'STORAGE_URL', 'STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET']) {
            expect(result.stdout).toMatch(new RegExp(`^${name}=".+"$`, 'm'));
        }
        expect(result.stdout).toContain(`API_URL="http://127.0.0.1:${ports.api}"`);
        expect(result.stdout).toContain(`STORAGE_URL="http://127.0.0.1:${ports.api}/storage/v1"`);
        expect(result.stdout).toContain(`STRIPE_API_URL="http://127.0.0.1:${ports.stripe}"`);
        expect(result.stdout).toMatch(/^STRIPE_WEBHOOK_SECRET="whsec_\w+"$/m);
    });

    it('eval "$(npm run -s status -- -o env)" sets the variables in a shell, as the README shows', async () => {
        const printed = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn('sh', ['-c', `eval "$(npm run -s status -- -o env --workdir '${workdir}')" && printf '%s\n%s' "$API_URL" "$SECRET_KEY"`], { cwd: PROJECT_ROOT });
            const out = { stdout: '', stderr: '' };
            child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
            child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
            child.once('close', (code) => resolve({ code, ...out }));
        });
        expect(printed.code, printed.stderr).toBe(0);
        expect(printed.stdout).toBe(`http://127.0.0.1:${ports.api}\n${LOCAL_SECRET_KEY}`);
    });

    it('answers on each route of the running components', async () => {
        const api = `http://127.0.0.1:${ports.api}`;
        const fn = await fetch(`${api}/functions/v1/hello`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(fn.status).toBe(200);
        expect(((await fn.json()) as { path: string }).path).toBe('/hello');
        const components = (JSON.parse((await runCli(['status', '-o', 'json'], workdir)).stdout) as { components: Record<string, string> }).components;
        expect(components).toEqual({
            database: 'running',
            mail: 'running',
            erp: 'running',
            rest: 'running',
            auth: 'running',
            stripe: 'running',
            functions: 'running',
            storage: 'running',
            gateway: 'running',
            realtime: 'running',
            scheduler: 'running',
        });
        const stripe = await fetch(`http://127.0.0.1:${ports.stripe}/v1/events?limit=1`, { headers: { authorization: `Bearer ${LOCAL_STRIPE_SECRET_KEY}` } });
        expect(stripe.status).toBe(200);
        expect(await stripe.json()).toMatchObject({ object: 'list', url: '/v1/events' });
        const rest = await fetch(`${api}/rest/v1/`, { headers: { apikey: LOCAL_SECRET_KEY } });
        expect(rest.status).toBe(200);
        const auth = await fetch(`${api}/auth/v1/health`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(auth.status).toBe(200);
        const seeded = await fetch(`${api}/storage/v1/object/public/e2e-files/docs/hello.txt`);
        expect(await seeded.text()).toBe('seeded by objects_path');
        const mail = await fetch(`http://127.0.0.1:${ports.mail}/api/v1/messages`);
        expect(mail.status).toBe(200);
    });

    it('refuses key-less /rest/v1 and /auth/v1 as Kong does, keeping /auth/v1/verify open', async () => {
        const api = `http://127.0.0.1:${ports.api}`;
        for (const path of ['/rest/v1/', '/auth/v1/health']) {
            const response = await fetch(`${api}${path}`);
            expect(response.status, path).toBe(401);
            expect(await response.json(), path).toEqual({ message: 'No API key found in request' });
        }
        const verify = await fetch(`${api}/auth/v1/verify?type=magiclink&token=pkce_`, { redirect: 'manual' });
        expect(verify.status).toBe(303);
        expect(new URLSearchParams(new URL(verify.headers.get('location')!).hash.slice(1)).get('error_code')).toBe('otp_expired');
    });

    it('delivers auth mail to the mail catcher', async () => {
        const api = `http://127.0.0.1:${ports.api}`;
        const email = `e2e-${Date.now()}@example.test`;
        const otp = await fetch(`${api}/auth/v1/otp`, {
            method: 'POST',
            headers: { apikey: LOCAL_PUBLISHABLE_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ email, create_user: true }),
        });
        expect(otp.status).toBe(200);
        await vi.waitFor(
            async () => {
                const list = (await (await fetch(`http://127.0.0.1:${ports.mail}/api/v1/messages`)).json()) as { messages: Array<{ To: Array<{ Address: string }> }> };
                expect(list.messages.some((m) => m.To.some((to) => to.Address === email))).toBe(true);
            },
            { timeout: 10_000, interval: 100 },
        );
    });

    it('accepts mail on the SMTP port and runs an ERP fake (no ERP configured) whose URL status prints', async () => {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.smtp, secure: false, ignoreTLS: true });
        await transport.sendMail({ from: 'shop@example.test', to: 'smtp-e2e@example.test', subject: 'over SMTP', text: 'hello' });
        const list = (await (await fetch(`http://127.0.0.1:${ports.mail}/api/v1/search?query=to:smtp-e2e@example.test`)).json()) as { messages: Array<{ Subject: string }> };
        expect(list.messages.map((m) => m.Subject)).toEqual(['over SMTP']);
        const status = JSON.parse((await runCli(['status', '-o', 'json'], workdir)).stdout) as { ERP_FAKE_URL: string };
        const version = await fetch(`${status.ERP_FAKE_URL}/web/version`);
        expect(((await version.json()) as { version: string }).version).toBe('19.0');
    });

    it('runs the scheduled job declared by the project migration', async () => {
        await vi.waitFor(() => expect(stack.out.stdout).toMatch(/"component":"scheduler","msg":"scheduled job ran","job":"e2e-every-second","function":"public","status":200/), {
            timeout: 15_000,
            interval: 100,
        });
    });

    it('refuses a second start of the same project with a clear message', async () => {
        const result = await runCli(['start'], workdir);
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/already runs \(pid \d+\)/);
        expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('stops on Ctrl-C (SIGINT to the process group), leaving no PostgreSQL or Deno process behind', async () => {
        const before = descendants(stack.child.pid!);
        expect([...before.values()].some((cmd) => cmd.includes('postgres') && cmd.includes(workdir))).toBe(true);
        expect([...before.values()].some((cmd) => cmd.includes('deno') && cmd.includes('host.js'))).toBe(true);
        process.kill(-stack.child.pid!, 'SIGINT');
        // npm itself dies of the SIGINT (as in a terminal); the stack below it stops in order.
        expect(await stack.exited).toMatchObject({ code: expect.toBeOneOf([0, null]) });
        await vi.waitFor(() => expect([...before.keys()].filter(alive)).toEqual([]), { timeout: 40_000, interval: 100 });
        await vi.waitFor(() => expect(stack.out.stderr).toMatch(/• stopped\n/), { timeout: 5_000 });
        expect(fs.existsSync(path.join(workdir, '.local', 'stack.json'))).toBe(false);
    }, 60_000);

    it('starts again after a run that was killed (kill -9), reusing the migrated database; npm run stop stops it', async () => {
        const crashed = await launch(workdir);
        later.push(crashed);
        expect(crashed.out.stderr).toContain('database is up to date with the migrations: reusing it');
        const hello = await fetch(`http://127.0.0.1:${ports.api}/functions/v1/hello`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(hello.status).toBe(200);
        const orphans = descendants(crashed.child.pid!);
        const stackPid = (JSON.parse(fs.readFileSync(path.join(workdir, '.local', 'stack.json'), 'utf8')) as { pid: number }).pid;
        process.kill(stackPid, 'SIGKILL');
        await crashed.exited;

        const next = await launch(workdir);
        later.push(next);
        const response = await fetch(`http://127.0.0.1:${ports.api}/functions/v1/hello`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(response.status).toBe(200);
        // The killed run's PostgreSQL was stopped by the new start, its Deno worker by itself.
        await vi.waitFor(() => expect([...orphans.keys()].filter(alive)).toEqual([]), { timeout: 20_000, interval: 100 });
        const running = descendants(next.child.pid!);
        const stopped = await runCli(['stop'], workdir);
        expect(stopped.status).toBe(0);
        expect(stopped.stderr).toMatch(/stopped the stack \(pid \d+\)/);
        await next.exited;
        await vi.waitFor(() => expect([...running.keys()].filter(alive)).toEqual([]), { timeout: 40_000, interval: 100 });
    }, 120_000);
});

describe('npm start on a busy port', () => {
    it('says which port is in use, without a stack trace', async () => {
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        const api = (blocker.address() as net.AddressInfo).port;
        const workdir = makeProject({ api, db: await freePort(), mail: await freePort(), smtp: await freePort(), stripe: await freePort() });
        try {
            const result = await runCli(['start'], workdir);
            expect(result.status).toBe(1);
            expect(result.stderr).toContain(`port ${api} for the API gateway`);
            expect(result.stderr).not.toMatch(/\n\s+at /);
        } finally {
            blocker.close();
            fs.rmSync(workdir, { recursive: true, force: true });
        }
    });
});
