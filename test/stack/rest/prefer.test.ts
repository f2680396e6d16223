// Prefer: tx=rollback/commit, handling=strict with max-affected and invalid preferences,
// timezone, and the Preference-Applied echo; HTTP reason phrases as supabase-js reads them.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

const applied = (res: Response) =>
    (res.headers.get('preference-applied') ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);

const post = (path: string, body: unknown, prefer: string) =>
    rest.raw(path, { method: 'POST', headers: { 'Content-Type': 'application/json', Prefer: prefer }, body: JSON.stringify(body) });

const patch = (path: string, body: unknown, prefer: string) =>
    rest.raw(path, { method: 'PATCH', headers: { 'Content-Type': 'application/json', Prefer: prefer }, body: JSON.stringify(body) });

describe('tx (pgrst.db_tx_end = commit-allow-override)', () => {
    it('.rollback() answers as usual but keeps nothing', async () => {
        const { data, error, status } = await rest.anonClient().from('tags').insert({ id: 500, label: 'ephemeral' }).select().rollback();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual([{ id: 500, label: 'ephemeral' }]);
        expect(await rest.sql('select id from public.tags where id = 500')).toEqual([]);
    });

    it('tx=rollback is echoed in Preference-Applied', async () => {
        const res = await post('/tags', { id: 501, label: 'ephemeral' }, 'tx=rollback, return=representation');
        expect(res.status).toBe(201);
        expect(applied(res)).toContain('tx=rollback');
        expect(applied(res)).toContain('return=representation');
        expect(await rest.sql('select id from public.tags where id = 501')).toEqual([]);
    });

    it('tx=rollback also undoes what a function wrote', async () => {
        const { status } = await rest.anonClient().rpc('log_message', { message: 'rolled back' }).rollback();
        expect(status).toBe(204);
        expect(await rest.sql(`select 1 from public.audit_log where message = 'rolled back'`)).toEqual([]);
    });

    it('tx=commit commits', async () => {
        const res = await post('/tags', { id: 502, label: 'kept' }, 'tx=commit');
        expect(res.status).toBe(201);
        expect(applied(res)).toContain('tx=commit');
        expect(await rest.sql('select label from public.tags where id = 502')).toEqual([{ label: 'kept' }]);
    });
});

describe('handling and max-affected', () => {
    it('handling=strict rejects an unknown preference: 400 PGRST122', async () => {
        const res = await rest.raw('/tags?select=id', { headers: { Prefer: 'handling=strict, foo=bar' } });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
            code: 'PGRST122',
            message: 'Invalid preferences given with handling=strict',
            details: 'Invalid preferences: foo=bar',
            hint: null,
        });
    });

    it('handling=lenient (the default) ignores unknown preferences', async () => {
        const res = await rest.raw('/tags?select=id&id=lte.2&order=id', { headers: { Prefer: 'handling=lenient, foo=bar' } });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('max-affected with strict: a PATCH over the limit fails with 400 PGRST124 and changes nothing', async () => {
        const res = await patch('/employees?id=in.(2,3)', { name: 'Too many' }, 'handling=strict, max-affected=1');
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
            code: 'PGRST124',
            message: 'Query result exceeds max-affected preference constraint',
            details: 'The query affects 2 rows',
            hint: null,
        });
        expect(await rest.sql('select name from public.employees where id in (2, 3) order by id')).toEqual([{ name: 'Ben' }, { name: 'Cid' }]);
    });

    it('max-affected with strict: within the limit succeeds', async () => {
        const res = await patch('/employees?id=eq.2', { name: 'Ben' }, 'handling=strict, max-affected=1');
        expect(res.status).toBe(204);
    });

    it('max-affected with strict applies to DELETE', async () => {
        await rest.sql(`insert into public.tags (id, label) values (600, 'bulk'), (601, 'bulk')`);
        const res = await rest.raw('/tags?label=eq.bulk', { method: 'DELETE', headers: { Prefer: 'handling=strict, max-affected=1' } });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST124');
        expect(await rest.sql(`select count(*)::int as n from public.tags where label = 'bulk'`)).toEqual([{ n: 2 }]);
    });

    it('max-affected without strict is ignored', async () => {
        const res = await patch('/employees?id=in.(2,3)', { manager_id: 1 }, 'max-affected=1');
        expect(res.status).toBe(204);
    });
});

describe('Preference-Applied', () => {
    it('echoes return=representation on insert', async () => {
        const res = await post('/tags', { id: 510, label: 'echo' }, 'return=representation');
        expect(res.status).toBe(201);
        expect(applied(res)).toContain('return=representation');
    });

    it('echoes resolution=merge-duplicates on upsert', async () => {
        const res = await post('/tags', { id: 1, label: 'red' }, 'resolution=merge-duplicates');
        // The row existed: updated, not inserted, so 200 (PostgREST v12+).
        expect(res.status).toBe(200);
        expect(applied(res)).toContain('resolution=merge-duplicates');
    });

    it('echoes missing=default', async () => {
        const res = await rest.raw('/customers?columns=id,name,tier', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'missing=default, return=representation' },
            body: JSON.stringify([{ id: 520, name: 'Defaulted' }]),
        });
        expect(res.status).toBe(201);
        expect(applied(res)).toEqual(expect.arrayContaining(['missing=default', 'return=representation']));
        expect(((await res.json()) as Array<{ tier: string }>)[0]!.tier).toBe('bronze');
    });

    it('accepts preferences split over several Prefer headers', async () => {
        const headers = new Headers({ 'Content-Type': 'application/json' });
        headers.append('Prefer', 'return=representation');
        headers.append('Prefer', 'count=exact');
        const res = await rest.raw('/tags', { method: 'POST', headers, body: JSON.stringify({ id: 530, label: 'two headers' }) });
        expect(res.status).toBe(201);
        expect(res.headers.get('content-range')).toBe('*/1');
        expect(await res.json()).toEqual([{ id: 530, label: 'two headers' }]);
    });
});

describe('timezone', () => {
    it('Prefer: timezone renders timestamptz in that zone', async () => {
        const res = await rest.raw('/orders?select=placed_at&id=eq.1', { headers: { Prefer: 'timezone=America/Sao_Paulo' } });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual([{ placed_at: '2024-06-01T09:00:00-03:00' }]);
        expect(applied(res)).toContain('timezone=America/Sao_Paulo');
    });

    it('without it, timestamps are in UTC', async () => {
        const { data } = await rest.anonClient().from('orders').select('placed_at').eq('id', 1);
        expect(data).toEqual([{ placed_at: '2024-06-01T12:00:00+00:00' }]);
    });
});

describe('reason phrases (supabase-js exposes statusText)', () => {
    it('uses the standard reason phrase for each status', async () => {
        const ok = await rest.anonClient().from('tags').select('id');
        expect([ok.status, ok.statusText]).toEqual([200, 'OK']);
        const created = await rest.anonClient().from('tags').insert({ id: 540, label: 'reason' });
        expect([created.status, created.statusText]).toEqual([201, 'Created']);
        const noContent = await rest.anonClient().from('tags').update({ label: 'reason 2' }).eq('id', 540);
        expect([noContent.status, noContent.statusText]).toEqual([204, 'No Content']);
        const partial = await rest.anonClient().from('tags').select('id', { count: 'exact' }).limit(1);
        expect([partial.status, partial.statusText]).toEqual([206, 'Partial Content']);
        const conflict = await rest.anonClient().from('tags').insert({ id: 1, label: 'dup' });
        expect([conflict.status, conflict.statusText]).toEqual([409, 'Conflict']);
        const notAcceptable = await rest.anonClient().from('tags').select('id').single();
        expect([notAcceptable.status, notAcceptable.statusText]).toEqual([406, 'Not Acceptable']);
        const badRequest = await rest.anonClient().from('tags').select('id').eq('id', 'abc');
        expect([badRequest.status, badRequest.statusText]).toEqual([400, 'Bad Request']);
    });
});
