// The functions service behind a real gateway on a free port, for the function tests:
// what `npm start` wires — without Postgres unless a test database's URL is given.
import type { ProjectConfig } from '../../stack/config.js';
import { createFunctionsService, type FunctionsService, type FunctionsServiceOptions, type LogEntry } from '../../stack/functions/index.js';
import { createGateway } from '../../stack/gateway/index.js';
import { apiKeysFor } from '../../stack/gateway/keys.js';
import { listen, type Listening } from '../../stack/http.js';
import { jwtKeysFromConfig } from '../../stack/jwt.js';

/** SUPABASE_DB_URL given to the functions: nothing listens there. */
export const UNUSED_DB_URL = 'postgresql://postgres:postgres@127.0.0.1:1/postgres';

export interface RunningFunctions {
    url: string;
    functions: FunctionsService;
    logs: LogEntry[];
    stop(): Promise<void>;
}

export type ServeOptions = Pick<FunctionsServiceOptions, 'denoDir' | 'wallClockMs' | 'idleTimeoutMs' | 'shutdownGraceMs' | 'network' | 'stackSecrets' | 'memoryMb'> & { dbUrl?: string };

export async function serveFunctions(config: ProjectConfig, options: ServeOptions): Promise<RunningFunctions> {
    const jwt = jwtKeysFromConfig(config);
    const keys = await apiKeysFor(jwt);
    const logs: LogEntry[] = [];
    let gateway: Listening | undefined;
    const functions = await createFunctionsService({
        config,
        jwt,
        keys,
        apiUrl: 'http://127.0.0.1:0',
        wallClockMs: 60_000,
        idleTimeoutMs: 60_000,
        memoryMb: 64,
        ...options,
        dbUrl: options.dbUrl ?? UNUSED_DB_URL,
        log: (entry) => logs.push(entry),
    });
    gateway = await listen(createGateway({ routes: { '/functions/v1': functions.handler }, keys, jwt, accessLog: () => {} }), { port: 0 });
    return {
        url: gateway.url,
        functions,
        logs,
        stop: async () => {
            await functions.close();
            await gateway?.close();
        },
    };
}
