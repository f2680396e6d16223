// What every auth handler gets: settings, the database pool (as supabase_auth_admin), keys,
// the mail sink, the injected clock and the rate limiters; plus the transaction and audit
// helpers they share.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { JwtKeys, JwtVerifier } from '../jwt.js';
import type { MailSink } from '../mail/index.js';
import type { RateLimits } from './rate-limit.js';
import type { AuthSettings } from './settings.js';
import { INSTANCE_ID } from './user-rows.js';
import type { UserRecord } from './users.js';

export interface AuthContext {
    pool: pg.Pool;
    settings: AuthSettings;
    jwt: JwtKeys;
    verify: JwtVerifier;
    /** External URL of /auth/v1 (mailed links). */
    publicUrl: string;
    /** `iss` of issued access tokens. */
    issuer: string;
    mail: MailSink;
    now: () => Date;
    limits: RateLimits;
}

/** Per-request facts handlers need besides the body. */
export interface RequestFacts {
    ip: string;
    userAgent: string | null;
    /** The Referer header: GoTrue's redirect fallback when redirect_to is missing or not allowed. */
    referer: string | null;
    url: URL;
}

export type Tx = pg.PoolClient;

const afterCommitWork = new WeakMap<Tx, Array<() => Promise<void>>>();

/** Runs `work` once the transaction of `tx` has committed (mail goes out only for stored tokens). */
export function afterCommit(tx: Tx, work: () => Promise<void>): void {
    const queue = afterCommitWork.get(tx);
    if (queue) queue.push(work);
    else void work();
}

export async function transaction<T>(ctx: AuthContext, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await ctx.pool.connect();
    const queue: Array<() => Promise<void>> = [];
    afterCommitWork.set(client, queue);
    try {
        await client.query('begin');
        const result = await fn(client);
        await client.query('commit');
        afterCommitWork.delete(client);
        for (const work of queue) await work();
        return result;
    } catch (error) {
        afterCommitWork.delete(client);
        await client.query('rollback').catch(() => {});
        throw error;
    } finally {
        client.release();
    }
}

/** Errors that must still commit what was written before them (GoTrue's NewCommitWithError). */
export class CommitWithError extends Error {
    constructor(readonly error: Error) {
        super(error.message);
    }
}

export async function transactionCommittingErrors<T>(ctx: AuthContext, fn: (tx: Tx) => Promise<T>): Promise<T> {
    let deferred: Error | undefined;
    const result = await transaction(ctx, async (tx) => {
        try {
            return await fn(tx);
        } catch (error) {
            if (error instanceof CommitWithError) {
                deferred = error.error;
                return undefined as T;
            }
            throw error;
        }
    });
    if (deferred) throw deferred;
    return result;
}

const LOG_TYPES: Record<string, string> = {
    login: 'account',
    logout: 'account',
    invite_accepted: 'account',
    user_signedup: 'team',
    user_invited: 'team',
    user_deleted: 'team',
    user_modified: 'user',
    user_recovery_requested: 'user',
    user_reauthenticate_requested: 'user',
    user_confirmation_requested: 'user',
    user_repeated_signup: 'user',
    user_updated_password: 'user',
    token_revoked: 'token',
    token_refreshed: 'token',
    generate_recovery_codes: 'user',
    factor_in_progress: 'factor',
    factor_unenrolled: 'factor',
    challenge_created: 'factor',
    verification_attempted: 'factor',
    factor_deleted: 'factor',
    recovery_codes_deleted: 'factor',
    factor_updated: 'factor',
    mfa_code_login: 'factor',
};

/** One auth.audit_log_entries row, payload shaped like GoTrue's. */
export async function audit(
    ctx: AuthContext,
    db: Pick<pg.ClientBase, 'query'>,
    facts: RequestFacts,
    actor: Pick<UserRecord, 'id' | 'email' | 'phone' | 'raw_user_meta_data'> | null,
    action: string,
    traits?: Record<string, unknown>,
): Promise<void> {
    const payload: Record<string, unknown> = {
        actor_id: actor?.id ?? '',
        actor_username: actor?.email || actor?.phone || '',
        actor_via_sso: false,
        action,
        log_type: LOG_TYPES[action] ?? 'account',
    };
    const name = actor?.raw_user_meta_data?.full_name;
    if (typeof name === 'string') payload.actor_name = name;
    if (traits) payload.traits = traits;
    await db.query(
        'insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address) values ($1, $2, $3, $4, $5)',
        [INSTANCE_ID, randomUUID(), JSON.stringify(payload), ctx.now(), facts.ip.slice(0, 64)],
    );
}
