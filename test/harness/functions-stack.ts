// The project's own edge functions (supabase/config.toml) on real Deno behind the gateway,
// pointed at a test database and at local stand-ins through the secrets the stack gives
// (ERP fake, mail catcher SMTP port). Functions are called as the scheduler calls them:
// POST with the service role's key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProjectConfig } from '../../stack/config.js';
import type { FunctionsService, LogEntry } from '../../stack/functions/index.js';
import { LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { serveFunctions } from './functions.js';
import { descendants } from './processes.js';

export interface ProjectFunctions {
    url: string;
    functions: FunctionsService;
    logs: LogEntry[];
    /** POSTs `body` to the function as the service role; resolves with status and JSON body. */
    invoke(name: string, body?: unknown): Promise<{ status: number; body: unknown }>;
    /** Pids of the Deno workers serving `name` right now. */
    workerPids(name: string): number[];
    stop(): Promise<void>;
}

export async function serveProjectFunctions(options: { dbUrl: string; stackSecrets: Record<string, string>; wallClockMs?: number }): Promise<ProjectFunctions> {
    const denoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-deno-'));
    const served = await serveFunctions(loadProjectConfig(PROJECT_ROOT), {
        dbUrl: options.dbUrl,
        denoDir,
        wallClockMs: options.wallClockMs ?? 120_000,
        idleTimeoutMs: 150_000,
        memoryMb: 256, // the hosted limit: the project's functions run as they would there
        stackSecrets: options.stackSecrets,
        shutdownGraceMs: 5_000,
    });
    return {
        ...served,
        async invoke(name, body = {}) {
            const response = await fetch(`${served.url}/functions/v1/${name}`, {
                method: 'POST',
                headers: { apikey: LOCAL_SERVICE_ROLE_KEY, authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, 'content-type': 'application/json' },
                body: JSON.stringify(body),
            });
            const text = await response.text();
            let parsed: unknown = text;
            try {
                parsed = JSON.parse(text);
            } catch {
                // not JSON: keep the text
            }
            return { status: response.status, body: parsed };
        },
        workerPids(name) {
            const entry = `${path.sep}functions${path.sep}${name}${path.sep}index.ts`;
            return [...descendants(process.pid)].filter(([, cmd]) => cmd.includes(entry) && /\bdeno\b/.test(cmd.split(' ')[0] ?? '')).map(([pid]) => pid);
        },
        async stop() {
            await served.stop();
            fs.rmSync(denoDir, { recursive: true, force: true });
        },
    };
}
