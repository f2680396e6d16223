// Realtime Authorization: whether a user may read from / write to a private channel is
// decided by the project's RLS policies on realtime.messages, evaluated as Supabase does:
// in one transaction, insert probe rows for the topic, switch to the user's role and
// claims (and `realtime.topic`), see which probes the user can select (read) and whether
// the user may insert one (write), then roll everything back.
import type pg from 'pg';
import type { Logger } from './connection.js';
import type { Identity } from './tokens.js';

export type Extension = 'broadcast' | 'presence';

export interface ReadAccess {
    broadcast: boolean;
    presence: boolean;
}

export interface Authorizer {
    read(identity: Identity, subTopic: string): Promise<ReadAccess>;
    write(identity: Identity, subTopic: string, extension: Extension): Promise<boolean>;
}

/** Sets the transaction-local role and claims a request of `identity` runs with (as PostgREST does, plus Realtime's topic). */
export async function actAs(client: pg.PoolClient | pg.Client, identity: Pick<Identity, 'role' | 'claims'>, topic?: string): Promise<void> {
    const sub = typeof identity.claims.sub === 'string' ? identity.claims.sub : '';
    await client.query(
        `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                set_config('request.jwt.claim.sub', $3, true), set_config('request.jwt.claim.role', $1, true),
                set_config('request.headers', '{}', true), set_config('realtime.topic', $4, true)`,
        [identity.role, JSON.stringify(identity.claims), sub, topic ?? ''],
    );
}

export function createAuthorizer(pool: pg.Pool, log: Logger): Authorizer {
    const inRolledBackTransaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>, denied: T): Promise<T> => {
        const client = await pool.connect();
        try {
            await client.query('begin');
            return await fn(client);
        } catch (error) {
            // A policy that errors denies, as in Supabase; say why once per failure.
            log({ level: 'warn', msg: 'realtime: authorization check failed', error: (error as Error).message });
            return denied;
        } finally {
            await client.query('rollback').catch(() => {});
            client.release();
        }
    };

    return {
        read: (identity, subTopic) =>
            inRolledBackTransaction(
                async (client) => {
                    const probes = await client.query<{ id: string; extension: Extension }>(
                        `insert into realtime.messages (topic, extension, private) values ($1, 'broadcast', true), ($1, 'presence', true)
                         returning id, extension`,
                        [subTopic],
                    );
                    await actAs(client, identity, subTopic);
                    const visible = await client.query<{ extension: Extension }>(
                        'select extension from realtime.messages where topic = $1 and id = any($2::uuid[])',
                        [subTopic, probes.rows.map((r) => r.id)],
                    );
                    const seen = new Set(visible.rows.map((r) => r.extension));
                    return { broadcast: seen.has('broadcast'), presence: seen.has('presence') };
                },
                { broadcast: false, presence: false },
            ),
        write: (identity, subTopic, extension) =>
            inRolledBackTransaction(async (client) => {
                await actAs(client, identity, subTopic);
                try {
                    await client.query(`insert into realtime.messages (topic, extension, private) values ($1, $2, true)`, [subTopic, extension]);
                    return true;
                } catch (error) {
                    if ((error as { code?: string }).code === '42501') return false;
                    throw error;
                }
            }, false),
    };
}
