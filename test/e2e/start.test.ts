// `npm start` as a user runs it: a child process on a temporary Supabase project (free
// ports, the fixture functions, one scheduled job), ready, answering on every route, and
// gone without a trace after Ctrl-C (SIGINT).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../stack/db/cluster.js';
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { LOCAL_STRIPE_SECRET_KEY } from '../../stack/fakes/stripe/index.js';
import { descendants } from '../harness/processes.js';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions');
const SCHEDULE_MIGRATION = fs
    .readdirSync(path.join(PROJECT_ROOT, 'supabase', 'migrations'))
    .find((f) => f.endsWith('_scheduled_jobs.sql'))!;

interface Ports {
    api: number;
    db: number;
    mail: number;
    stripe: number;
}

function makeProject(ports: Ports): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-e2e-'));
    fs.chmodSync(dir, 0o755); // PostgreSQL runs as its own OS user under root
    fs.mkdirSync(path.join(dir, 'supabase', 'migrations'), { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'supabase', 'config.toml'),
        [
            'project_id = "e2e"',
            `[api]\nport = ${ports.api}`,
            `[db]\nport = ${ports.db}`,
            `[local_smtp]\nport = ${ports.mail}`,
            `[local_stripe]\nport = ${ports.stripe}`,
            `[functions.hello]\nentrypoint = "${path.join(FIXTURES, 'hello', 'index.ts')}"`,
            `[functions.public]\nentrypoint = "${path.join(FIXTURES, 'public', 'index.ts')}"\nverify_jwt = false`,
        ].join('\n'),
    );
    const migrations = path.join(dir, 'supabase', 'migrations');
    fs.copyFileSync(path.join(PROJECT_ROOT, 'supabase', 'migrations', SCHEDULE_MIGRATION), path.join(migrations, SCHEDULE_MIGRATION));
    fs.writeFileSync(
        path.join(migrations, '20991231000000_e2e_job.sql'),
        `insert into scheduler.jobs (name, schedule, function_name) values ('e2e-every-second', '1 seconds', 'public');\n`,
    );
    return dir;
}

/** The CLI as a child process, asynchronously: a blocked event loop would miss the servers' socket events. */
function runCli(args: string[], workdir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/cli/main.ts', ...args, '--workdir', workdir], {
            cwd: PROJECT_ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('close', (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

interface Launched {
    child: ChildProcess;
    out: { stdout: string; stderr: string };
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in its own process group, like a shell job: Ctrl-C signals the whole group. Resolves once ready. */
async function launch(workdir: string): Promise<Launched> {
    const child = spawn('npm', ['start', '--', '--workdir', workdir], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = { stdout: '', stderr: '' };
    child.stdout!.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await vi.waitFor(
        () => {
            if (child.exitCode !== null) throw new Error(`npm start exited early:\n${out.stderr}`);
            expect(out.stderr).toMatch(/ready in \d+ ms/);
        },
        { timeout: 110_000, interval: 100 },
    );
    return { child, out, exited };
}

function killGroup(launched: Launched | undefined): void {
    try {
        if (launched?.child.pid) process.kill(-launched.child.pid, 'SIGKILL');
    } catch {
        // already gone
    }
}


function alive(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
        return false;
    }
}

describe('npm start', () => {
    let ports: Ports;
    let workdir: string;
    let stack: Launched;
    let stdout = '';
    const later: Launched[] = [];

    beforeAll(async () => {
        ports = { api: await freePort(), db: await freePort(), mail: await freePort(), stripe: await freePort() };
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
        for (const name of ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL', 'STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET']) {
            expect(result.stdout).toMatch(new RegExp(`^${name}=".+"$`, 'm'));
        }
        expect(result.stdout).toContain(`API_URL="http://127.0.0.1:${ports.api}"`);
        expect(result.stdout).toContain(`STRIPE_API_URL="http://127.0.0.1:${ports.stripe}"`);
        expect(result.stdout).toMatch(/^STRIPE_WEBHOOK_SECRET="whsec_\w+"$/m);
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
            rest: 'running',
            auth: 'running',
            stripe: 'running',
            functions: 'running',
            gateway: 'running',
            scheduler: 'running',
        });
        const stripe = await fetch(`http://127.0.0.1:${ports.stripe}/v1/events?limit=1`, { headers: { authorization: `Bearer ${LOCAL_STRIPE_SECRET_KEY}` } });
        expect(stripe.status).toBe(200);
        expect(await stripe.json()).toMatchObject({ object: 'list', url: '/v1/events' });
        const rest = await fetch(`${api}/rest/v1/`, { headers: { apikey: LOCAL_SECRET_KEY } });
        expect(rest.status).toBe(200);
        const auth = await fetch(`${api}/auth/v1/health`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(auth.status).toBe(200);
        const mail = await fetch(`http://127.0.0.1:${ports.mail}/api/v1/messages`);
        expect(mail.status).toBe(200);
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

    it('runs the scheduled job declared by the project migration', async () => {
        await vi.waitFor(() => expect(stack.out.stderr).toMatch(/"msg":"scheduled job ran","job":"e2e-every-second","function":"public","status":200/), {
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
        const workdir = makeProject({ api, db: await freePort(), mail: await freePort(), stripe: await freePort() });
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
