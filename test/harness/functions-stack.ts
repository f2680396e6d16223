// The project's own edge functions (supabase/config.toml) on real Deno behind the gateway,
// pointed at a test database and at local stand-ins through the secrets the stack gives
// (ERP fake, mail catcher SMTP port). Functions are called as the scheduler calls them:
// POST with the service role's key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProjectConfig } from '../../stack/config.js';
import { createFunctionsService, type FunctionsService, type LogEntry } from '../../stack/functions/index.js';
import { createGateway } from '../../stack/gateway/index.js';
import { apiKeysFor } from '../../stack/gateway/keys.js';
import { listen } from '../../stack/http.js';
import { jwtKeysFromConfig } from '../../stack/jwt.js';
import { LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
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
    const config = loadProjectConfig(PROJECT_ROOT);
    const jwt = jwtKeysFromConfig(config);
    const keys = await apiKeysFor(jwt);
    const denoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-deno-'));
    const logs: LogEntry[] = [];
    const functions = await createFunctionsService({
        config,
        jwt,
        keys,
        apiUrl: 'http://127.0.0.1:0',
        dbUrl: options.dbUrl,
        denoDir,
        wallClockMs: options.wallClockMs ?? 120_000,
        stackSecrets: options.stackSecrets,
        shutdownGraceMs: 5_000,
        log: (entry) => logs.push(entry),
    });
    const gateway = await listen(createGateway({ routes: { '/functions/v1': functions.handler }, keys, jwt, accessLog: () => {} }), { port: 0 });
    return {
        url: gateway.url,
        functions,
        logs,
        async invoke(name, body = {}) {
            const response = await fetch(`${gateway.url}/functions/v1/${name}`, {
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
            await functions.close();
            await gateway.close();
            fs.rmSync(denoDir, { recursive: true, force: true });
        },
    };
}
