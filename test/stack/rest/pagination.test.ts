// Ordering, limit/offset/Range with Content-Range and 206/416, [api] max_rows, and counts.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

const idsOf = (data: unknown) => (data as Array<{ id: number }>).map((r) => r.id);

describe('ordering', () => {
    it('orders descending', async () => {
        const { data } = await rest.anonClient().from('customers').select('id').order('name', { ascending: false });
        expect(idsOf(data)).toEqual([5, 4, 3, 2, 1]);
    });

    it('ascending puts nulls last by default; nullsFirst moves them first', async () => {
        const last = await rest.anonClient().from('customers').select('id').order('nickname').order('id');
        expect(idsOf(last.data)).toEqual([1, 3, 5, 2, 4]);
        const first = await rest.anonClient().from('customers').select('id').order('nickname', { nullsFirst: true }).order('id');
        expect(idsOf(first.data)).toEqual([2, 4, 1, 3, 5]);
    });

    it('descending puts nulls first by default; nullslast moves them last', async () => {
        const first = await rest.anonClient().from('customers').select('id').order('nickname', { ascending: false }).order('id');
        expect(idsOf(first.data)).toEqual([2, 4, 5, 3, 1]);
        const last = await rest.anonClient().from('customers').select('id').order('nickname', { ascending: false, nullsFirst: false }).order('id');
        expect(idsOf(last.data)).toEqual([5, 3, 1, 2, 4]);
    });

    it('orders by several columns, enums by their declared order', async () => {
        const { data } = await rest.anonClient().from('customers').select('id').order('tier').order('id', { ascending: false });
        expect(idsOf(data)).toEqual([4, 2, 3, 1, 5]);
        const res = await rest.raw('/customers?select=id&order=tier.desc.nullslast,id.asc');
        expect(idsOf(await res.json())).toEqual([1, 3, 2, 4, 5]);
    });

    it('supabase-js sends repeated order() calls as one comma-separated order', async () => {
        const res = await rest.raw('/orders?select=id&order=customer_id.desc,total.asc');
        expect(idsOf(await res.json())).toEqual([4, 3, 2, 1]);
    });
});

describe('limit, offset and Content-Range', () => {
    it('limit without a count: 200 and lo-hi/*', async () => {
        const res = await rest.raw('/customers?select=id&order=id&limit=2');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-range')).toBe('0-1/*');
        expect(idsOf(await res.json())).toEqual([1, 2]);
    });

    it('range(from, to) maps to offset and limit', async () => {
        const { data, status } = await rest.anonClient().from('customers').select('id').order('id').range(1, 3);
        expect(status).toBe(200);
        expect(idsOf(data)).toEqual([2, 3, 4]);
        const res = await rest.raw('/customers?select=id&order=id&offset=1&limit=3');
        expect(res.headers.get('content-range')).toBe('1-3/*');
    });

    it('a whole table without a count: 0-(n-1)/*', async () => {
        const res = await rest.raw('/customers?select=id');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-range')).toBe('0-4/*');
    });

    it('a page smaller than the exact count: 206 Partial Content', async () => {
        const { data, count, status } = await rest.anonClient().from('customers').select('id', { count: 'exact' }).order('id').limit(2);
        expect(status).toBe(206);
        expect(count).toBe(5);
        expect(idsOf(data)).toEqual([1, 2]);
        const res = await rest.raw('/customers?select=id&order=id&limit=2', { headers: { Prefer: 'count=exact' } });
        expect(res.status).toBe(206);
        expect(res.headers.get('content-range')).toBe('0-1/5');
    });

    it('the whole result with an exact count: 200 and 0-4/5', async () => {
        const res = await rest.raw('/customers?select=id', { headers: { Prefer: 'count=exact' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-range')).toBe('0-4/5');
    });

    it('an empty result with an exact count: */0', async () => {
        const { data, count, status } = await rest.anonClient().from('customers').select('id', { count: 'exact' }).eq('id', 999);
        expect(status).toBe(200);
        expect(data).toEqual([]);
        expect(count).toBe(0);
        const res = await rest.raw('/customers?select=id&id=eq.999', { headers: { Prefer: 'count=exact' } });
        expect(res.headers.get('content-range')).toBe('*/0');
    });

    it('an offset past the end without a count: 200, [] and */*', async () => {
        const res = await rest.raw('/customers?select=id&offset=10');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-range')).toBe('*/*');
        expect(await res.json()).toEqual([]);
    });

    it('an offset past the end with a count: 416 PGRST103', async () => {
        const { data, error, status, count } = await rest.anonClient().from('customers').select('id', { count: 'exact' }).order('id').range(10, 12);
        expect(status).toBe(416);
        expect(data).toBeNull();
        expect(count).toBeNull();
        expect(error).toEqual({
            code: 'PGRST103',
            message: 'Requested range not satisfiable',
            details: 'An offset of 10 was requested, but there are only 5 rows.',
            hint: null,
        });
        const res = await rest.raw('/customers?select=id&offset=10', { headers: { Prefer: 'count=exact' } });
        expect(res.status).toBe(416);
        expect(res.headers.get('content-range')).toBe('*/5');
    });

    it('the Range request header pages like limit/offset', async () => {
        const res = await rest.raw('/customers?select=id&order=id', { headers: { Range: '1-2', 'Range-Unit': 'items' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-range')).toBe('1-2/*');
        expect(idsOf(await res.json())).toEqual([2, 3]);
        const counted = await rest.raw('/customers?select=id&order=id', { headers: { Range: '0-1', Prefer: 'count=exact' } });
        expect(counted.status).toBe(206);
        expect(counted.headers.get('content-range')).toBe('0-1/5');
    });

    it('a Range whose lower bound exceeds its upper: 416 PGRST103', async () => {
        const res = await rest.raw('/customers?select=id', { headers: { Range: '3-1' } });
        expect(res.status).toBe(416);
        expect(await res.json()).toEqual({
            code: 'PGRST103',
            message: 'Requested range not satisfiable',
            details: 'The lower boundary must be lower than or equal to the upper boundary in the Range header.',
            hint: null,
        });
    });
});

describe('[api] max_rows', () => {
    it('caps an unlimited read at max_rows', async () => {
        const res = await rest.raw('/numbers?select=n&order=n', { headers: { Prefer: 'count=exact' } });
        expect(res.status).toBe(206);
        expect(res.headers.get('content-range')).toBe('0-999/1005');
        const rows = (await res.json()) as Array<{ n: number }>;
        expect(rows).toHaveLength(1000);
        expect(rows[999]).toEqual({ n: 1000 });
    });

    it('caps a larger limit at max_rows', async () => {
        const { data } = await rest.anonClient().from('numbers').select('n').order('n').limit(2000);
        expect(data).toHaveLength(1000);
    });

    it('applies to function results too', async () => {
        const { data, error } = await rest.anonClient().rpc('series', { n: 1200 });
        expect(error).toBeNull();
        expect(data).toHaveLength(1000);
        expect((data as number[])[999]).toBe(1000);
    });

    it('an offset still pages past max_rows', async () => {
        const { data } = await rest.anonClient().from('numbers').select('n').order('n').range(1000, 1010);
        expect(data).toEqual([{ n: 1001 }, { n: 1002 }, { n: 1003 }, { n: 1004 }, { n: 1005 }]);
    });
});

describe('counts', () => {
    it('count: exact with a filter', async () => {
        const { data, count, status } = await rest.anonClient().from('customers').select('id', { count: 'exact' }).eq('tier', 'gold').order('id');
        expect(status).toBe(200);
        expect(count).toBe(2);
        expect(idsOf(data)).toEqual([1, 3]);
    });

    it('head: true returns only the count', async () => {
        const { data, count, status, error } = await rest.anonClient().from('customers').select('*', { count: 'exact', head: true });
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBeNull();
        expect(count).toBe(5);
    });

    it('HEAD has no body and the same Content-Range', async () => {
        const res = await rest.raw('/customers?select=id&limit=2', { method: 'HEAD', headers: { Prefer: 'count=exact' } });
        expect(res.status).toBe(206);
        expect(res.headers.get('content-range')).toBe('0-1/5');
        expect(await res.text()).toBe('');
    });

    it('count: planned reads the planner estimate (statistics are fresh)', async () => {
        const { count, error } = await rest.anonClient().from('customers').select('id', { count: 'planned', head: true });
        expect(error).toBeNull();
        expect(count).toBe(5);
        const numbers = await rest.anonClient().from('numbers').select('n', { count: 'planned', head: true });
        expect(numbers.count).toBe(1005);
    });

    it('count: estimated is exact below max_rows', async () => {
        const { count, error } = await rest.anonClient().from('customers').select('id', { count: 'estimated' }).eq('tier', 'gold');
        expect(error).toBeNull();
        expect(count).toBe(2);
    });

    it('the count honours !inner embeds', async () => {
        const { count, data } = await rest
            .anonClient()
            .from('orders')
            .select('id,customers!inner()', { count: 'exact' })
            .eq('customers.tier', 'gold')
            .order('id');
        expect(count).toBe(3);
        expect(idsOf(data)).toEqual([1, 2, 4]);
    });
});
