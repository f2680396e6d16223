// GET /rest/v1/<table>?select=… : columns, *, aliases, casts, JSON paths, computed fields,
// views and aggregates — expectations from PostgREST's documented behaviour.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

const ALICE_ROW = {
    id: 1,
    name: 'Alice',
    email: 'alice@example.com',
    tier: 'gold',
    nickname: 'Al',
    tags: ['vip', 'early'],
    meta: { color: 'red', rank: 2, dims: { w: 10, h: 20 } },
    created_at: '2024-01-01T10:00:00+00:00',
};

describe('select columns', () => {
    it('* returns every column of every row', async () => {
        const { data, error, status, count } = await rest.anonClient().from('customers').select('*').order('id');
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(count).toBeNull();
        expect(data).toHaveLength(5);
        expect(data![0]).toEqual(ALICE_ROW);
        expect(Object.keys(data![0]!)).toEqual(['id', 'name', 'email', 'tier', 'nickname', 'tags', 'meta', 'created_at']);
        expect(data!.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    });

    it('select() with no argument means *', async () => {
        const { data } = await rest.anonClient().from('customers').select().eq('id', 1);
        expect(data).toEqual([ALICE_ROW]);
    });

    it('named columns come back in the order they were asked for', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('name, id').order('id').limit(2);
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Alice', id: 1 },
            { name: 'Bob', id: 2 },
        ]);
        expect(Object.keys(data![0]!)).toEqual(['name', 'id']);
    });

    it('renames a column with alias:column', async () => {
        const { data } = await rest.anonClient().from('customers').select('key:id,customer_name:name').in('id', [1, 2]).order('id');
        expect(data).toEqual([
            { key: 1, customer_name: 'Alice' },
            { key: 2, customer_name: 'Bob' },
        ]);
    });

    it('casts with column::type, keeping the column name', async () => {
        const { data } = await rest.anonClient().from('orders').select('id::text,total::text').eq('id', 1);
        expect(data).toEqual([{ id: '1', total: '30.50' }]);
    });

    it('combines alias and cast', async () => {
        const { data } = await rest.anonClient().from('orders').select('ref:id::text').eq('id', 2);
        expect(data).toEqual([{ ref: '2' }]);
    });

    it('selects an empty result as []', async () => {
        const { data, error, status } = await rest.anonClient().from('customers').select('id').eq('id', 999);
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toEqual([]);
    });

    it('a computed field (function taking the row type) is selectable by name', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,label').in('id', [1, 4]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, label: 'Alice <alice@example.com>' },
            { id: 4, label: 'Dave <no email>' },
        ]);
    });

    it('* does not include computed fields', async () => {
        const { data } = await rest.anonClient().from('customers').select('*').eq('id', 1);
        expect(data![0]).not.toHaveProperty('label');
    });

    it('a view is readable like a table', async () => {
        const { data, error } = await rest.anonClient().from('order_summaries').select('*').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, customer_id: 1, status: 'paid', total: 30.5 },
            { id: 2, customer_id: 1, status: 'shipped', total: 12 },
            { id: 3, customer_id: 2, status: 'pending', total: 99.99 },
            { id: 4, customer_id: 3, status: 'cancelled', total: 5.25 },
        ]);
    });
});

describe('identifiers that need quoting', () => {
    it('case-sensitive table and column names work unquoted; names with spaces are double-quoted', async () => {
        const { data, error } = await rest.anonClient().from('CamelCase').select('userId,"Display Name"').gt('userId', 1);
        expect(error).toBeNull();
        expect(data).toEqual([{ userId: 2, 'Display Name': 'Two' }]);
    });

    it('ordering by a case-sensitive column', async () => {
        const { data } = await rest.anonClient().from('CamelCase').select('userId').order('userId', { ascending: false });
        expect(data).toEqual([{ userId: 2 }, { userId: 1 }]);
    });
});

describe('JSON paths', () => {
    it('-> returns JSON under the last key name', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,meta->color,meta->dims').order('id').limit(3);
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, color: 'red', dims: { w: 10, h: 20 } },
            { id: 2, color: 'blue', dims: null },
            { id: 3, color: null, dims: null },
        ]);
    });

    it('->> returns text', async () => {
        const { data } = await rest.anonClient().from('customers').select('id,meta->dims->>w,meta->>rank').eq('id', 1);
        expect(data).toEqual([{ id: 1, w: '10', rank: '2' }]);
    });

    it('nested -> keeps JSON types', async () => {
        const { data } = await rest.anonClient().from('customers').select('meta->dims->w').eq('id', 1);
        expect(data).toEqual([{ w: 10 }]);
    });

    it('a JSON path can be cast', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('id,meta->>rank::int').in('id', [1, 2]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { id: 1, rank: 2 },
            { id: 2, rank: 1 },
        ]);
    });

    it('cs on a nested jsonb object', async () => {
        const { data } = await rest.anonClient().from('customers').select('id').contains('meta', { dims: { w: 10 } });
        expect(data).toEqual([{ id: 1 }]);
    });

    it('a JSON path can be aliased', async () => {
        const { data } = await rest.anonClient().from('customers').select('id,favourite:meta->>color').in('id', [1, 2]).order('id');
        expect(data).toEqual([
            { id: 1, favourite: 'red' },
            { id: 2, favourite: 'blue' },
        ]);
    });

    it('filters on a JSON path', async () => {
        const { data } = await rest.anonClient().from('customers').select('id').eq('meta->>color', 'red').order('id');
        expect(data).toEqual([{ id: 1 }, { id: 4 }]);
    });

    it('orders by a JSON path', async () => {
        const res = await rest.raw('/customers?select=id&meta->>rank=not.is.null&order=meta->>rank.desc');
        expect(await res.json()).toEqual([{ id: 4 }, { id: 1 }, { id: 2 }]);
    });
});

describe('aggregates (pgrst.db_aggregates_enabled)', () => {
    it('count() over the whole table', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('count()');
        expect(error).toBeNull();
        expect(data).toEqual([{ count: 4 }]);
    });

    it('sum, avg, min and max of a column', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('total.sum(),total.max(),total.min()');
        expect(error).toBeNull();
        expect(data).toEqual([{ sum: 147.74, max: 99.99, min: 5.25 }]);
        const avg = await rest.anonClient().from('orders').select('total.avg()');
        expect(avg.data).toEqual([{ avg: 36.935 }]);
    });

    it('aggregates can be aliased', async () => {
        const { data } = await rest.anonClient().from('orders').select('orders:count(),spent:total.sum()');
        expect(data).toEqual([{ orders: 4, spent: 147.74 }]);
    });

    it('plain columns next to an aggregate group by them', async () => {
        const { data, error } = await rest.anonClient().from('orders').select('customer_id,count(),total.sum()').order('customer_id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { customer_id: 1, count: 2, sum: 42.5 },
            { customer_id: 2, count: 1, sum: 99.99 },
            { customer_id: 3, count: 1, sum: 5.25 },
        ]);
    });

    it('aggregates apply after filters', async () => {
        const { data } = await rest.anonClient().from('orders').select('total.sum()').eq('status', 'paid');
        expect(data).toEqual([{ sum: 30.5 }]);
    });

    it('the supabase-js idiom rel(count) counts children, 0 included', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('name,orders(count)').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Alice', orders: [{ count: 2 }] },
            { name: 'Bob', orders: [{ count: 1 }] },
            { name: 'Carol', orders: [{ count: 1 }] },
            { name: 'Dave', orders: [{ count: 0 }] },
            { name: 'Eve, Jr.', orders: [{ count: 0 }] },
        ]);
    });

    it('aggregates inside an embedded resource', async () => {
        const { data, error } = await rest.anonClient().from('customers').select('name,orders(total.sum())').in('id', [1, 2]).order('id');
        expect(error).toBeNull();
        expect(data).toEqual([
            { name: 'Alice', orders: [{ sum: 42.5 }] },
            { name: 'Bob', orders: [{ sum: 99.99 }] },
        ]);
    });
});
