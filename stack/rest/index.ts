// PostgREST-compatible /rest/v1 service: a fetch handler over a pool of `authenticator`
// connections, with a schema cache reloaded on `NOTIFY pgrst, 'reload schema'`.
import pg from 'pg';
import type { ProjectConfig } from '../config.js';
import type { FetchHandler } from '../http.js';
import type { JwtKeys } from '../jwt.js';
import { createAuthenticator } from './auth.js';
import { createHandler } from './handler.js';
import { loadSchemaCache, type SchemaCache } from './schema-cache.js';
import { createPgClient, createPgPool, type ConnectionErrorHandler } from '../db/connect.js';
import { createLogger, createStreak, type Logger } from '../log.js';
import { TransactionPool } from './transaction.js';

export interface RestServiceOptions {
    /** Superuser URL of the project database; the pool connects as `authenticator` on the same host/port/database. */
    dbUrl: string;
    config: ProjectConfig;
    jwt: JwtKeys;
    poolSize?: number;
    log?: Logger;
    /** Called for each pooled connection lost while idle (metrics count them). */
    onConnectionError?: ConnectionErrorHandler;
}

export interface RestService {
    handler: FetchHandler;
    reloadSchema(): Promise<void>;
    /** Rejects with the reason when the service cannot reach the database (`select 1` on its pool). */
    health(): Promise<void>;
    /** The `authenticator` pool (its usage is reported by the metrics). */
    pool: pg.Pool;
    close(): Promise<void>;
}

function authenticatorUrl(dbUrl: string): string {
    const url = new URL(dbUrl);
    url.username = 'authenticator';
    url.password = 'postgres';
    return url.toString();
}

export async function createRestService(options: RestServiceOptions): Promise<RestService> {
    const connectionString = authenticatorUrl(options.dbUrl);
    const log = options.log ?? createLogger('rest');
    // Lost connections (Postgres restarting, db:reset) are logged once per streak; a success ends it.
    const database = createStreak(log, 'database connection');
    // PostgREST's db-pool-acquisition-timeout: 10 s, then 504 PGRST003 rather than a hang.
    const pool = createPgPool({ connectionString, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 }, (error) => {
        database.fail(error);
        options.onConnectionError?.(error);
    });
    // Each request's BEGIN, settings, statement (and COMMIT) share one round trip.
    const transactions = new TransactionPool(pool);
    const schemas = options.config.api.schemas;
    const api = options.config.api as { max_rows?: number; extra_search_path?: string[] };

    let cache: SchemaCache | undefined;
    let loading: Promise<SchemaCache> | undefined;
    const load = async (): Promise<SchemaCache> => {
        const client = await pool.connect();
        try {
            await client.query('begin read only');
            // Unqualified type names would depend on the search_path of each request.
            await client.query(`set local search_path to ''`);
            const loaded = await loadSchemaCache(client, schemas);
            await client.query('commit');
            return loaded;
        } catch (error) {
            await client.query('rollback').catch(() => {});
            throw error;
        } finally {
            client.release();
        }
    };
    const reload = async (): Promise<void> => {
        const p = load();
        loading = p;
        try {
            cache = await p;
            transactions.invalidate();
        } finally {
            if (loading === p) loading = undefined;
        }
    };

    // LISTEN on a dedicated connection for `NOTIFY pgrst, 'reload schema'`. When the
    // connection drops (Postgres restarted), reconnect every second and reload the cache:
    // migrations may have run meanwhile.
    let closed = false;
    let listener: pg.Client | undefined;
    const listening = createStreak(log, 'schema cache listener');
    let retrying = false;
    const retry = (error?: unknown) => {
        listener = undefined;
        if (closed || retrying) return;
        listening.fail(error ?? new Error('connection lost'));
        retrying = true;
        setTimeout(() => {
            retrying = false;
            void listen();
        }, 1000).unref();
    };
    const listen = async (): Promise<void> => {
        if (closed) return;
        const client = createPgClient(connectionString, retry);
        client.on('notification', (msg) => {
            if (msg.channel !== 'pgrst') return;
            const payload = (msg.payload ?? '').trim();
            if (payload === '' || payload === 'reload schema' || payload === 'reload config') void reload().catch(() => {});
        });
        try {
            await client.connect();
            await client.query('listen pgrst');
        } catch (error) {
            await client.end().catch(() => {});
            return retry(error);
        }
        if (listener === undefined && cache) {
            void reload().then(
                () => listening.succeed({ schema_reloaded: true }),
                (error: unknown) => log.warn('schema cache reload after reconnecting failed', { error }),
            );
        }
        listener = client;
    };
    // Listening before the first load: a NOTIFY sent meanwhile is not missed.
    await listen();
    await reload();

    const handler = createHandler({
        transactions,
        // A reload that fails (database restarting) keeps serving the cache it had.
        cache: async () => (loading ? await loading.catch((error: unknown) => cache ?? Promise.reject(error)) : cache!),
        refreshOnMiss: async () => {
            if (!cache || Date.now() - cache.loadedAt < 1000) return undefined;
            await reload().catch(() => {});
            return cache;
        },
        authenticate: createAuthenticator(options.jwt),
        schemas,
        extraSearchPath: api.extra_search_path ?? ['public', 'extensions'],
        maxRows: api.max_rows,
        log,
        connectionFailed: (error) => database.fail(error),
    });

    return {
        handler,
        reloadSchema: reload,
        pool,
        async health() {
            await pool.query('select 1');
            database.succeed();
        },
        async close() {
            closed = true;
            await listener?.end().catch(() => {});
            await pool.end();
        },
    };
}
