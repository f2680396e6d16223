// The local stack as a user runs it, for the e2e tests: a temporary Supabase project on
// free ports, `npm start` as a child process in its own process group, and the CLI's
// other commands as child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, vi } from 'vitest';
import { PROJECT_ROOT } from '../../stack/paths.js';

export const FIXTURE_FUNCTIONS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions');
const SCHEDULE_MIGRATION = fs
    .readdirSync(path.join(PROJECT_ROOT, 'supabase', 'migrations'))
    .find((f) => f.endsWith('_scheduled_jobs.sql'))!;

export interface Ports {
    api: number;
    db: number;
    mail: number;
    /** The mail catcher's SMTP listener (never the default 54325: stacks of parallel tests would collide). */
    smtp: number;
    /** The Stripe fake (never the default 54330, for the same reason). */
    stripe: number;
}

/**
 * A temporary project: the fixture functions hello and public, the scheduled-jobs
 * migration with one job calling `public` every second, plus `extraConfig` lines and
 * `migrations` (file name → SQL).
 */
export function makeProject(ports: Ports, { extraConfig = [], migrations = {} }: { extraConfig?: string[]; migrations?: Record<string, string> } = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-e2e-'));
    fs.chmodSync(dir, 0o755); // PostgreSQL runs as its own OS user under root
    fs.mkdirSync(path.join(dir, 'supabase', 'migrations'), { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'supabase', 'config.toml'),
        [
            'project_id = "e2e"',
            `[api]\nport = ${ports.api}`,
            `[db]\nport = ${ports.db}`,
            `[local_smtp]\nport = ${ports.mail}\nsmtp_port = ${ports.smtp}`,
            `[local_stripe]\nport = ${ports.stripe}`,
            `[functions.hello]\nentrypoint = "${path.join(FIXTURE_FUNCTIONS, 'hello', 'index.ts')}"`,
            `[functions.public]\nentrypoint = "${path.join(FIXTURE_FUNCTIONS, 'public', 'index.ts')}"\nverify_jwt = false`,
            `[storage.buckets.e2e-files]\npublic = true\nobjects_path = "./e2e-files"`,
            ...extraConfig,
        ].join('\n'),
    );
    fs.mkdirSync(path.join(dir, 'supabase', 'e2e-files', 'docs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'supabase', 'e2e-files', 'docs', 'hello.txt'), 'seeded by objects_path');
    const dirOf = path.join(dir, 'supabase', 'migrations');
    fs.copyFileSync(path.join(PROJECT_ROOT, 'supabase', 'migrations', SCHEDULE_MIGRATION), path.join(dirOf, SCHEDULE_MIGRATION));
    fs.writeFileSync(
        path.join(dirOf, '20991231000000_e2e_job.sql'),
        `insert into scheduler.jobs (name, schedule, function_name) values ('e2e-every-second', '1 seconds', 'public');\n`,
    );
    for (const [name, sql] of Object.entries(migrations)) fs.writeFileSync(path.join(dirOf, name), sql);
    return dir;
}

/** The CLI as a child process, asynchronously: a blocked event loop would miss the servers' socket events. */
export function runCli(args: string[], workdir: string, timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        // Its own process group: on timeout the whole group goes, not only the tsx wrapper
        // (a slow `start` left behind would start a stack after the test gave up on it).
        const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['stack/cli/main.ts', ...args, '--workdir', workdir], {
            cwd: PROJECT_ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
            try {
                process.kill(-child.pid!, 'SIGKILL');
            } catch {
                // already gone
            }
        }, timeoutMs);
        child.once('close', (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

export interface Launched {
    child: ChildProcess;
    out: { stdout: string; stderr: string };
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in its own process group, like a shell job: Ctrl-C signals the whole group. Resolves once ready. */
export async function launch(workdir: string): Promise<Launched> {
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

/** Kills a launched stack's whole process group (whatever a failed test left behind). */
export function killGroup(launched: Launched | undefined): void {
    try {
        if (launched?.child.pid) process.kill(-launched.child.pid, 'SIGKILL');
    } catch {
        // already gone
    }
}

/** Whether a process runs (a zombie does not). */
export function alive(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
        return false;
    }
}
