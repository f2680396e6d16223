// The gateway's own job, tested against a stub REST service that echoes the role of the
// JWT it was handed: each key kind maps to the right role, forged keys are refused,
// CORS and request ids look like Supabase's gateway.
import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type AccessLogEntry } from '../../../stack/gateway/index.js';
import { apiKeysFor, type ApiKeys } from '../../../stack/gateway/keys.js';
import { listen, type FetchHandler, type Listening } from '../../../stack/http.js';
import { testClient } from './supabase-client.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';

const jwtKeys = { secret: LOCAL_JWT_SECRET, signingKeys: [] };

/** REST stand-in: reports the role and path it was given, as PostgREST would decide them. */
const echoRest: FetchHandler = async (request) => {
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    const role = token ? (decodeJwt(token).role as string) : 'anon';
    const url = new URL(request.url);
    return Response.json([{ role, path: url.pathname, query: url.search, apikey: request.headers.get('apikey'), request_id: request.headers.get('x-request-id') }]);
};

const sign = (claims: Record<string, unknown>, secret = LOCAL_JWT_SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(secret));

let gateway: Listening;
let keys: ApiKeys;
const log: AccessLogEntry[] = [];

beforeAll(async () => {
    keys = await apiKeysFor(jwtKeys);
    gateway = await listen(
        createGateway({
            routes: { '/rest/v1': echoRest, '/auth/v1': echoRest, '/functions/v1': echoRest },
            keys,
            jwt: jwtKeys,
            accessLog: (e) => log.push(e),
        }),
        { port: 0 },
    );
});
afterAll(() => gateway?.close());

const roleWith = async (key: string, accessToken?: string) => {
    const client = testClient(gateway.url, key, accessToken);
    const { data, error, status } = await client.from('probe').select();
    return { role: (data as Array<{ role: string }> | null)?.[0]?.role, error, status };
};

describe('key handling on /rest/v1 (supabase-js as the client)', () => {
    it('the legacy anon JWT acts as anon', async () => {
        expect((await roleWith(LOCAL_ANON_KEY)).role).toBe('anon');
    });

    it('the legacy service_role JWT acts as service_role', async () => {
        expect((await roleWith(LOCAL_SERVICE_ROLE_KEY)).role).toBe('service_role');
    });

    it('the publishable key acts as anon', async () => {
        expect((await roleWith(LOCAL_PUBLISHABLE_KEY)).role).toBe('anon');
    });

    it('the secret key acts as service_role', async () => {
        expect((await roleWith(LOCAL_SECRET_KEY)).role).toBe('service_role');
    });

    it('a user access token in Authorization decides the role over the publishable key', async () => {
        const token = await sign({ sub: '00000000-0000-0000-0000-000000000001', role: 'authenticated', aud: 'authenticated' });
        expect((await roleWith(LOCAL_PUBLISHABLE_KEY, token)).role).toBe('authenticated');
    });

    it('a forged publishable key is refused with 401 Invalid API key', async () => {
        const result = await roleWith('sb_publishable_forgedforgedforgedforgedfo');
        expect(result.status).toBe(401);
        expect(result.error?.message).toBe('Invalid API key');
    });

    it('an anon JWT signed with another secret is refused', async () => {
        const forged = await sign({ iss: 'supabase-demo', role: 'service_role' }, 'another-secret-that-is-at-least-32-characters');
        const result = await roleWith(forged);
        expect(result.status).toBe(401);
        expect(result.error?.message).toBe('Invalid API key');
    });
});

describe('raw requests', () => {
    it('Authorization: Bearer sb_secret_… is replaced by the service_role JWT', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: LOCAL_SECRET_KEY, authorization: `Bearer ${LOCAL_SECRET_KEY}` } });
        expect(((await response.json()) as Array<Record<string, unknown>>)[0]!.role).toBe('service_role');
    });

    it('a forged opaque key in Authorization is refused', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY, authorization: 'Bearer sb_secret_notthekey' } });
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({ message: 'Invalid API key', hint: expect.any(String) });
    });

    it('an unknown key on /functions/v1 reaches the function unchanged (JWT checks are verify_jwt\'s), while /rest/v1 refuses it', async () => {
        const unknown = 'sb_publishable_notthisprojectskeynotthisproj';
        const fn = await fetch(`${gateway.url}/functions/v1/probe`, { headers: { apikey: unknown } });
        expect(fn.status).toBe(200);
        const seen = ((await fn.json()) as Array<Record<string, unknown>>)[0]!;
        expect(seen).toMatchObject({ apikey: unknown, role: 'anon', path: '/probe' });
        const rest = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: unknown } });
        expect(rest.status).toBe(401);
    });

    it('strips the route prefix', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/orders?select=id`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(((await response.json()) as Array<Record<string, unknown>>)[0]!.path).toBe('/orders');
    });

    it('an unknown route is 404 as Kong says it', async () => {
        const response = await fetch(`${gateway.url}/storage/v1/bucket`);
        expect(response.status).toBe(404);
        expect(await response.json()).toEqual({ message: 'no Route matched with those values' });
    });

    it('answers a CORS preflight with 200, any origin and the client headers', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, {
            method: 'OPTIONS',
            headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom' },
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-origin')).toBe('*');
        const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
        for (const header of ['authorization', 'apikey', 'x-client-info', 'content-type', 'x-supabase-api-version', 'prefer', 'range', 'accept-profile', 'content-profile', 'x-custom']) {
            expect(allowed).toContain(header);
        }
    });

    it('exposes Content-Range to browsers on normal responses', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { origin: 'http://localhost:3000', apikey: LOCAL_PUBLISHABLE_KEY } });
        expect(response.headers.get('access-control-allow-origin')).toBe('*');
        expect(response.headers.get('access-control-expose-headers')).toContain('Content-Range');
    });

    it('gives each request an id, passed to the service and logged as one JSON line', async () => {
        log.length = 0;
        const response = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: LOCAL_SECRET_KEY } });
        const id = response.headers.get('sb-request-id');
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        expect(((await response.json()) as Array<Record<string, unknown>>)[0]!.request_id).toBe(id);
        expect(log).toEqual([expect.objectContaining({ request_id: id, method: 'GET', path: '/rest/v1/probe', status: 200, role: 'service_role' })]);
        expect(JSON.stringify(log[0])).not.toContain(LOCAL_SECRET_KEY);
    });
});

describe('requests without an API key (Kong key-auth)', () => {
    const expectNoApiKey = async (response: Response, what: string) => {
        expect(response.status, what).toBe(401);
        expect(response.headers.get('www-authenticate'), what).toBe('Key realm="kong"');
        expect(response.headers.get('content-type'), what).toMatch(/^application\/json/);
        expect(await response.json(), what).toEqual({ message: 'No API key found in request' });
    };

    it('/rest/v1 and /auth/v1 answer 401 No API key found in request, and nothing reaches the service', async () => {
        log.length = 0;
        for (const path of ['/rest/v1/probe', '/rest/v1/', '/rest/v1/rpc/whoami', '/auth/v1/health', '/auth/v1/settings', '/auth/v1/user', '/auth/v1/admin/users']) {
            await expectNoApiKey(await fetch(`${gateway.url}${path}`), path);
        }
        await expectNoApiKey(await fetch(`${gateway.url}/auth/v1/token?grant_type=password`, { method: 'POST', body: '{}' }), 'POST /token');
        await expectNoApiKey(await fetch(`${gateway.url}/rest/v1/probe`, { method: 'POST', body: '{}' }), 'POST /rest/v1/probe');
        expect(log.every((entry) => entry.status === 401)).toBe(true);
    });

    it('a user JWT in Authorization is no API key', async () => {
        const token = await sign({ sub: '00000000-0000-0000-0000-000000000001', role: 'authenticated', aud: 'authenticated' });
        await expectNoApiKey(await fetch(`${gateway.url}/rest/v1/probe`, { headers: { authorization: `Bearer ${token}` } }), 'bearer only');
        await expectNoApiKey(await fetch(`${gateway.url}/rest/v1/probe`, { headers: { authorization: `Bearer ${LOCAL_SECRET_KEY}` } }), 'opaque bearer only');
        await expectNoApiKey(await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: '' } }), 'empty apikey');
    });

    it('the key may come as ?apikey=, and REST never sees it (hide_credentials)', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe?select=id&apikey=${LOCAL_PUBLISHABLE_KEY}`);
        expect(response.status).toBe(200);
        const [echo] = (await response.json()) as Array<Record<string, unknown>>;
        expect(echo).toMatchObject({ role: 'anon', query: '?select=id', apikey: null });
        const header = (await (await fetch(`${gateway.url}/rest/v1/probe`, { headers: { apikey: LOCAL_PUBLISHABLE_KEY } })).json()) as Array<Record<string, unknown>>;
        expect(header[0]!.apikey).toBeNull();
        const auth = (await (await fetch(`${gateway.url}/auth/v1/settings?apikey=${LOCAL_PUBLISHABLE_KEY}`)).json()) as Array<Record<string, unknown>>;
        expect(auth[0]).toMatchObject({ path: '/settings', role: 'anon' });
    });

    it('the open Auth paths and functions are reached without a key', async () => {
        for (const [path, upstream] of [
            ['/auth/v1/verify?token=x&type=signup', '/verify'],
            ['/auth/v1/callback?code=x', '/callback'],
            ['/auth/v1/authorize?provider=github', '/authorize'],
            ['/auth/v1/.well-known/jwks.json', '/.well-known/jwks.json'],
            ['/functions/v1/hello', '/hello'],
        ] as const) {
            const response = await fetch(`${gateway.url}${path}`);
            expect(response.status, path).toBe(200);
            expect(((await response.json()) as Array<Record<string, unknown>>)[0]!.path, path).toBe(upstream);
        }
    });

    it('CORS preflights need no key', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, {
            method: 'OPTIONS',
            headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
        });
        expect(response.status).toBe(200);
    });

    it('a 401 for a missing key still carries the CORS headers browsers need to read it', async () => {
        const response = await fetch(`${gateway.url}/rest/v1/probe`, { headers: { origin: 'http://localhost:3000' } });
        expect(response.status).toBe(401);
        expect(response.headers.get('access-control-allow-origin')).toBe('*');
    });
});
