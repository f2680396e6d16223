// Error objects: PostgREST's own PGRST codes not covered by the topic files, and Postgres
// errors passed through with their SQLSTATE, status mapping and Proxy-Status header.
// (PGRST103 → pagination, PGRST106/205 → schemas, PGRST108/118/120/200/201 → embedding,
// PGRST116 → accept, PGRST122/124 → prefer, PGRST101/202/203 → rpc, PGRST204/105/114/115 →
// writes, PGRST301/303 → roles.)
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

type ErrorBody = { code: string; message: string; details: unknown; hint: unknown };

async function errorOf(res: Response): Promise<ErrorBody> {
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return (await res.json()) as ErrorBody;
}

// PostgREST reports Parsec's error position as the message: `"failed to parse filter (…)"
// (line 1, column n)`, with Parsec's expectations in details.
describe('PGRST100: query string parse errors', () => {
    it('an unknown operator', async () => {
        const res = await rest.raw('/customers?id=xyz.1');
        expect(res.status).toBe(400);
        const body = await errorOf(res);
        expect(body.code).toBe('PGRST100');
        expect(body.message).toMatch(/^"failed to parse filter \(xyz\.1\)" \(line 1, column \d+\)$/);
        expect(typeof body.details).toBe('string');
        expect(body.hint).toBeNull();
    });

    it('a malformed select', async () => {
        const res = await rest.raw('/customers?select=id,name(');
        expect(res.status).toBe(400);
        const body = await errorOf(res);
        expect(body.code).toBe('PGRST100');
        expect(body.message).toMatch(/^"failed to parse select parameter \(id,name\(\)" \(line 1, column \d+\)$/);
    });

    it('a malformed order', async () => {
        const res = await rest.raw('/customers?order=id.sideways');
        expect(res.status).toBe(400);
        const body = await errorOf(res);
        expect(body.code).toBe('PGRST100');
        expect(body.message).toMatch(/^"failed to parse order \(id\.sideways\)" \(line 1, column \d+\)$/);
    });

    it('a malformed logic tree', async () => {
        const res = await rest.raw('/customers?or=(id.eq.1');
        expect(res.status).toBe(400);
        const body = await errorOf(res);
        expect(body.code).toBe('PGRST100');
        expect(body.message).toMatch(/^"failed to parse logic tree \(\(id\.eq\.1\)" \(line 1, column \d+\)$/);
    });

    it('through supabase-js', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').or('id.eq.1,(');
        expect(status).toBe(400);
        expect(data).toBeNull();
        expect(error!.code).toBe('PGRST100');
        expect(error!.message).toMatch(/^"failed to parse logic tree/);
    });

    it('carries Proxy-Status', async () => {
        const res = await rest.raw('/customers?id=xyz.1');
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST100');
    });
});

describe('PGRST102: request bodies', () => {
    it('invalid JSON', async () => {
        const res = await rest.raw('/tags', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"id": 1,' });
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toEqual({ code: 'PGRST102', message: 'Empty or invalid json', details: null, hint: null });
    });

    it('an empty body', async () => {
        const res = await rest.raw('/tags', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '' });
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toEqual({ code: 'PGRST102', message: 'Empty or invalid json', details: null, hint: null });
    });

    it('bulk objects with different keys and no columns parameter', async () => {
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify([{ id: 700, label: 'a' }, { id: 701 }]),
        });
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toEqual({ code: 'PGRST102', message: 'All object keys must match', details: null, hint: null });
    });
});

describe('PGRST107: media types', () => {
    it('an unsupported Content-Type on a write is rejected with a 4xx', async () => {
        const res = await rest.raw('/tags', { method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: '<tag/>' });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(await rest.sql(`select count(*)::int as n from public.tags`)).toEqual([{ n: 2 }]);
    });
});

describe('PGRST125: unknown paths', () => {
    it('a nested path: 404 PGRST125', async () => {
        const res = await rest.raw('/customers/1/orders');
        expect(res.status).toBe(404);
        expect((await errorOf(res)).code).toBe('PGRST125');
    });
});

describe('Postgres errors pass through with their SQLSTATE', () => {
    it('22P02 invalid input syntax: 400', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').eq('id', 'abc');
        expect(status).toBe(400);
        expect(data).toBeNull();
        expect(error).toEqual({ code: '22P02', message: 'invalid input syntax for type bigint: "abc"', details: null, hint: null });
    });

    it('42703 unknown column in select: 400', async () => {
        const { error, status } = await rest.anonClient().from('customers').select('id,nope');
        expect(status).toBe(400);
        expect(error!.code).toBe('42703');
        expect(error!.message).toBe('column customers.nope does not exist');
    });

    it('42703 unknown column in a filter: 400', async () => {
        const { error, status } = await rest.anonClient().from('customers').select('id').eq('nope', 1);
        expect(status).toBe(400);
        expect(error!.code).toBe('42703');
        expect(error!.message).toBe('column customers.nope does not exist');
    });

    it('42883 undefined operator: 404', async () => {
        const { error, status } = await rest.anonClient().from('customers').select('id').like('id', '1%');
        expect(status).toBe(404);
        expect(error).toEqual({
            code: '42883',
            message: 'operator does not exist: bigint ~~ unknown',
            details: null,
            hint: 'No operator matches the given name and argument types. You might need to add explicit type casts.',
        });
    });

    it('23505 carries Proxy-Status with the SQLSTATE', async () => {
        const res = await rest.raw('/tags', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 1, label: 'dup' }) });
        expect(res.status).toBe(409);
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=23505');
        expect(await errorOf(res)).toEqual({
            code: '23505',
            message: 'duplicate key value violates unique constraint "tags_pkey"',
            details: 'Key (id)=(1) already exists.',
            hint: null,
        });
    });

    it('22023 / invalid values in a cast: 400', async () => {
        const res = await rest.raw('/kinds?select=id&day=eq.2024-13-45');
        expect(res.status).toBe(400);
        const body = await errorOf(res);
        expect(body.code).toBe('22008');
        expect(body.message).toBe('date/time field value out of range: "2024-13-45"');
    });

    it('an error body always has the four keys', async () => {
        const res = await rest.raw('/customers?select=id&id=eq.abc');
        const body = await errorOf(res);
        expect(Object.keys(body).sort()).toEqual(['code', 'details', 'hint', 'message']);
    });
});

describe('CORS', () => {
    it('a preflight OPTIONS is answered with permissive CORS headers', async () => {
        const res = await fetch(`${rest.restUrl}/customers`, {
            method: 'OPTIONS',
            headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,apikey,content-type,prefer' },
        });
        expect(res.status).toBeLessThan(300);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        expect((res.headers.get('access-control-allow-methods') ?? '').toUpperCase()).toContain('POST');
    });

    it('a request with an Origin gets Access-Control-Allow-Origin', async () => {
        const res = await rest.raw('/tags?select=id', { headers: { Origin: 'http://localhost:3000' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('Content-Range is exposed to browsers (supabase-js reads counts from it)', async () => {
        const res = await rest.raw('/tags?select=id', { headers: { Origin: 'http://localhost:3000', Prefer: 'count=exact' } });
        expect((res.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('content-range');
    });

    it('OPTIONS on a table lists the allowed methods', async () => {
        const res = await rest.raw('/customers', { method: 'OPTIONS' });
        expect(res.status).toBe(200);
        const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
        expect(allow).toEqual(expect.arrayContaining(['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']));
    });
});

describe('injection attempts', () => {
    it('a filter value is data, never SQL', async () => {
        const { data, error } = await rest.anonClient().from('tags').select('id').eq('label', "red'; drop table public.tags; --");
        expect(error).toBeNull();
        expect(data).toEqual([]);
        expect(await rest.sql(`select count(*)::int as n from public.tags where id <= 2`)).toEqual([{ n: 2 }]);
    });

    it('an identifier cannot break out of its quotes', async () => {
        for (const path of [
            '/tags?select=id,"label""; drop table public.tags; --"',
            '/tags?order=id;drop table public.tags',
            '/tags?select=id&id"=eq.1',
            '/tags?select=id::text);drop table public.tags;--',
        ]) {
            const res = await rest.raw(path);
            expect(res.status, path).toBeGreaterThanOrEqual(400);
            expect(res.status, path).toBeLessThan(500);
        }
        expect(await rest.sql(`select count(*)::int as n from public.tags where id <= 2`)).toEqual([{ n: 2 }]);
    });

    it('an rpc argument is data, never SQL', async () => {
        const { data, error } = await rest.anonClient().rpc('greet', { name: "x'); drop table public.tags; --" });
        expect(error).toBeNull();
        expect(data).toBe("hello x'); drop table public.tags; --");
        expect(await rest.sql(`select count(*)::int as n from public.tags where id <= 2`)).toEqual([{ n: 2 }]);
    });
});
