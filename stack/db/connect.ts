// The only place that makes pg pools and clients. Each one gets an 'error' listener:
// an idle connection that Postgres terminates (57P01 on shutdown, restart, `drop
// database … with (force)`) emits 'error' on its pool or client, and an emitter
// without a listener takes the whole process down. The same holds for a client checked
// out of a pool: pg-pool removes its own listener while the client is lent, and a socket
// reset (ECONNRESET when Postgres is killed) then emits 'error' on the client — so every
// pooled client gets a (silent) listener of its own when it connects. The query in flight, if any,
// still rejects with the error, so callers see every failure that concerns them.
import pg from 'pg';

export type ConnectionErrorHandler = (error: Error) => void;

const ignore: ConnectionErrorHandler = () => {};

/** A pool whose idle clients may die without crashing the process; the pool replaces them. */
export function createPgPool(config: pg.PoolConfig, onError: ConnectionErrorHandler = ignore): pg.Pool {
    const pool = new pg.Pool(config);
    pool.on('error', onError);
    // A lent client's failure reaches its caller through the query it rejects (or the next
    // one); `onError` stays the report of idle connections, so nothing is counted twice.
    pool.on('connect', (client) => client.on('error', ignore));
    return pool;
}

/** A single connection (not yet connected) whose unexpected end is reported to `onError`, not thrown. */
export function createPgClient(config: string | pg.ClientConfig, onError: ConnectionErrorHandler = ignore): pg.Client {
    const client = new pg.Client(typeof config === 'string' ? { connectionString: config } : config);
    client.on('error', onError);
    return client;
}

/** Connects, runs `fn` and closes the connection whatever happens. */
export async function withClient<T>(config: string | pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = createPgClient(config);
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => {});
    }
}

/** SQLSTATEs of a server going away: admin/crash shutdown, cannot connect now, starting up. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);

/**
 * Whether an error means the connection itself failed (server gone, refused, reset,
 * terminated) rather than the statement: a retry on a new connection may succeed.
 */
export function isConnectionError(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === 'string' && (CONNECTION_SQLSTATES.has(code) || /^E[A-Z]+$/.test(code))) return true;
    const message = error instanceof Error ? error.message : '';
    return typeof code !== 'string' && /connection terminated|connection error|not queryable|ECONNRE|EPIPE|timeout exceeded when trying to connect|Connection terminated/i.test(message);
}
