// The real project as `npm start` runs it, from a temporary copy on free ports, for the
// benchmarks that measure the whole stack (never 54321–54330, never .local/).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'smol-toml';
import { freePort } from '../stack/db/cluster.js';
import { PROJECT_ROOT } from '../stack/paths.js';
import { descendants } from '../test/harness/processes.js';

/** A temporary copy of the project (migrations, seed, config with absolute function paths) on free ports. */
export async function makeWorkdir(extraFunctions: Record<string, Record<string, unknown>> = {}): Promise<{ dir: string; apiUrl: string; dbUrl: string; stripeUrl: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-bench-'));
    fs.chmodSync(dir, 0o755);
    const source = path.join(PROJECT_ROOT, 'supabase');
    const target = path.join(dir, 'supabase');
    fs.mkdirSync(target);
    fs.cpSync(path.join(source, 'migrations'), path.join(target, 'migrations'), { recursive: true });
    if (fs.existsSync(path.join(source, 'seed.sql'))) fs.copyFileSync(path.join(source, 'seed.sql'), path.join(target, 'seed.sql'));
    const config = parse(fs.readFileSync(path.join(source, 'config.toml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const api = await freePort();
    config.api = { ...config.api, port: api };
    const db = await freePort();
    const stripe = await freePort();
    config.db = { ...config.db, port: db };
    config.local_smtp = { ...config.local_smtp, port: await freePort(), smtp_port: await freePort() };
    config.local_stripe = { port: stripe };
    const functions = (config.functions ?? {}) as Record<string, Record<string, unknown>>;
    for (const fn of Object.values(functions)) {
        for (const key of ['entrypoint', 'import_map']) if (typeof fn[key] === 'string') fn[key] = path.resolve(source, fn[key] as string);
    }
    config.functions = { ...functions, ...extraFunctions };
    fs.writeFileSync(path.join(target, 'config.toml'), stringify(config));
    return { dir, apiUrl: `http://127.0.0.1:${api}`, dbUrl: `postgresql://postgres:postgres@127.0.0.1:${db}/postgres`, stripeUrl: `http://127.0.0.1:${stripe}` };
}

export interface Running {
    child: ChildProcess;
    readyMs: number;
    stop(): Promise<void>;
}

/**
 * `npm start` for the workdir, in its own process group; resolves when it is ready. The
 * stack's log goes to <workdir>/stack.log, as `npm start > stack.log 2>&1` would: a pipe
 * read by this process would slow the stack down (writes to a pipe block on Linux), and
 * that would be measured as the stack's own cost.
 */
export async function startStack(workdir: string): Promise<Running> {
    const started = performance.now();
    const logFile = path.join(workdir, 'stack.log');
    const log = fs.openSync(logFile, 'w');
    const child = spawn(process.execPath, ['stack/cli/launch.mjs', 'start', '--workdir', workdir], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'ignore', log],
        detached: true,
    });
    fs.closeSync(log);
    let exitedEarly = false;
    const exited = new Promise<void>((resolve) => child.once('exit', () => ((exitedEarly = true), resolve())));
    while (!/ready in \d+ ms/.test(fs.readFileSync(logFile, 'utf8'))) {
        if (exitedEarly) throw new Error(`the stack exited before ready:\n${fs.readFileSync(logFile, 'utf8')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const readyMs = performance.now() - started;
    return {
        child,
        readyMs,
        stop: async () => {
            process.kill(-child.pid!, 'SIGINT');
            await exited;
            // The stack's children finish their own shutdown right after.
            const deadline = Date.now() + 30_000;
            while (descendants(child.pid!).size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        },
    };
}
