// The running stack's status: what `npm start` prints, what `npm run status` reads, and
// <workdir>/.local/stack.json, the file a running stack keeps fresh. The file also holds
// the control endpoint (URL + token) through which `status` asks the stack for a live
// check; it is written with mode 0600.
import fs from 'node:fs';
import path from 'node:path';
import type { ComponentReport } from '../supervisor/supervisor.js';
import type { LocalProject } from './project.js';

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
    /** /storage/v1 on the gateway (empty when [storage] enabled = false). */
    STORAGE_URL: string;
    /** The ERP fake's URL (admin API under /__admin), when the stack runs it. */
    ERP_FAKE_URL?: string;
    /** The Stripe API the functions use (the local fake's, or https://api.stripe.com) and the webhook secret they verify with. */
    STRIPE_API_URL?: string;
    STRIPE_WEBHOOK_SECRET?: string;
    /** Component name → "running" or why it is not (`degraded: …`, `restarting: …`, `failed: …`). */
    components: Record<string, string>;
    /** Per component: state, restarts, last error, processes (from the stack's live checks). */
    details?: Record<string, ComponentReport>;
}

/** Where `status` reaches the running stack for a live check. */
export interface ControlAccess {
    url: string;
    token: string;
}

export interface StatusFile extends StackStatus {
    control?: ControlAccess;
}

export const statusFile = (project: LocalProject) => path.join(project.localDir, 'stack.json');
export const logFile = (project: LocalProject) => path.join(project.localDir, 'stack.log');

export function writeStatusFile(project: LocalProject, status: StatusFile): void {
    fs.mkdirSync(project.localDir, { recursive: true });
    const file = statusFile(project);
    // Written aside and renamed: a reader never sees half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(status, null, 2), { mode: 0o600 });
    fs.renameSync(temporary, file);
}

/** The status of the stack running for this project, or undefined (a stale file is removed). */
export function readStatusFile(project: LocalProject): StatusFile | undefined {
    try {
        const current = JSON.parse(fs.readFileSync(statusFile(project), 'utf8')) as StatusFile;
        if (alive(current.pid) && current.pid !== process.pid) return current;
    } catch {
        // no status file, or a broken one: nothing runs
    }
    fs.rmSync(statusFile(project), { force: true });
    return undefined;
}

export function removeStatusFile(project: LocalProject): void {
    fs.rmSync(statusFile(project), { force: true });
}

export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

export function placeholderStatus(pid: number): Omit<StackStatus, 'components'> {
    return { pid, API_URL: '', DB_URL: '', ANON_KEY: '', SERVICE_ROLE_KEY: '', PUBLISHABLE_KEY: '', SECRET_KEY: '', JWT_SECRET: '', MAILPIT_URL: '', STORAGE_URL: '' };
}

// The S3 protocol (STORAGE_S3_URL, S3_PROTOCOL_*) is not implemented locally: those are not printed.
const ENV_KEYS = ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL', 'STORAGE_URL'] as const;

const OPTIONAL_ENV_KEYS = ['STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET'] as const;

/**
 * `KEY="value"` lines, as `supabase status -o env` prints them, quoted for a POSIX shell so
 * that `eval "$(npm run -s status -- -o env)"` sets exactly these values: inside double
 * quotes only `\`, `"`, `$` and backquotes are special, and each is escaped.
 */
export function renderEnv(status: StackStatus): string {
    const optional = OPTIONAL_ENV_KEYS.filter((key) => status[key] !== undefined);
    return [...ENV_KEYS, ...optional].map((key) => `${key}=${shellQuote(status[key]!)}`).join('\n');
}

export function shellQuote(value: string): string {
    return `"${value.replace(/[\\"$`]/g, '\\$&')}"`;
}

export function renderPretty(status: StackStatus): string {
    const rows: Array<[string, string]> = [
        ['API URL', status.API_URL],
        ['REST URL', `${status.API_URL}/rest/v1`],
        ['Auth URL', `${status.API_URL}/auth/v1`],
        ['Functions URL', `${status.API_URL}/functions/v1`],
        ['Storage URL', status.STORAGE_URL || 'disabled'],
        ['S3 Storage URL', 'not available locally (the S3 protocol is not implemented)'],
        ['Metrics URL', `${status.API_URL}/customer/v1/privileged/metrics`],
        ['DB URL', status.DB_URL],
        ['Mailpit URL', status.MAILPIT_URL],
        ...(status.ERP_FAKE_URL ? [['ERP fake URL', status.ERP_FAKE_URL] as [string, string]] : []),
        ['JWT secret', status.JWT_SECRET],
        ['anon key', status.ANON_KEY],
        ['service_role key', status.SERVICE_ROLE_KEY],
        ['Publishable key', status.PUBLISHABLE_KEY],
        ['Secret key', status.SECRET_KEY],
        ...(status.STRIPE_API_URL ? [['Stripe API URL', status.STRIPE_API_URL] as [string, string]] : []),
        ...(status.STRIPE_WEBHOOK_SECRET ? [['Stripe webhook secret', status.STRIPE_WEBHOOK_SECRET] as [string, string]] : []),
    ];
    const parts: Array<[string, string]> = Object.entries(status.components).map(([name, state]) => {
        const detail = status.details?.[name];
        const extras = [
            detail?.pids.length ? `pid ${detail.pids.join(', ')}` : '',
            detail?.restarts ? `${detail.restarts} restart(s)` : '',
            detail?.last_error && detail.state !== 'running' && !state.includes(detail.last_error.message) ? `last error: ${detail.last_error.message}` : '',
        ].filter(Boolean);
        return [name, extras.length ? `${state} (${extras.join('; ')})` : state];
    });
    const width = Math.max(...[...rows, ...parts].map(([k]) => k.length));
    const render = (list: Array<[string, string]>) => list.map(([k, v]) => `${k.padStart(width)}: ${v}`).join('\n');
    return `${render(rows)}\n\n${'components'.padStart(width)}\n${render(parts)}`;
}
