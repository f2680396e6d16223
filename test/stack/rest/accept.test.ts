// Accept variants: singular objects (.single / .maybeSingle), CSV, EXPLAIN plans,
// stripped nulls, default JSON, and unsupported media types.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

describe('application/json (default)', () => {
    it('answers an array with application/json; charset=utf-8', async () => {
        const res = await rest.raw('/tags?select=id,label&order=id');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(await res.json()).toEqual([
            { id: 1, label: 'red' },
            { id: 2, label: 'blue' },
        ]);
    });

    it('Accept: */* is JSON', async () => {
        const res = await rest.raw('/tags?select=id&order=id', { headers: { Accept: '*/*' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(await res.json()).toEqual([{ id: 1 }, { id: 2 }]);
    });
});

describe('singular responses (application/vnd.pgrst.object+json)', () => {
    it('.single() with exactly one row gives the object', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id,name').eq('id', 2).single();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual({ id: 2, name: 'Bob' });
    });

    it('the object media type is echoed in Content-Type', async () => {
        const res = await rest.raw('/customers?select=id&id=eq.2', { headers: { Accept: 'application/vnd.pgrst.object+json' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.pgrst.object+json; charset=utf-8');
        expect(await res.json()).toEqual({ id: 2 });
    });

    it('.single() with no row: 406 PGRST116', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').eq('id', 999).single();
        expect(status).toBe(406);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: 'PGRST116',
            message: 'Cannot coerce the result to a single JSON object',
            details: 'The result contains 0 rows',
            hint: null,
        });
    });

    it('.single() with several rows: 406 PGRST116', async () => {
        const { error, status } = await rest.anonClient().from('customers').select('id').eq('tier', 'gold').single();
        expect(status).toBe(406);
        expect(error).toEqual({
            code: 'PGRST116',
            message: 'Cannot coerce the result to a single JSON object',
            details: 'The result contains 2 rows',
            hint: null,
        });
    });

    it('a singular PATCH that touches several rows is rolled back', async () => {
        const { error, status } = await rest.anonClient().from('employees').update({ name: 'Same' }).in('id', [2, 3]).select().single();
        expect(status).toBe(406);
        expect(error!.code).toBe('PGRST116');
        expect(error!.details).toBe('The result contains 2 rows');
        expect(await rest.sql('select name from public.employees where id in (2, 3) order by id')).toEqual([{ name: 'Ben' }, { name: 'Cid' }]);
    });

    it('a singular DELETE that touches no row: 406', async () => {
        const { error, status } = await rest.anonClient().from('employees').delete().eq('id', 999).select().single();
        expect(status).toBe(406);
        expect(error!.details).toBe('The result contains 0 rows');
    });

    it('.maybeSingle() with no row gives null without an error', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').eq('id', 999).maybeSingle();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBeNull();
    });

    it('.maybeSingle() with one row gives the object', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,name').eq('id', 3).maybeSingle();
        expect(error).toBeNull();
        expect(data).toEqual({ id: 3, name: 'Carol' });
    });

    it('.maybeSingle() with several rows fails (postgrest-js checks the array)', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').eq('tier', 'gold').maybeSingle();
        expect(status).toBe(406);
        expect(data).toBeNull();
        expect(error!.code).toBe('PGRST116');
    });
});

describe('text/csv', () => {
    it('.csv() gives a header line and one line per row, quoting as Postgres records do', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id,name,nickname').order('id').csv();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBe('id,name,nickname\n1,Alice,Al\n2,Bob,\n3,Carol,Caz\n4,Dave,\n5,"Eve, Jr.",E');
    });

    it('CSV renders booleans, arrays and nulls in Postgres text form', async () => {
        const res = await rest.raw('/kinds?select=id,flag,ints&order=id', { headers: { Accept: 'text/csv' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
        expect(await res.text()).toBe('id,flag,ints\n1,t,"{1,2,3}"\n2,f,{}\n3,,');
    });
});

describe('stripped nulls', () => {
    it('.stripNulls() omits null-valued keys', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,nickname,email').in('id', [2, 4]).order('id').stripNulls();
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 2, email: 'bob@example.com' }, { id: 4 }]);
    });

    it('.stripNulls() with .single()', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,nickname,meta').eq('id', 3).single().stripNulls();
        expect(error).toBeNull();
        expect(data).toEqual({ id: 3, nickname: 'Caz' });
    });
});

describe('EXPLAIN (pgrst.db_plan_enabled)', () => {
    it('.explain() gives the plan as text', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').explain();
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(typeof data).toBe('string');
        expect(data as unknown as string).toMatch(/customers/);
    });

    it('.explain({ format: json }) gives the plan as JSON', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id').explain({ format: 'json' });
        expect(error).toBeNull();
        expect(Array.isArray(data)).toBe(true);
        const plan = (data as unknown as Array<{ Plan: Record<string, unknown> }>)[0]!;
        expect(plan).toHaveProperty('Plan');
        expect(typeof plan.Plan['Node Type']).toBe('string');
    });

    it('the plan media type names what it is for', async () => {
        const res = await rest.raw('/customers?select=id', { headers: { Accept: 'application/vnd.pgrst.plan+json' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.pgrst.plan+json; for="application/json"; charset=utf-8');
    });

    it('verbose carries the output columns and the Query Identifier (JSON)', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id').explain({ format: 'json', verbose: true });
        expect(error).toBeNull();
        const plan = (data as unknown as Array<Record<string, unknown>>)[0]!;
        expect(typeof plan['Query Identifier']).toBe('number');
        expect(plan['Query Identifier']).not.toBe(0);
        expect((plan.Plan as Record<string, unknown>).Output).toBeDefined();
    });

    it('verbose carries the Query Identifier (text), and only verbose does', async () => {
        const verbose = await rest.anonClient().from('customers').select('id').explain({ verbose: true });
        expect(verbose.error).toBeNull();
        expect(verbose.data as unknown as string).toMatch(/^Query Identifier: -?\d+$/m);
        const plain = await rest.anonClient().from('customers').select('id').explain();
        expect(plain.data as unknown as string).not.toMatch(/Query Identifier/);
    });

    it('analyze, buffers, settings and wal options are all passed to EXPLAIN', async () => {
        const { data, error } = await rest
            .anonClient()
            .from('customers')
            .select('id')
            .explain({ format: 'json', analyze: true, buffers: true, settings: true, wal: true });
        expect(error).toBeNull();
        const plan = (data as unknown as Array<Record<string, unknown>>)[0]!;
        const root = plan.Plan as Record<string, unknown>;
        expect(root['Actual Rows']).toBeDefined();
        expect(root['Shared Hit Blocks']).toBeDefined();
        expect(root['WAL Records']).toBeDefined();
        expect(plan.Settings).toEqual(expect.objectContaining({ search_path: '"public", "extensions"' }));
    });

    it('application/vnd.pgrst.plan without a suffix is the text plan', async () => {
        const res = await rest.raw('/customers?select=id', { headers: { Accept: 'application/vnd.pgrst.plan' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.pgrst.plan+text; for="application/json"; charset=utf-8');
        expect(await res.text()).toMatch(/^Aggregate/);
    });

    it('the plan is the one of the media type named in for=', async () => {
        const res = await rest.raw('/customers?select=id,name', { headers: { Accept: 'application/vnd.pgrst.plan+text; for="text/csv"; options=verbose' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.pgrst.plan+text; for="text/csv"; charset=utf-8');
        // The CSV body is built with string_agg; the JSON one with json_agg.
        const plan = await res.text();
        expect(plan).toMatch(/string_agg/);
        expect(plan).not.toMatch(/json_agg/);
    });

    it('explain analyze of a write runs it and keeps it, unless Prefer: tx=rollback', async () => {
        const kept = await rest.anonClient().from('tags').insert({ id: 300, label: 'explained' }).explain({ analyze: true });
        expect(kept.error).toBeNull();
        expect(kept.data as unknown as string).toMatch(/Insert on tags/);
        expect(await rest.sql('select label from public.tags where id = 300')).toEqual([{ label: 'explained' }]);
        const res = await rest.raw('/tags', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Accept: 'application/vnd.pgrst.plan+text; options=analyze', Prefer: 'tx=rollback' },
            body: JSON.stringify({ id: 301, label: 'rolled back' }),
        });
        expect(res.status).toBe(200);
        expect(await res.text()).toMatch(/Insert on tags/);
        expect(await rest.sql('select label from public.tags where id = 301')).toEqual([]);
    });

    it('explain without analyze does not run the write', async () => {
        const { error } = await rest.anonClient().from('tags').insert({ id: 302, label: 'planned only' }).explain();
        expect(error).toBeNull();
        expect(await rest.sql('select label from public.tags where id = 302')).toEqual([]);
    });

    it('explain with analyze runs the query', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id').explain({ analyze: true });
        expect(error).toBeNull();
        expect(data as unknown as string).toMatch(/actual time/);
    });
});

describe('unsupported media types', () => {
    it('an Accept nothing can produce: 406 PGRST107', async () => {
        const res = await rest.raw('/customers?select=id', { headers: { Accept: 'text/xml' } });
        expect(res.status).toBe(406);
        expect(await res.json()).toEqual({
            code: 'PGRST107',
            message: 'None of these media types are available: text/xml',
            details: null,
            hint: null,
        });
    });
});
