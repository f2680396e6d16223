// PostgREST-compatible /rest/v1 service: a fetch handler over a pool of `authenticator`
// connections, with a schema cache reloaded on `NOTIFY pgrst, 'reload schema'`.
import pg from 'pg';
import type { ProjectConfig } from '../config.js';
import type { FetchHandler } from '../http.js';
import type { JwtKeys } from '../jwt.js';
import { createAuthenticator } from './auth.js';
import { createHandler } from './handler.js';
import { loadSchemaCache, type SchemaCache } from './schema-cache.js';
import { TransactionPool } from './transaction.js';
import { createPgClient, createPgPool } from '../db/connect.js';

export interface RestServiceOptions {
    /** Superuser URL of the project database; the pool connects as `authenticator` on the same host/port/database. */
    dbUrl: string;
    config: ProjectConfig;
    jwt: JwtKeys;
    poolSize?: number;
}

export interface RestService {
    handler: FetchHandler;
    reloadSchema(): Promise<void>;
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
    const pool = createPgPool({ connectionString, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
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
    let reconnecting = false;
    const retry = () => {
        listener = undefined;
        if (!closed) setTimeout(() => void listen(), 1000).unref();
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
        } catch {
            await client.end().catch(() => {});
            return retry();
        }
        // After a reconnect (Postgres restarted), migrations may have run meanwhile.
        if (reconnecting) void reload().catch(() => {});
        reconnecting = true;
        listener = client;
    };
    // Listening before the first load: a NOTIFY sent meanwhile is not missed.
    await listen();
    await reload();

    const handler = createHandler({
        transactions,
        cache: async () => (loading ? await loading : cache!),
        refreshOnMiss: async () => {
            if (!cache || Date.now() - cache.loadedAt < 1000) return undefined;
            await reload().catch(() => {});
            return cache;
        },
        authenticate: createAuthenticator(options.jwt),
        schemas,
        extraSearchPath: api.extra_search_path ?? ['public', 'extensions'],
        maxRows: api.max_rows,
    });

    return {
        handler,
        reloadSchema: reload,
        async close() {
            closed = true;
            await listener?.end().catch(() => {});
            await pool.end();
        },
    };
}
