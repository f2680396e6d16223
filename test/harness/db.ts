// Per-file test database, cloned from the migrated template, and helpers that run SQL
// the way the REST server will: connected as `authenticator`, one transaction, `set local
// role`, and the request's JWT claims in `request.jwt.claims`.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { insertAuthUser, type NewUser } from '../../stack/auth/user-rows.js';
import { createPgClient, createPgPool } from '../../stack/db/connect.js';

export type Claims = Record<string, unknown>;
export type Query = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;
export type ApiRole = 'anon' | 'authenticated' | 'service_role';

export interface TestUser {
    id: string;
    email: string | null;
    /** Claims of an access token for this user, as the auth server would issue them. */
    claims(extra?: Claims): Claims;
}

export interface TestDatabase {
    /** Database name and superuser URL. */
    readonly name: string;
    readonly url: string;
    /** Runs SQL as the superuser `postgres` (setup and assertions, outside RLS). */
    query: Query;
    asAnon<T>(fn: (q: Query) => Promise<T>): Promise<T>;
    asUser<T>(who: TestUser | Claims, fn: (q: Query) => Promise<T>): Promise<T>;
    asService<T>(fn: (q: Query) => Promise<T>): Promise<T>;
    /** Runs `fn` in one transaction as `role` with `claims`, committing on success. */
    asRole<T>(role: ApiRole, claims: Claims, fn: (q: Query) => Promise<T>): Promise<T>;
    createUser(user?: NewUser): Promise<TestUser>;
}

/** Creates `name` from the template, serialised: concurrent clones of one template may fail. */
export async function cloneTemplate(name: string): Promise<string> {
    const clusterUrl = inject('clusterUrl');
    const admin = createPgClient(clusterUrl);
    await admin.connect();
    try {
        await admin.query('select pg_advisory_lock(4242)');
        await admin.query(`create database ${admin.escapeIdentifier(name)} template ${admin.escapeIdentifier(inject('templateDatabase'))}`);
    } finally {
        await admin.end();
    }
    const url = new URL(clusterUrl);
    url.pathname = `/${name}`;
    return url.toString();
}

export async function dropDatabase(name: string): Promise<void> {
    const admin = createPgClient(inject('clusterUrl'));
    await admin.connect();
    try {
        // A replication slot (realtime's) left on the database would make the drop fail.
        await admin.query(
            `select pg_terminate_backend(active_pid) from pg_replication_slots where database = $1 and active_pid is not null`,
            [name],
        );
        await admin.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1`, [name]);
        await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
    } finally {
        await admin.end();
    }
}

/** A fresh database for this test file: created before its tests, dropped after them. */
export function useTestDatabase(): TestDatabase {
    const name = `test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    let superuser: pg.Pool | undefined;
    let authenticator: pg.Pool | undefined;
    let url = '';

    beforeAll(async () => {
        url = await cloneTemplate(name);
        superuser = createPgPool({ connectionString: url, max: 4 });
        const asAuthenticator = new URL(url);
        asAuthenticator.username = 'authenticator';
        asAuthenticator.password = 'postgres';
        authenticator = createPgPool({ connectionString: asAuthenticator.toString(), max: 60 });
    });

    afterAll(async () => {
        await superuser?.end();
        await authenticator?.end();
        await dropDatabase(name);
    });

    const ready = <P>(pool: P | undefined): P => {
        if (!pool) throw new Error('the test database is used before beforeAll ran');
        return pool;
    };

    const query: Query = async (sql, params) => (await ready(superuser).query(sql, params)).rows;

    async function asRole<T>(role: ApiRole, claims: Claims, fn: (q: Query) => Promise<T>): Promise<T> {
        const client = await ready(authenticator).connect();
        try {
            await client.query('begin');
            await client.query(`set local role ${role}`);
            await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ ...claims, role })]);
            const result = await fn(async (sql, params) => (await client.query(sql, params)).rows);
            await client.query('commit');
            return result;
        } catch (error) {
            await client.query('rollback').catch(() => {});
            throw error;
        } finally {
            client.release();
        }
    }

    return {
        get name() {
            return name;
        },
        get url() {
            return url;
        },
        query,
        asRole,
        asAnon: (fn) => asRole('anon', { iss: 'supabase-demo', role: 'anon' }, fn),
        asService: (fn) => asRole('service_role', { iss: 'supabase-demo', role: 'service_role' }, fn),
        asUser: (who, fn) => asRole('authenticated', isTestUser(who) ? who.claims() : who, fn),
        async createUser(user = {}) {
            const client = await ready(superuser).connect();
            try {
                const row = await insertAuthUser(client, {
                    email: `user-${randomUUID().slice(0, 8)}@example.test`,
                    password: null,
                    ...user,
                });
                return testUser(row.id, row.email, row.raw_app_meta_data, row.raw_user_meta_data, row.is_anonymous);
            } finally {
                client.release();
            }
        },
    };
}

function isTestUser(who: TestUser | Claims): who is TestUser {
    return typeof (who as TestUser).claims === 'function';
}

export function testUser(
    id: string,
    email: string | null,
    appMetadata: Record<string, unknown> = {},
    userMetadata: Record<string, unknown> = {},
    isAnonymous = false,
): TestUser {
    return {
        id,
        email,
        claims: (extra = {}) => {
            const now = Math.floor(Date.now() / 1000);
            return {
                iss: 'http://127.0.0.1:54321/auth/v1',
                sub: id,
                aud: 'authenticated',
                exp: now + 3600,
                iat: now,
                email: email ?? '',
                phone: '',
                app_metadata: appMetadata,
                user_metadata: userMetadata,
                role: 'authenticated',
                aal: 'aal1',
                amr: [{ method: 'password', timestamp: now }],
                session_id: randomUUID(),
                is_anonymous: isAnonymous,
                ...extra,
            };
        },
    };
}
