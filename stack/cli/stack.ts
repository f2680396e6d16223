// `start`, `status` and `stop`: the whole local stack as one foreground process.
// Each service is a component started in order and stopped in reverse; the running
// stack's URLs and keys are written to <workdir>/.local/stack.json for `status`.
import fs from 'node:fs';
import path from 'node:path';
import { resetDatabase } from '../db/reset.js';
import {
    LOCAL_ANON_KEY,
    LOCAL_JWT_SECRET,
    LOCAL_PUBLISHABLE_KEY,
    LOCAL_SECRET_KEY,
    LOCAL_SERVICE_ROLE_KEY,
} from '../keys.js';
import { isSchemaCurrent, openProject, recordSchema, type LocalProject } from './project.js';

const say = (message: string) => console.error(`• ${message}`);

export interface StackStatus {
    pid: number;
    API_URL: string;
    DB_URL: string;
    ANON_KEY: string;
    SERVICE_ROLE_KEY: string;
    PUBLISHABLE_KEY: string;
    SECRET_KEY: string;
    JWT_SECRET: string;
    MAILPIT_URL: string;
    /** Component name → "running" or why it is not. */
    components: Record<string, string>;
}

const statusFile = (project: LocalProject) => path.join(project.localDir, 'stack.json');

export async function start(workdir: string): Promise<number> {
    const project = openProject(workdir);
    const started = Date.now();
    const running = readStatus(project);
    if (running) {
        say(`a stack for this project already runs (pid ${running.pid}); \`npm run stop\` stops it`);
        return 1;
    }
    const stops: Array<() => Promise<void>> = [];
    let stopping = false;
    const stopAll = async () => {
        if (stopping) return;
        stopping = true;
        say('stopping');
        for (const stopOne of stops.reverse()) await stopOne().catch((e) => say(`stop failed: ${(e as Error).message}`));
        fs.rmSync(statusFile(project), { force: true });
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.once(signal, () => void stopAll().then(() => process.exit(0)));
    }

    try {
        say(`starting PostgreSQL on port ${project.cluster.port}`);
        await project.cluster.start();
        stops.push(() => project.cluster.stop());
        if (isSchemaCurrent(project)) {
            say('database is up to date with the migrations: reusing it');
        } else {
            await resetDatabase({ url: project.dbUrl, workdir: project.workdir, log: say });
            recordSchema(project);
        }
    } catch (error) {
        await stopAll();
        throw error;
    }

    const apiUrl = `http://127.0.0.1:${project.config.api.port}`;
    const status: StackStatus = {
        pid: process.pid,
        API_URL: apiUrl,
        DB_URL: project.dbUrl,
        ANON_KEY: LOCAL_ANON_KEY,
        SERVICE_ROLE_KEY: LOCAL_SERVICE_ROLE_KEY,
        PUBLISHABLE_KEY: LOCAL_PUBLISHABLE_KEY,
        SECRET_KEY: LOCAL_SECRET_KEY,
        JWT_SECRET: LOCAL_JWT_SECRET,
        MAILPIT_URL: `http://127.0.0.1:${project.config.local_smtp.port}`,
        components: {
            database: 'running',
            rest: 'not built yet',
            auth: 'not built yet',
            functions: 'not built yet',
            mail: 'not built yet',
            scheduler: 'not built yet',
            gateway: 'not built yet',
        },
    };
    fs.mkdirSync(project.localDir, { recursive: true });
    fs.writeFileSync(statusFile(project), JSON.stringify(status, null, 2));
    console.log(renderPretty(status));
    say(`ready in ${Date.now() - started} ms; Ctrl-C stops the stack`);
    await new Promise<never>(() => {});
    return 0;
}

export async function status(workdir: string, output: string): Promise<number> {
    const project = openProject(workdir);
    const current = readStatus(project);
    if (!current) {
        console.error('the local stack is not running (npm start)');
        return 1;
    }
    if (output === 'env') console.log(renderEnv(current));
    else if (output === 'json') console.log(JSON.stringify(current, null, 2));
    else console.log(renderPretty(current));
    return 0;
}

export async function stop(workdir: string): Promise<number> {
    const project = openProject(workdir);
    const current = readStatus(project);
    if (current) {
        process.kill(current.pid, 'SIGINT');
        const deadline = Date.now() + 30_000;
        while (alive(current.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        say(`stopped the stack (pid ${current.pid})`);
    }
    if (project.cluster.runningPid()) {
        await project.cluster.stop();
        say('stopped PostgreSQL');
    }
    return 0;
}

function readStatus(project: LocalProject): StackStatus | undefined {
    try {
        const current = JSON.parse(fs.readFileSync(statusFile(project), 'utf8')) as StackStatus;
        if (alive(current.pid)) return current;
    } catch {
        // no status file, or a broken one: nothing runs
    }
    fs.rmSync(statusFile(project), { force: true });
    return undefined;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

const ENV_KEYS = ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL'] as const;

export function renderEnv(status: StackStatus): string {
    return ENV_KEYS.map((key) => `${key}="${status[key]}"`).join('\n');
}

export function renderPretty(status: StackStatus): string {
    const rows: Array<[string, string]> = [
        ['API URL', status.API_URL],
        ['REST URL', `${status.API_URL}/rest/v1`],
        ['Auth URL', `${status.API_URL}/auth/v1`],
        ['Functions URL', `${status.API_URL}/functions/v1`],
        ['DB URL', status.DB_URL],
        ['Mailpit URL', status.MAILPIT_URL],
        ['JWT secret', status.JWT_SECRET],
        ['anon key', status.ANON_KEY],
        ['service_role key', status.SERVICE_ROLE_KEY],
        ['Publishable key', status.PUBLISHABLE_KEY],
        ['Secret key', status.SECRET_KEY],
        ...Object.entries(status.components).map(([name, state]): [string, string] => [`component ${name}`, state]),
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `${k.padStart(width)}: ${v}`).join('\n');
}
