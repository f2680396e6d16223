// The service-role database connection of a function: a small pg pool on
// SUPABASE_DB_URL (hosted Supabase gives every function this URL). Used by webhooks and
// jobs, which act for the platform, never for a user: calls made for a signed-in user
// go through supabase-js with the user's own JWT, so RLS and the SQL API's checks apply.
import pg from 'pg';

export type Db = pg.Pool;

export function createDb(url: string, max = 4): Db {
    const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
    // A connection that Postgres closes must not take the worker down: idle ones are
    // reported on the pool, lent ones on the client (pg-pool drops its listener while a
    // client is lent). The pool replaces them; the query in flight, if any, rejects.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return pool;
}

/** Runs `fn` in one transaction on one connection; rolls back if it throws. */
export async function inTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await db.connect();
    try {
        await client.query('begin');
        const result = await fn(client);
        await client.query('commit');
        return result;
    } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
    } finally {
        client.release();
    }
}
