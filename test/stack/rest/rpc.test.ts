// POST/GET/HEAD /rpc/<fn>: scalar, set-returning, table-returning, composite and void
// functions; defaults, overloads, single unnamed json/text parameters; errors raised by
// functions and response.status/headers overrides.
import { describe, expect, it } from 'vitest';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

const GOLD = [
    { id: 1, name: 'Alice', email: 'alice@example.com', tier: 'gold', nickname: 'Al', tags: ['vip', 'early'], meta: { color: 'red', rank: 2, dims: { w: 10, h: 20 } }, created_at: '2024-01-01T10:00:00+00:00' },
    { id: 3, name: 'Carol', email: 'carol@example.com', tier: 'gold', nickname: 'Caz', tags: ['vip'], meta: null, created_at: '2024-03-01T10:00:00+00:00' },
];

describe('calling functions', () => {
    it('POST with named arguments returns a scalar as bare JSON', async () => {
        const { data, error, status } = await rest.anonClient().rpc('add_numbers', { a: 1, b: 2 });
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBe(3);
    });

    it('GET passes arguments in the query string', async () => {
        const { data, error, status } = await rest.anonClient().rpc('add_numbers', { a: 2, b: 5 }, { get: true });
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBe(7);
    });

    it('a scalar result is JSON-encoded (text becomes a JSON string)', async () => {
        const res = await rest.raw('/rpc/greet?name=Ann');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(await res.text()).toBe('"hello Ann"');
    });

    it('omitted arguments take their defaults', async () => {
        expect((await rest.anonClient().rpc('greet')).data).toBe('hello world');
        expect((await rest.anonClient().rpc('greet', {}, { get: true })).data).toBe('hello world');
        expect((await rest.anonClient().rpc('greet', { name: 'Ann' })).data).toBe('hello Ann');
    });

    it('setof <table> returns rows', async () => {
        const { data, error } = await rest.anonClient().rpc('customers_by_tier', { t: 'gold' });
        expect(error).toBeNull();
        expect(data).toEqual(GOLD);
    });

    it('set-returning functions take select, filters, order and limit', async () => {
        const { data, error } = await rest
            .anonClient()
            .rpc('customers_by_tier', { t: 'gold' })
            .select('id,name')
            .neq('id', 1);
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 3, name: 'Carol' }]);
        const ordered = await rest.anonClient().rpc('customers_by_tier', { t: 'gold' }).select('id').order('id', { ascending: false }).limit(1);
        expect(ordered.data).toEqual([{ id: 3 }]);
    });

    it('filters work on GET rpc too', async () => {
        const res = await rest.raw('/rpc/customers_by_tier?t=gold&select=id&id=gt.1');
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual([{ id: 3 }]);
    });

    it('a set-returning function result can embed related rows', async () => {
        const { data, error } = await rest.anonClient().rpc('customers_by_tier', { t: 'silver' }).select('name,orders(id)');
        expect(error).toBeNull();
        expect(data).toEqual([{ name: 'Bob', orders: [{ id: 3 }] }]);
    });

    it('returns table(...) gives objects', async () => {
        const { data, error } = await rest.anonClient().rpc('order_totals');
        expect(error).toBeNull();
        expect(data).toEqual([
            { customer_id: 1, order_count: 2, total_spent: 42.5 },
            { customer_id: 2, order_count: 1, total_spent: 99.99 },
            { customer_id: 3, order_count: 1, total_spent: 5.25 },
        ]);
    });

    it('setof a scalar type gives an array of scalars', async () => {
        const { data, error } = await rest.anonClient().rpc('series', { n: 3 });
        expect(error).toBeNull();
        expect(data).toEqual([1, 2, 3]);
    });

    it('a single composite result is an object, not an array', async () => {
        const { data, error } = await rest.anonClient().rpc('get_customer', { cid: 2 }).select('id,name');
        expect(error).toBeNull();
        expect(data).toEqual({ id: 2, name: 'Bob' });
    });

    it('count and head', async () => {
        const counted = await rest.anonClient().rpc('customers_by_tier', { t: 'gold' }, { count: 'exact' });
        expect(counted.count).toBe(2);
        const head = await rest.anonClient().rpc('customers_by_tier', { t: 'gold' }, { head: true, count: 'exact' });
        expect(head.error).toBeNull();
        expect(head.status).toBe(200);
        expect(head.data).toBeNull();
        expect(head.count).toBe(2);
    });

    it('HEAD on rpc has no body', async () => {
        const res = await rest.raw('/rpc/add_numbers?a=1&b=1', { method: 'HEAD' });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('');
    });

    it('.single() on a set-returning function', async () => {
        const one = await rest.anonClient().rpc('customers_by_tier', { t: 'silver' }).select('id,name').single();
        expect(one.data).toEqual({ id: 2, name: 'Bob' });
        const two = await rest.anonClient().rpc('customers_by_tier', { t: 'gold' }).select('id').single();
        expect(two.status).toBe(406);
        expect(two.error).toEqual({
            code: 'PGRST116',
            message: 'Cannot coerce the result to a single JSON object',
            details: 'The result contains 2 rows',
            hint: null,
        });
    });
});

describe('void and volatile functions', () => {
    it('a void function answers 204 with no body', async () => {
        const { data, error, status } = await rest.anonClient().rpc('log_message', { message: 'hello' });
        expect(error).toBeNull();
        expect(status).toBe(204);
        expect(data).toBeNull();
        expect(await rest.sql(`select message from public.audit_log where message = 'hello'`)).toEqual([{ message: 'hello' }]);
    });

    it('a volatile function writes through POST', async () => {
        const { data, error } = await rest.anonClient().rpc('create_customer', { name: 'Via RPC' }).select('name,tier');
        expect(error).toBeNull();
        expect(data).toEqual({ name: 'Via RPC', tier: 'bronze' });
    });

    it('GET runs read-only: a writing function fails with 405 25006', async () => {
        const { data, error, status } = await rest.anonClient().rpc('create_customer', { name: 'Via GET' }, { get: true });
        expect(status).toBe(405);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: '25006',
            message: 'cannot execute INSERT in a read-only transaction',
            details: null,
            hint: null,
        });
        expect(await rest.sql(`select 1 from public.customers where name = 'Via GET'`)).toEqual([]);
    });
});

describe('overloads and unnamed parameters', () => {
    it('overloads resolve by argument names', async () => {
        expect((await rest.anonClient().rpc('describe', { a: 1 })).data).toBe('one argument: 1');
        expect((await rest.anonClient().rpc('describe', { a: 1, b: 2 })).data).toBe('two arguments: 1, 2');
        expect((await rest.anonClient().rpc('describe', { a: 4 }, { get: true })).data).toBe('one argument: 4');
    });

    it('overloads with the same argument names: 300 PGRST203, candidates in PostgREST\'s order', async () => {
        // PostgREST orders overloads by their number of parameters, then by the parameters
        // themselves (name, then type name): integer before text.
        const { error, status } = await rest.anonClient().rpc('pick', { x: 1 });
        expect(status).toBe(300);
        expect(error).toEqual({
            code: 'PGRST203',
            message: 'Could not choose the best candidate function between: public.pick(x => integer), public.pick(x => text)',
            details: null,
            hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
        });
    });

    it('a single unnamed json parameter receives the whole body', async () => {
        const { data, error } = await rest.anonClient().rpc('echo_json', { any: 'thing', n: [1, 2], nested: { ok: true } });
        expect(error).toBeNull();
        expect(data).toEqual({ any: 'thing', n: [1, 2], nested: { ok: true } });
    });

    it('a single unnamed jsonb parameter receives the whole body', async () => {
        const { data, error } = await rest.anonClient().rpc('jsonb_key_count', { a: 1, b: 2, c: 3 });
        expect(error).toBeNull();
        expect(data).toBe(3);
    });

    it('a single unnamed text parameter receives a text/plain body', async () => {
        const res = await rest.raw('/rpc/shout', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello there' });
        expect(res.status).toBe(200);
        expect(await res.json()).toBe('HELLO THERE');
    });
});

describe('single unnamed parameters (PostgREST\'s overload resolution)', () => {
    const post = (fn: string, contentType: string, body: string | Buffer, accept?: string) =>
        rest.raw(`/rpc/${fn}`, { method: 'POST', headers: { 'Content-Type': contentType, ...(accept ? { Accept: accept } : {}) }, body });

    it('an application/octet-stream body is the single unnamed bytea parameter', async () => {
        const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x0a]);
        const res = await post('unnamed_bytea', 'application/octet-stream', bytes, 'application/octet-stream');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/octet-stream');
        expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    });

    it('a text/xml body is the single unnamed xml parameter', async () => {
        const res = await post('unnamed_xml', 'text/xml', '<order id="7"><line>tea</line></order>', 'text/xml');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
        expect(await res.text()).toBe('<order id="7"><line>tea</line></order>');
    });

    it('a text/plain body is the single unnamed text parameter, answered as text/plain when asked', async () => {
        const res = await post('shout', 'text/plain', 'plain words', 'text/plain');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe('PLAIN WORDS');
    });

    it('a JSON array body is the whole argument of a single unnamed json parameter', async () => {
        const { data, error } = await rest.anonClient().rpc('echo_json', [{ a: 1 }, { a: 2 }] as unknown as Record<string, unknown>);
        expect(error).toBeNull();
        expect(data).toEqual([{ a: 1 }, { a: 2 }]);
    });

    it('an unnamed parameter is the argument named "": the whole body is its value', async () => {
        // {"": …} names the unnamed parameter, so a text one matches too (not only
        // json/jsonb), and it receives the body as sent.
        const { data, error, status } = await rest.anonClient().rpc('shout', { '': 'hi' });
        expect(error).toBeNull();
        expect(status).toBe(200);
        expect(data).toBe('{"":"HI"}');
    });

    it('no parameters and one unnamed parameter overload cleanly', async () => {
        const none = await rest.anonClient().rpc('overloaded_unnamed');
        expect(none.error).toBeNull();
        expect(none.data).toBe('no arguments');
        const viaGet = await rest.anonClient().rpc('overloaded_unnamed', {}, { get: true });
        expect(viaGet.data).toBe('no arguments');
        const named = await rest.anonClient().rpc('overloaded_unnamed', { '': 'x' });
        expect(named.error).toBeNull();
        expect(named.data).toBe('text: {"":"x"}');
        const raw = await post('overloaded_unnamed', 'text/plain', 'x');
        expect(raw.status).toBe(200);
        expect(await raw.json()).toBe('text: x');
    });

    it('an empty body matching no-parameter and defaulted overloads: 300 PGRST203, fewest parameters first', async () => {
        const { error, status } = await rest.anonClient().rpc('overloaded_default');
        expect(status).toBe(300);
        expect(error).toEqual({
            code: 'PGRST203',
            message: 'Could not choose the best candidate function between: public.overloaded_default(), public.overloaded_default( => text)',
            details: null,
            hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
        });
        const named = await rest.anonClient().rpc('overloaded_default', { '': 'x' });
        expect(named.error).toBeNull();
        expect(named.data).toBe(2);
    });

    it('overloads with as many parameters are listed by parameter type', async () => {
        const all = await rest.anonClient().rpc('overloaded_default_multi');
        expect(all.status).toBe(300);
        expect(all.error!.message).toBe(
            'Could not choose the best candidate function between: public.overloaded_default_multi(), public.overloaded_default_multi( => jsonb), public.overloaded_default_multi( => text)',
        );
        const two = await rest.anonClient().rpc('overloaded_default_multi', { '': 'x' });
        expect(two.status).toBe(300);
        expect(two.error!.message).toBe(
            'Could not choose the best candidate function between: public.overloaded_default_multi( => jsonb), public.overloaded_default_multi( => text)',
        );
    });

    it('a function whose single unnamed parameter is not json, jsonb, text, xml or bytea is not callable: 404 PGRST202', async () => {
        const { error, status } = await rest.anonClient().rpc('unnamed_integer', { '': 1 });
        expect(status).toBe(404);
        expect(error!.code).toBe('PGRST202');
        expect(error!.message).toBe('Could not find the function public.unnamed_integer() in the schema cache');
    });

    it('a raw body no function takes: 404 PGRST202 naming the type, without a hint', async () => {
        const res = await post('add_numbers', 'text/plain', '1 2');
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({
            code: 'PGRST202',
            message: 'Could not find the function public.add_numbers(text) in the schema cache',
            details: 'Searched for the function public.add_numbers with a single unnamed text parameter, but no matches were found in the schema cache.',
            hint: null,
        });
        const bytes = await post('shout', 'application/octet-stream', Buffer.from('x'));
        expect(bytes.status).toBe(404);
        expect(await bytes.json()).toEqual({
            code: 'PGRST202',
            message: 'Could not find the function public.shout(bytea) in the schema cache',
            details: 'Searched for the function public.shout with a single unnamed bytea parameter, but no matches were found in the schema cache.',
            hint: null,
        });
    });

    it('the hint for other arguments lists the parameters as the function declares them', async () => {
        const { error, status } = await rest.anonClient().rpc('ranked', { zeta: 1 });
        expect(status).toBe(404);
        expect(error).toEqual({
            code: 'PGRST202',
            message: 'Could not find the function public.ranked(zeta) in the schema cache',
            details: 'Searched for the function public.ranked with parameter zeta or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
            hint: 'Perhaps you meant to call the function public.ranked(zeta, alpha)',
        });
        expect((await rest.anonClient().rpc('ranked', { alpha: 2, zeta: 1 })).data).toBe(12);
    });
});

describe('function errors', () => {
    it('an unknown function: 404 PGRST202', async () => {
        const { data, error, status } = await rest.anonClient().rpc('no_such_fn', { a: 1, b: 2 });
        expect(status).toBe(404);
        expect(data).toBeNull();
        expect(error).toEqual({
            code: 'PGRST202',
            message: 'Could not find the function public.no_such_fn(a, b) in the schema cache',
            details: 'Searched for the function public.no_such_fn with parameters a, b or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
            hint: null,
        });
    });

    it('a misspelt function name gets a hint', async () => {
        const { error, status } = await rest.anonClient().rpc('add_numbrs', { a: 1, b: 2 });
        expect(status).toBe(404);
        expect(error!.code).toBe('PGRST202');
        expect(error!.message).toBe('Could not find the function public.add_numbrs(a, b) in the schema cache');
        expect(error!.hint).toMatch(/^Perhaps you meant to call the function public\.add_numbers/);
    });

    it('unknown argument names: 404 PGRST202 naming them', async () => {
        const { error, status } = await rest.anonClient().rpc('add_numbers', { x: 1, y: 2 });
        expect(status).toBe(404);
        expect(error!.code).toBe('PGRST202');
        expect(error!.message).toBe('Could not find the function public.add_numbers(x, y) in the schema cache');
        expect(error!.details).toBe(
            'Searched for the function public.add_numbers with parameters x, y or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
        );
    });

    it('RAISE EXCEPTION: 400 P0001 with message, detail and hint', async () => {
        const { data, error, status } = await rest.anonClient().rpc('fail_custom');
        expect(status).toBe(400);
        expect(data).toBeNull();
        expect(error).toEqual({ code: 'P0001', message: 'custom failure', details: 'something went wrong', hint: 'try again later' });
        const plain = await rest.anonClient().rpc('fail_plain');
        expect(plain.status).toBe(400);
        expect(plain.error).toEqual({ code: 'P0001', message: 'plain failure', details: null, hint: null });
    });

    it('an error rolls the function back', async () => {
        await rest.anonClient().rpc('fail_custom');
        expect(await rest.sql('select count(*)::int as n from public.audit_log where message is null')).toEqual([{ n: 0 }]);
    });

    it('a missing relation at run time: 404 42P01', async () => {
        const { error, status } = await rest.anonClient().rpc('broken');
        expect(status).toBe(404);
        expect(error).toEqual({ code: '42P01', message: 'relation "public.missing_table" does not exist', details: null, hint: null });
    });

    it('response.status and response.headers set by the function override the response', async () => {
        const res = await rest.raw('/rpc/teapot', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        expect(res.status).toBe(418);
        expect(res.headers.get('x-brew')).toBe('green');
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(await res.json()).toEqual({ brewing: true });
    });

    it('an invalid response.headers: 500 PGRST111', async () => {
        const res = await rest.raw('/rpc/bad_headers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({
            code: 'PGRST111',
            message: 'response.headers guc must be a JSON array composed of objects with a single key and a string value',
            details: null,
            hint: null,
        });
    });

    it('an invalid response.status: 500 PGRST112', async () => {
        const res = await rest.raw('/rpc/bad_status', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({
            code: 'PGRST112',
            message: 'response.status guc must be a valid status code',
            details: null,
            hint: null,
        });
    });

    it("RAISE SQLSTATE 'PGRST' sets status, headers and the error body", async () => {
        const res = await rest.raw('/rpc/payment_required', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        expect(res.status).toBe(402);
        expect(res.headers.get('x-powered-by')).toBe('Nerds');
        expect(await res.json()).toEqual({ code: '123', message: 'Payment Required', details: 'Quota exceeded', hint: 'Upgrade your plan' });
        const viaClient = await rest.anonClient().rpc('payment_required');
        expect(viaClient.status).toBe(402);
        expect(viaClient.error).toEqual({ code: '123', message: 'Payment Required', details: 'Quota exceeded', hint: 'Upgrade your plan' });
    });

    it('PATCH on a function: 405 PGRST101', async () => {
        const res = await rest.raw('/rpc/add_numbers', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: '{"a":1,"b":2}' });
        expect(res.status).toBe(405);
        expect(((await res.json()) as { code: string }).code).toBe('PGRST101');
    });
});
