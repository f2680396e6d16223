// Transactions as Storage runs them: connected as `authenticator`, each transaction first
// sets, locally, the caller's role and claims and the request's context — so `auth.uid()`,
// `auth.jwt()` and `storage.operation()` work inside policies, and RLS decides. The
// "superuser" is the service role (BYPASSRLS), used for bucket lookups, public and signed
// reads and the final metadata writes, exactly where Storage uses it.
import type pg from 'pg';
import { errors, fromPgError, StorageError } from './errors.js';
import { SUPERUSER, type Identity } from './identity.js';

export type Query = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

/** What a transaction knows about the HTTP request (for request.* settings). */
export interface RequestContext {
    method: string;
    path: string;
    /** Lower-case header names → values. */
    headers: Record<string, string>;
    /** Storage's operation name, e.g. 'storage.object.upload'. */
    operation: string;
}

export interface Database {
    /** Runs `fn` in one transaction as `identity`; commits on success. */
    run<T>(identity: Identity, context: RequestContext, fn: (q: Query) => Promise<T>, options?: { duplicate?: () => StorageError }): Promise<T>;
    /** Runs `fn` as `identity` and rolls back whatever happened: a permission probe. */
    probe(identity: Identity, context: RequestContext, fn: (q: Query) => Promise<unknown>, options?: { duplicate?: () => StorageError }): Promise<void>;
    superuser<T>(context: RequestContext, fn: (q: Query) => Promise<T>, options?: { duplicate?: () => StorageError }): Promise<T>;
}

const SETTINGS = [
    'role',
    'request.jwt.claims',
    'request.jwt.claim.role',
    'request.jwt.claim.sub',
    'request.jwt',
    'request.headers',
    'request.method',
    'request.path',
    'storage.operation',
    'storage.allow_delete_query',
] as const;

const SET_SQL = `select ${SETTINGS.map((name, i) => `set_config('${name}', $${i + 1}, true)`).join(', ')}`;

export function createDatabase(pool: pg.Pool): Database {
    const transaction = async <T>(identity: Identity, context: RequestContext, fn: (q: Query) => Promise<T>, commit: boolean, duplicate?: () => StorageError): Promise<T> => {
        let client: pg.PoolClient;
        try {
            client = await pool.connect();
        } catch {
            throw errors.databaseTimeout();
        }
        let broken = false;
        try {
            await client.query('begin');
            // A role claim naming a role the API may not switch to is the caller's problem, not ours.
            await client.query(SET_SQL, [
                identity.role,
                JSON.stringify(identity.claims),
                identity.role,
                identity.sub ?? '',
                identity.jwt,
                JSON.stringify(context.headers),
                context.method,
                context.path,
                context.operation,
                'true',
            ]).catch((error: { code?: string }) => {
                throw ['22023', '42704', '42501'].includes(error.code ?? '') ? errors.accessDenied(`role "${identity.role}" is not allowed`) : error;
            });
            const result = await fn(async (sql, params) => (await client.query(sql, params)).rows);
            await client.query(commit ? 'commit' : 'rollback');
            return result;
        } catch (error) {
            await client.query('rollback').catch(() => {
                broken = true;
            });
            if (error instanceof StorageError) throw error;
            const mapped = fromPgError(error, duplicate);
            if (mapped) throw mapped;
            // A failure without SQLSTATE means the connection itself broke: do not reuse it.
            if (typeof (error as { code?: unknown })?.code !== 'string') broken = true;
            throw error;
        } finally {
            client.release(broken);
        }
    };
    return {
        run: (identity, context, fn, options) => transaction(identity, context, fn, true, options?.duplicate),
        async probe(identity, context, fn, options) {
            await transaction(identity, context, fn, false, options?.duplicate);
        },
        superuser: (context, fn, options) => transaction(SUPERUSER, context, fn, true, options?.duplicate),
    };
}
