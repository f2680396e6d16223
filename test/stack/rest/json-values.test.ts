// How Postgres values appear in the JSON body: timestamps, dates, intervals, numeric and
// bigint as JSON numbers (exact digits), arrays, jsonb/json, bytea, ranges, nulls.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

describe('reading', () => {
    it('every type of row 1 as PostgREST renders it', async () => {
        const { data, error } = await rest.anonClient().from('kinds').select('*').eq('id', 1).single();
        expect(error).toBeNull();
        expect(data).toEqual({
            id: 1,
            ts: '2024-01-02T03:04:05.123456+00:00',
            ts_local: '2024-01-02T03:04:05',
            day: '2024-01-02',
            clock: '03:04:05',
            span: '1 day 02:00:00',
            big: 9007199254740993,
            small: 7,
            amount: 10.5,
            ratio: 1.5,
            flag: true,
            bytes: '\\x0102ff',
            uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            ints: [1, 2, 3],
            texts: ['a b', 'c,d', null],
            doc: { k: [1, 'two', null, { n: true }] },
            plain: { z: 1, a: 2 },
            seats: '[1,5)',
            during: '["2024-01-01 00:00:00+00","2024-02-01 00:00:00+00")',
        });
    });

    it('numeric and bigint keep their exact digits in the body', async () => {
        const res = await rest.raw('/kinds?select=id,big,amount&order=id');
        const text = await res.text();
        expect(text).toMatch(/"big"\s*:\s*9007199254740993\b/);
        expect(text).toMatch(/"amount"\s*:\s*10\.5000\b/);
        expect(text).toMatch(/"amount"\s*:\s*0\.0001\b/);
        expect(text).toMatch(/"big"\s*:\s*-1\b/);
    });

    it('a json column keeps its text as stored', async () => {
        const res = await rest.raw('/kinds?select=plain&id=eq.1');
        expect(await res.text()).toMatch(/"plain"\s*:\s*\{"z": 1, "a": 2\}/);
    });

    it('nulls, empty arrays and JSON null', async () => {
        const { data } = await rest.anonClient().from('kinds').select('ts,day,big,amount,flag,bytes,ints,texts,doc,plain').eq('id', 2).single();
        expect(data).toEqual({ ts: null, day: null, big: null, amount: null, flag: false, bytes: null, ints: [], texts: null, doc: null, plain: null });
    });

    it('a jsonb array and a numeric with trailing digits', async () => {
        const { data } = await rest.anonClient().from('kinds').select('doc,amount,big').eq('id', 3).single();
        expect(data).toEqual({ doc: [], amount: 0.0001, big: -1 });
    });

    it('enum values and text arrays', async () => {
        const { data } = await rest.anonClient().from('customers').select('tier,tags').eq('id', 1).single();
        expect(data).toEqual({ tier: 'gold', tags: ['vip', 'early'] });
    });
});

describe('writing and reading back', () => {
    it('JSON values round-trip through insert', async () => {
        const row = {
            id: 10,
            ts: '2024-05-05T10:00:00+02:00',
            ts_local: '2024-05-05T10:00:00',
            day: '2024-05-05',
            clock: '23:59:59',
            span: 'PT1H30M',
            big: 42,
            amount: 3.14159,
            flag: false,
            uid: '123e4567-e89b-12d3-a456-426614174000',
            ints: [3, 2, 1],
            texts: ['x', 'with "quotes"', 'with,comma'],
            doc: { nested: { list: [1, { a: null }] }, s: 'ü€' },
            plain: [1, 2],
            seats: '[3,7)',
        };
        const { data, error, status } = await rest.anonClient().from('kinds').insert(row).select('*').single();
        expect(error).toBeNull();
        expect(status).toBe(201);
        expect(data).toEqual({
            ...row,
            ts: '2024-05-05T08:00:00+00:00',
            span: '01:30:00',
            amount: 3.1416,
            small: null,
            ratio: null,
            bytes: null,
            during: null,
        });
    });

    it('a bigint beyond 2^53 sent as a string is stored exactly', async () => {
        const res = await rest.raw('/kinds', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"id": 11, "big": "9223372036854775807"}',
        });
        expect(res.status).toBe(201);
        expect(await rest.sql('select big::text from public.kinds where id = 11')).toEqual([{ big: '9223372036854775807' }]);
    });

    it('a bigint beyond 2^53 sent as a JSON number is stored exactly', async () => {
        const res = await rest.raw('/kinds', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"id": 12, "big": 9007199254740993}',
        });
        expect(res.status).toBe(201);
        expect(await rest.sql('select big::text from public.kinds where id = 12')).toEqual([{ big: '9007199254740993' }]);
    });

    it('unicode survives', async () => {
        const { data } = await rest.anonClient().from('tags').insert({ id: 50, label: 'café ☕ 東京' }).select('label').single();
        expect(data).toEqual({ label: 'café ☕ 東京' });
        const { data: found } = await rest.anonClient().from('tags').select('id').eq('label', 'café ☕ 東京');
        expect(found).toEqual([{ id: 50 }]);
    });
});
