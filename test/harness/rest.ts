// The /rest/v1 service for one test file: a fresh database with the Supabase platform and
// the REST fixture schema (test/fixtures/rest/schema.sql), the service started over it and
// served under /rest/v1 on a free port, and supabase-js clients for each role.
//
// The database is NOT a clone of the migrated template: the template carries this
// project's commerce schema (public.orders, public.products, a `private` schema, triggers on
// auth.users …), which would collide with the fixture and change PostgREST's fuzzy hints.
// The REST engine must work for any Supabase project, so the suite gives it a project of
// its own: the platform (roles, auth, public/extensions grants) plus the fixture.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { SignJWT } from 'jose';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, inject } from 'vitest';
import { insertAuthUser } from '../../stack/auth/user-rows.js';
import { loadProjectConfig } from '../../stack/config.js';
import { listen, type Listening } from '../../stack/http.js';
import { jwtKeysFromConfig } from '../../stack/jwt.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { createRestService } from '../../stack/rest/index.js';
import { applyPlatform, withRoleLock } from '../../stack/db/platform.js';
import { dropDatabase } from './db.js';
import { createPgClient, createPgPool } from '../../stack/db/connect.js';

export const REST_FIXTURE_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'rest');
export const REST_FIXTURE_SQL = path.join(REST_FIXTURE_DIR, 'schema.sql');

/** Users the harness creates, each owning notes in public.notes. */
export const ALICE = { id: 'a11ce000-0000-4000-8000-000000000001', email: 'alice@example.test' } as const;
export const BOB = { id: 'b0b00000-0000-4000-8000-000000000002', email: 'bob@example.test' } as const;

/** Notes seeded by the harness (public.notes, RLS by owner). */
export const SEEDED_NOTES = [
    { id: 1, owner_id: ALICE.id, body: 'alice first' },
    { id: 2, owner_id: ALICE.id, body: 'alice second' },
    { id: 3, owner_id: BOB.id, body: 'bob only' },
] as const;

// The fixture is typed loosely on purpose: the suite checks runtime behaviour, and the
// generated-types machinery of supabase-js is not under test.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClient = SupabaseClient<any, 'public', any>;

export interface RestTestContext {
    /** Base URL as a Supabase project would have it (clients append /rest/v1). */
    readonly url: string;
    /** `${url}/rest/v1` */
    readonly restUrl: string;
    /** Superuser SQL against this file's database (setup and assertions, outside RLS). */
    sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
    anonClient(): AnyClient;
    serviceClient(): AnyClient;
    /** A client carrying an access token for `userId` as the auth server would sign it. */
    userClient(userId: string, extraClaims?: Record<string, unknown>): Promise<AnyClient>;
    /** A client sending exactly this bearer token (forged, expired, …). */
    tokenClient(token: string): AnyClient;
    /** Plain fetch to `${restUrl}${path}`; sends the anon key unless the caller sets Authorization. */
    raw(path: string, init?: RequestInit): Promise<Response>;
    /** Signs claims with the project's HS256 secret (no defaults added). */
    sign(claims: Record<string, unknown>, secret?: string): Promise<string>;
    /** Claims of a user access token, as GoTrue issues them. */
    userClaims(userId: string, extra?: Record<string, unknown>): Record<string, unknown>;
    reloadSchema(): Promise<void>;
}

export async function signJwt(claims: Record<string, unknown>, secret = LOCAL_JWT_SECRET): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

export function accessTokenClaims(userId: string, email: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
        iss: 'http://127.0.0.1:54321/auth/v1',
        sub: userId,
        aud: 'authenticated',
        exp: now + 3600,
        iat: now,
        email: email ?? '',
        phone: '',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: {},
        role: 'authenticated',
        aal: 'aal1',
        amr: [{ method: 'password', timestamp: now }],
        session_id: randomUUID(),
        is_anonymous: false,
        ...extra,
    };
}

/** Node 20 has no global WebSocket; realtime-js demands a constructor even when unused. */
class NoWebSocket {
    constructor() {
        throw new Error('realtime is not used by the REST suite');
    }
}

const clientOptions = (headers: Record<string, string> = {}) => ({
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, storageKey: `rest-test-${randomUUID()}` },
    global: { headers },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    realtime: { transport: NoWebSocket as any },
});

/**
 * Starts the REST service for the calling test file (beforeAll) and tears it down (afterAll).
 * The returned object is usable once beforeAll has run.
 */
export function useRestService(): RestTestContext {
    const dbName = `rest_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    let pool: pg.Pool | undefined;
    let service: Awaited<ReturnType<typeof createRestService>> | undefined;
    let server: Listening | undefined;
    let baseUrl = '';

    beforeAll(async () => {
        const dbUrl = await createFixtureDatabase(dbName);
        pool = createPgPool({ connectionString: dbUrl, max: 4 });
        const client = await pool.connect();
        try {
            await client.query('begin');
            await insertAuthUser(client, { id: ALICE.id, email: ALICE.email, password: null });
            await insertAuthUser(client, { id: BOB.id, email: BOB.email, password: null });
            for (const note of SEEDED_NOTES) {
                await client.query('insert into public.notes (id, owner_id, body) values ($1, $2, $3)', [note.id, note.owner_id, note.body]);
            }
            await client.query('commit');
        } catch (error) {
            await client.query('rollback');
            throw error;
        } finally {
            client.release();
        }

        const config = loadProjectConfig(REST_FIXTURE_DIR);
        service = await createRestService({ dbUrl, config, jwt: jwtKeysFromConfig(config) });
        const handler = service.handler;
        server = await listen(
            async (request, info) => {
                const url = new URL(request.url);
                if (!url.pathname.startsWith('/rest/v1')) {
                    return new Response(JSON.stringify({ message: 'no route' }), { status: 404, headers: { 'content-type': 'application/json' } });
                }
                url.pathname = url.pathname.slice('/rest/v1'.length) || '/';
                const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
                const inner = new Request(url, {
                    method: request.method,
                    headers: request.headers,
                    body: hasBody ? await request.arrayBuffer() : undefined,
                });
                return handler(inner, info);
            },
            { port: 0 },
        );
        baseUrl = server.url;
    });

    afterAll(async () => {
        await server?.close();
        await service?.close();
        await pool?.end();
        await dropDatabase(dbName);
    });

    const ready = () => {
        if (!pool || !baseUrl) throw new Error('the REST service is used before beforeAll ran');
        return { pool, baseUrl };
    };

    const userClaims = (userId: string, extra: Record<string, unknown> = {}) =>
        accessTokenClaims(userId, userId === ALICE.id ? ALICE.email : userId === BOB.id ? BOB.email : null, extra);

    const tokenClient = (token: string) =>
        createClient(ready().baseUrl, LOCAL_ANON_KEY, clientOptions({ Authorization: `Bearer ${token}` })) as AnyClient;

    return {
        get url() {
            return ready().baseUrl;
        },
        get restUrl() {
            return `${ready().baseUrl}/rest/v1`;
        },
        async sql(text, params) {
            return (await ready().pool.query(text, params)).rows;
        },
        anonClient: () => createClient(ready().baseUrl, LOCAL_ANON_KEY, clientOptions()) as AnyClient,
        serviceClient: () => createClient(ready().baseUrl, LOCAL_SERVICE_ROLE_KEY, clientOptions()) as AnyClient,
        async userClient(userId, extraClaims) {
            return tokenClient(await signJwt(userClaims(userId, extraClaims)));
        },
        tokenClient,
        async raw(p, init = {}) {
            const headers = new Headers(init.headers);
            if (!headers.has('apikey')) headers.set('apikey', LOCAL_ANON_KEY);
            if (!headers.has('authorization')) headers.set('authorization', `Bearer ${LOCAL_ANON_KEY}`);
            return fetch(`${ready().baseUrl}/rest/v1${p}`, { ...init, headers });
        },
        sign: signJwt,
        userClaims,
        async reloadSchema() {
            if (!service) throw new Error('the REST service is used before beforeAll ran');
            await service.reloadSchema();
        },
    };
}

/**
 * Creates `name` with only the Supabase platform and the fixture applied (see the header
 * comment). The fixture changes a cluster-wide role setting, so it runs under the same
 * role lock as the platform (another test file may be applying it at the same moment).
 */
export async function createFixtureDatabase(name: string): Promise<string> {
    const clusterUrl = inject('clusterUrl');
    const admin = createPgClient(clusterUrl);
    await admin.connect();
    try {
        await admin.query(`create database ${admin.escapeIdentifier(name)} template template0`);
    } finally {
        await admin.end();
    }
    const url = new URL(clusterUrl);
    url.pathname = `/${name}`;
    await applyPlatform(url.toString());
    await withRoleLock(url.toString(), async () => {
        const client = createPgClient(url.toString());
        await client.connect();
        try {
            await client.query(fs.readFileSync(REST_FIXTURE_SQL, 'utf8'));
        } finally {
            await client.end();
        }
    });
    return url.toString();
}

/** Reads a response body as JSON, failing with the text when it is not JSON. */
export async function jsonBody(response: Response): Promise<unknown> {
    const text = await response.text();
    try {
        return JSON.parse(text);
    } catch {
        throw new Error(`expected a JSON body, got ${response.status}: ${text}`);
    }
}
