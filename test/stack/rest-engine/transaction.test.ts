// The one-round-trip transaction (stack/rest/transaction.ts) on a single pooled connection:
// each request shape is prepared once per connection, a failing step leaves the connection
// clean (whether the failure came before or after its statement was prepared), and a
// schema reload retires connections whose prepared statements belong to the old schema.
import { describe, expect, it } from 'vitest';
import { useEngine } from './engine-harness.js';

// One connection: every request below runs on the same session.
const engine = useEngine({ poolSize: 1 });

const status = async (path: string, init?: RequestInit) => (await engine.request(path, init)).status;

async function preparedStatements(): Promise<string[]> {
    const response = await engine.request('/rpc/prepared_statements');
    expect(response.status).toBe(200);
    return (await response.json()) as string[];
}

describe('prepared statements', () => {
    it('a request shape is prepared once on the connection and reused', async () => {
        for (const id of [1, 2, 3]) {
            const response = await engine.request(`/items?select=id,name&id=eq.${id}`);
            expect(await response.json()).toEqual([{ id, name: `item ${id}` }]);
        }
        const shape = (await preparedStatements()).filter((s) => s.includes('"engine"."items"."name"') && s.includes('WHERE "engine"."items"."id" = $1'));
        expect(shape).toHaveLength(1);
    });

    it('a statement that fails to prepare is prepared again next time, and fails the same way', async () => {
        for (let i = 0; i < 2; i++) {
            const response = await engine.request('/items?select=id::no_such_type&id=eq.1');
            expect(response.status).toBe(400);
            expect(((await response.json()) as { code: string }).code).toBe('42704');
        }
        expect(await status('/items?select=id&id=eq.1')).toBe(200);
    });

    it('a statement prepared before its execution failed is reused, not prepared twice', async () => {
        for (let i = 0; i < 2; i++) {
            const response = await engine.request('/items?select=id,price&id=eq.not-a-number');
            expect(response.status).toBe(400);
            expect(((await response.json()) as { code: string }).code).toBe('22P02');
        }
        const response = await engine.request('/items?select=id,price&id=eq.4');
        expect(await response.json()).toEqual([{ id: 4, price: 6 }]);
    });

    it('after a schema reload a changed column type does not meet the old statement', async () => {
        // The parameter of `price > $1` was prepared as numeric; the column becomes text.
        const before = await engine.request('/items?select=id&price=gt.58&order=id');
        expect(await before.json()).toEqual([{ id: 39 }, { id: 40 }]);
        await engine.sql(`alter table engine.items alter column price type text using price::text`);
        await engine.service.reloadSchema();
        const after = await engine.request('/items?select=id&price=gt.58&order=id');
        expect(after.status).toBe(200);
        // Compared as text now: '6', '7.50', '9', … are greater than '58'.
        const ids = ((await after.json()) as { id: number }[]).map((r) => r.id);
        expect(ids).toContain(4);
        expect(ids).not.toContain(1);
        await engine.sql(`alter table engine.items alter column price type numeric(10, 2) using price::numeric`);
        await engine.service.reloadSchema();
    });
});

describe('one prepared statement, many roles', () => {
    it('row level security follows the role and claims of each request', async () => {
        const token = async (sub: string) => `Bearer ${await engine.sign({ sub, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 })}`;
        const read = async (authorization?: string) => {
            const response = await engine.request('/notes?select=body&order=id', authorization ? { headers: { authorization } } : {});
            expect(response.status).toBe(200);
            return ((await response.json()) as { body: string }[]).map((r) => r.body);
        };
        const a = await token('user-a');
        const b = await token('user-b');
        expect(await read(a)).toEqual(['shared', 'a only']);
        expect(await read()).toEqual([]);
        expect(await read(b)).toEqual(['shared', 'b only']);
        expect(await read(a)).toEqual(['shared', 'a only']);
        expect(await read()).toEqual([]);
    });
});

describe('transaction-local settings on a reused connection', () => {
    it('a response override set by one request is gone in the next', async () => {
        const brewed = await engine.request('/rpc/brew');
        expect(brewed.status).toBe(418);
        expect(brewed.headers.get('x-brew')).toBe('green');
        const next = await engine.request('/rpc/whoami');
        expect(next.status).toBe(200);
        expect(next.headers.get('x-brew')).toBeNull();
    });

    it('role, claims and headers of one request are not seen by the next', async () => {
        const sub = '00000000-0000-4000-8000-00000000abcd';
        const token = await engine.sign({ sub, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 });
        const first = await engine.request('/rpc/whoami', { headers: { authorization: `Bearer ${token}`, 'x-marker': 'one' } });
        expect(await first.json()).toEqual({ role: 'authenticated', sub, marker: 'one' });
        const second = await engine.request('/rpc/whoami');
        expect(await second.json()).toEqual({ role: 'anon', sub: null, marker: null });
    });
});

describe('EXPLAIN', () => {
    it('is refused unless the database enables it (pgrst.db_plan_enabled): 406 PGRST107', async () => {
        const response = await engine.request('/items?select=id', { headers: { Accept: 'application/vnd.pgrst.plan+json; options=analyze' } });
        expect(response.status).toBe(406);
        expect(((await response.json()) as { code: string }).code).toBe('PGRST107');
    });
});
