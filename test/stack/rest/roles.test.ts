// Roles: anon vs a user's JWT vs the service role; RLS enforced as the user; grants;
// the request context functions see; invalid JWTs; and no leaking of one request's role or
// claims into another under concurrency.
import { UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { ALICE, BOB, useRestService } from '../../harness/rest.js';

const rest = useRestService();

type Whoami = {
    role: string;
    uid: string | null;
    jwt_role: string | null;
    email: string | null;
    claims: Record<string, unknown> | null;
    method: string | null;
    path: string | null;
    x_test: string | null;
};

describe('RLS as the user', () => {
    it('anon sees no rows of an owner-only table', async () => {
        const { data, error, status } = await rest.anonClient().from('notes').select('*');
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([]);
    });

    it('each user sees only their own rows', async () => {
        const alice = await rest.userClient(ALICE.id);
        expect((await alice.from('notes').select('id,body').order('id')).data).toEqual([
            { id: 1, body: 'alice first' },
            { id: 2, body: 'alice second' },
        ]);
        const bob = await rest.userClient(BOB.id);
        expect((await bob.from('notes').select('id,body').order('id')).data).toEqual([{ id: 3, body: 'bob only' }]);
    });

    it('the service role bypasses RLS', async () => {
        const { data } = await rest.serviceClient().from('notes').select('id').order('id');
        expect(data).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    });

    it('a user inserts a row owned by them (auth.uid() default)', async () => {
        const alice = await rest.userClient(ALICE.id);
        const { data, error, status } = await alice.from('notes').insert({ id: 10, body: 'mine' }).select('id,owner_id,body');
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([{ id: 10, owner_id: ALICE.id, body: 'mine' }]);
    });

    it('a user inserting a row for someone else: 403 42501', async () => {
        const alice = await rest.userClient(ALICE.id);
        const { data, error, status } = await alice.from('notes').insert({ id: 11, owner_id: BOB.id, body: 'forged' });
        expect(status).toBe(403);
        expect(data).toBeNull();
        expect(error!.code).toBe('42501');
        expect(error!.message).toBe('new row violates row-level security policy for table "notes"');
        expect(await rest.sql('select 1 from public.notes where id = 11')).toEqual([]);
    });

    it('anon inserting: 401 42501', async () => {
        const { error, status } = await rest.anonClient().from('notes').insert({ id: 12, owner_id: BOB.id, body: 'anon' });
        expect(status).toBe(401);
        expect(error!.code).toBe('42501');
        expect(error!.message).toBe('new row violates row-level security policy for table "notes"');
    });

    it("a user cannot update or delete someone else's rows (0 rows affected)", async () => {
        const alice = await rest.userClient(ALICE.id);
        const update = await alice.from('notes').update({ body: 'hijacked' }).eq('id', 3).select();
        expect(update.status).toBe(200);
        expect(update.data).toEqual([]);
        const del = await alice.from('notes').delete().eq('id', 3).select();
        expect(del.data).toEqual([]);
        expect(await rest.sql('select body from public.notes where id = 3')).toEqual([{ body: 'bob only' }]);
    });

    it('a user updates their own row', async () => {
        const bob = await rest.userClient(BOB.id);
        const { data, error } = await bob.from('notes').update({ body: 'bob edited' }).eq('id', 3).select('id,body');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 3, body: 'bob edited' }]);
    });
});

describe('grants', () => {
    it('anon without privileges: 401 42501 permission denied', async () => {
        const { data, error, status } = await rest.anonClient().from('secrets').select('*');
        expect(status).toBe(401);
        expect(data).toBeNull();
        expect(error!.code).toBe('42501');
        expect(error!.message).toBe('permission denied for table secrets');
    });

    it('a signed-in user without privileges: 403 42501', async () => {
        const alice = await rest.userClient(ALICE.id);
        const { error, status } = await alice.from('secrets').select('*');
        expect(status).toBe(403);
        expect(error!.code).toBe('42501');
        expect(error!.message).toBe('permission denied for table secrets');
    });

    it('the service role has the privileges', async () => {
        const { data, error } = await rest.serviceClient().from('secrets').select('*');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 1, value: 'hunter2' }]);
    });

    it('the 42501 error carries Proxy-Status', async () => {
        const res = await rest.raw('/secrets');
        expect(res.status).toBe(401);
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=42501');
    });
});

describe('request context', () => {
    it('anon: role anon and the anon key claims', async () => {
        const { data, error } = await rest.anonClient().rpc('whoami');
        expect(error).toBeNull();
        const me = data as Whoami;
        expect(me.role).toBe('anon');
        expect(me.uid).toBeNull();
        expect(me.jwt_role).toBe('anon');
        expect(me.claims).toEqual({ iss: 'supabase-demo', role: 'anon', exp: 1983812996 });
        expect(me.method).toBe('POST');
        expect(me.path).toBe('/rpc/whoami');
    });

    it('a user: role authenticated, auth.uid(), auth.email() and every claim', async () => {
        const alice = await rest.userClient(ALICE.id, { app_metadata: { plan: 'pro' } });
        const { data, error } = await alice.rpc('whoami');
        expect(error).toBeNull();
        const me = data as Whoami;
        expect(me.role).toBe('authenticated');
        expect(me.uid).toBe(ALICE.id);
        expect(me.jwt_role).toBe('authenticated');
        expect(me.email).toBe(ALICE.email);
        expect(me.claims).toMatchObject({ sub: ALICE.id, aud: 'authenticated', role: 'authenticated', app_metadata: { plan: 'pro' }, aal: 'aal1' });
    });

    it('the service role', async () => {
        const me = (await rest.serviceClient().rpc('whoami')).data as Whoami;
        expect(me.role).toBe('service_role');
        expect(me.claims).toEqual({ iss: 'supabase-demo', role: 'service_role', exp: 1983812996 });
    });

    it('GET sets request.method GET; request.headers has lower-case keys', async () => {
        const res = await rest.raw('/rpc/whoami', { headers: { 'X-Test': 'hello' } });
        expect(res.status).toBe(200);
        const me = (await res.json()) as Whoami;
        expect(me.method).toBe('GET');
        expect(me.path).toBe('/rpc/whoami');
        expect(me.x_test).toBe('hello');
    });

    it('a valid JWT without a role claim runs as anon', async () => {
        const token = await rest.sign({ sub: ALICE.id, exp: Math.floor(Date.now() / 1000) + 600 });
        const me = (await rest.tokenClient(token).rpc('whoami')).data as Whoami;
        expect(me.role).toBe('anon');
    });

    it('an apikey header without Authorization decides the role (docs/rest.md: identity)', async () => {
        const res = await fetch(`${rest.restUrl}/rpc/whoami`, { headers: { apikey: LOCAL_SERVICE_ROLE_KEY } });
        expect(res.status).toBe(200);
        expect(((await res.json()) as Whoami).role).toBe('service_role');
    });

    it('no Authorization header at all runs as anon', async () => {
        const res = await fetch(`${rest.restUrl}/rpc/whoami`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as Whoami).role).toBe('anon');
    });

    it('a service_role JWT signed with the secret bypasses RLS', async () => {
        const token = await rest.sign({ role: 'service_role', exp: Math.floor(Date.now() / 1000) + 600 });
        const { data } = await rest.tokenClient(token).from('notes').select('id').order('id').limit(3);
        expect(data).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    });
});

describe('invalid JWTs', () => {
    const expectInvalidToken = (res: Response) => {
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    };

    it('an expired JWT: 401 PGRST303 JWT expired', async () => {
        const token = await rest.sign(rest.userClaims(ALICE.id, { exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 3660 }));
        const { data, error, status } = await rest.tokenClient(token).from('notes').select('*');
        expect(status).toBe(401);
        expect(data).toBeNull();
        expect(error).toEqual({ code: 'PGRST303', message: 'JWT expired', details: null, hint: null });
        const res = await rest.raw('/notes', { headers: { Authorization: `Bearer ${token}` } });
        expectInvalidToken(res);
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST303');
    });

    it('a JWT signed with another secret: 401 PGRST301', async () => {
        const token = await rest.sign(rest.userClaims(ALICE.id), 'another-secret-that-is-at-least-32-characters');
        const { error, status } = await rest.tokenClient(token).from('notes').select('*');
        expect(status).toBe(401);
        expect(error!.code).toBe('PGRST301');
        expectInvalidToken(await rest.raw('/notes', { headers: { Authorization: `Bearer ${token}` } }));
    });

    it('a tampered payload: 401 PGRST301', async () => {
        const token = await rest.sign(rest.userClaims(ALICE.id));
        const [header, , signature] = token.split('.');
        const forgedPayload = Buffer.from(JSON.stringify(rest.userClaims(BOB.id, { role: 'service_role' }))).toString('base64url');
        const { error, status } = await rest.tokenClient(`${header}.${forgedPayload}.${signature}`).from('notes').select('*');
        expect(status).toBe(401);
        expect(error!.code).toBe('PGRST301');
    });

    it('alg: none: 401 PGRST301', async () => {
        const token = new UnsecuredJWT({ role: 'service_role', exp: Math.floor(Date.now() / 1000) + 600 }).encode();
        const { error, status } = await rest.tokenClient(token).from('secrets').select('*');
        expect(status).toBe(401);
        expect(error!.code).toBe('PGRST301');
    });

    it('a token that is not a JWT: 401 PGRST301', async () => {
        const { error, status } = await rest.tokenClient('not-a-jwt').from('customers').select('id');
        expect(status).toBe(401);
        expect(error!.code).toBe('PGRST301');
    });

    it('the anon key itself is valid', async () => {
        const res = await rest.raw('/customers?select=id&limit=1', { headers: { Authorization: `Bearer ${LOCAL_ANON_KEY}` } });
        expect(res.status).toBe(200);
    });
});

describe('per-role settings', () => {
    it("anon's statement_timeout (3s) applies: 500 57014", { timeout: 20_000 }, async () => {
        const res = await rest.raw('/rpc/sleepy', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"seconds": 3.5}' });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({ code: '57014', message: 'canceling statement due to statement timeout', details: null, hint: null });
        // The connection that was cancelled goes back to the pool usable.
        const after = await Promise.all(Array.from({ length: 12 }, () => rest.anonClient().rpc('add_numbers', { a: 1, b: 1 })));
        expect(after.map((r) => r.data)).toEqual(Array.from({ length: 12 }, () => 2));
    });

    it('the service role has no such timeout', { timeout: 20_000 }, async () => {
        const { data, error } = await rest.serviceClient().rpc('sleepy', { seconds: 3.5 });
        expect(error).toBeNull();
        expect(data).toBe(1);
    });
});

describe('concurrency', () => {
    it('parallel requests never see another request’s role or claims', async () => {
        const alice = await rest.userClient(ALICE.id);
        const bob = await rest.userClient(BOB.id);
        const anon = rest.anonClient();
        const service = rest.serviceClient();
        const who = [
            { client: alice, role: 'authenticated', uid: ALICE.id, notes: 2 },
            { client: bob, role: 'authenticated', uid: BOB.id, notes: 1 },
            { client: anon, role: 'anon', uid: null, notes: 0 },
            { client: service, role: 'service_role', uid: null, notes: 3 },
        ];
        const calls = Array.from({ length: 120 }, (_, i) => who[i % who.length]!);
        const results = await Promise.all(
            calls.map(async (w, i) => {
                if (i % 2 === 0) {
                    const { data, error } = await w.client.rpc('whoami');
                    expect(error).toBeNull();
                    const me = data as Whoami;
                    return me.role === w.role && me.uid === w.uid;
                }
                const { data, error } = await w.client.from('notes').select('id').lte('id', 3);
                expect(error).toBeNull();
                return (data as unknown[]).length === w.notes;
            }),
        );
        expect(results.filter((ok) => !ok)).toEqual([]);
    });

    it('parallel writes all land, each in its own transaction', async () => {
        const service = rest.serviceClient();
        const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) => service.from('tags').insert({ id: 1000 + i, label: `parallel ${i}` })),
        );
        expect(results.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 201));
        expect(await rest.sql(`select count(*)::int as n from public.tags where id between 1000 and 1049`)).toEqual([{ n: 50 }]);
    });

    it('a failing request in a parallel batch does not affect the others', async () => {
        const anon = rest.anonClient();
        const results = await Promise.all(
            Array.from({ length: 30 }, (_, i) =>
                i % 3 === 0 ? anon.from('tags').insert({ id: 1, label: 'dup' }) : anon.from('customers').select('id').eq('id', 1),
            ),
        );
        results.forEach((r, i) => {
            if (i % 3 === 0) expect(r.status).toBe(409);
            else expect(r.data).toEqual([{ id: 1 }]);
        });
    });
});
