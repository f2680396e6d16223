// Accept-Profile / Content-Profile over the exposed schemas of [api] schemas, and the
// errors for unexposed schemas and unknown tables.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

describe('a second exposed schema', () => {
    it('.schema("api2") reads its tables', async () => {
        const { data, error, status } = await rest.anonClient().schema('api2').from('widgets').select('*').order('id');
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([
            { id: 1, name: 'sprocket', color: 'red' },
            { id: 2, name: 'gizmo', color: 'blue' },
        ]);
    });

    it('writes go to the schema named by Content-Profile', async () => {
        const { data, error, status } = await rest.anonClient().schema('api2').from('widgets').insert({ name: 'doohickey' }).select('id,name');
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([{ id: 100, name: 'doohickey' }]);
        expect(await rest.sql(`select name from api2.widgets where id = 100`)).toEqual([{ name: 'doohickey' }]);
    });

    it('functions of the schema are callable', async () => {
        const { data, error } = await rest.anonClient().schema('api2').rpc('widget_count');
        expect(error).toBeNull();
        expect(typeof data).toBe('number');
        expect(data).toBeGreaterThanOrEqual(2);
    });

    it('raw Accept-Profile selects the schema', async () => {
        const res = await rest.raw('/widgets?select=name&id=eq.1', { headers: { 'Accept-Profile': 'api2' } });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual([{ name: 'sprocket' }]);
    });

    it('without a profile the first schema (public) is used', async () => {
        const res = await rest.raw('/widgets?select=name');
        expect(res.status).toBe(404);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST205');
        const pub = await rest.raw('/tags?select=id&order=id', { headers: { 'Accept-Profile': 'public' } });
        expect(pub.status).toBe(200);
        expect(await pub.json()).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('a table of the other schema is not found: 404 PGRST205 in that schema', async () => {
        const { error, status } = await rest.anonClient().schema('api2').from('customers').select('id');
        expect(status).toBe(404);
        expect(error).toEqual({
            code: 'PGRST205',
            message: "Could not find the table 'api2.customers' in the schema cache",
            details: null,
            hint: null,
        });
    });
});

describe('unexposed schemas', () => {
    const expected = {
        code: 'PGRST106',
        message: 'Invalid schema: private',
        details: null,
        hint: 'Only the following schemas are exposed: public, api2',
    };

    it('reading: 406 PGRST106', async () => {
        const { data, error, status } = await rest.anonClient().schema('private').from('things').select('*');
        expect(status).toBe(406);
        expect(data).toBeNull();
        expect(error).toEqual(expected);
    });

    it('writing (Content-Profile): 406 PGRST106', async () => {
        const { error, status } = await rest.anonClient().schema('private').from('things').insert({ id: 1 });
        expect(status).toBe(406);
        expect(error).toEqual(expected);
        expect(await rest.sql('select count(*)::int as n from private.things')).toEqual([{ n: 0 }]);
    });

    it('rpc: 406 PGRST106', async () => {
        const { error, status } = await rest.anonClient().schema('private').rpc('anything');
        expect(status).toBe(406);
        expect(error).toEqual(expected);
    });

    it('a schema that does not exist at all: 406 PGRST106', async () => {
        const res = await rest.raw('/things', { headers: { 'Accept-Profile': 'nope' } });
        expect(res.status).toBe(406);
        expect(await res.json()).toEqual({ ...expected, message: 'Invalid schema: nope' });
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST106');
    });
});

describe('unknown tables', () => {
    it('404 PGRST205 without a hint when nothing is close', async () => {
        const { data, error, status } = await rest.anonClient().from('zzqqxx').select('*');
        expect(status).toBe(404);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: 'PGRST205',
            message: "Could not find the table 'public.zzqqxx' in the schema cache",
            details: null,
            hint: null,
        });
    });

    it('404 PGRST205 suggests a close table name', async () => {
        const { error, status } = await rest.anonClient().from('customer').select('*');
        expect(status).toBe(404);
        expect(error).toEqual({
            code: 'PGRST205',
            message: "Could not find the table 'public.customer' in the schema cache",
            details: null,
            hint: "Perhaps you meant the table 'public.customers'",
        });
    });

    it('writing to an unknown table: 404 PGRST205', async () => {
        const { error, status } = await rest.anonClient().from('zzqqxx').insert({ id: 1 });
        expect(status).toBe(404);
        expect(error!.code).toBe('PGRST205');
    });

    it('a table created later appears after NOTIFY pgrst, reload schema', async () => {
        await rest.sql('create table public.late_table (id int primary key)');
        await rest.sql(`insert into public.late_table values (7)`);
        await rest.sql(`notify pgrst, 'reload schema'`);
        let result: { status: number; data: unknown } = { status: 0, data: null };
        for (let attempt = 0; attempt < 50; attempt++) {
            result = await rest.anonClient().from('late_table').select('id');
            if (result.status === 200) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(result.status).toBe(200);
        expect(result.data).toEqual([{ id: 7 }]);
    });

    it('reloadSchema() picks up DDL at once', async () => {
        await rest.sql('create table public.later_still (id int primary key)');
        await rest.reloadSchema();
        const { data, error } = await rest.anonClient().from('later_still').select('id');
        expect(error).toBeNull();
        expect(data).toEqual([]);
    });
});
