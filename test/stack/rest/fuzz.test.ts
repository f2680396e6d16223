// Property test: thousands of random and mutated requests never produce a 5xx, never
// hang, and leave the service answering normally afterwards. Deterministic (seeded PRNG),
// so a failure names a reproducible request.
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY } from '../../../stack/keys.js';
import { useRestService } from '../../harness/rest.js';

const rest = useRestService();

function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const PATHS = ['/customers', '/orders', '/products', '/order_items', '/kinds', '/notes', '/secrets', '/order_summaries', '/nope', '/rpc/add_numbers', '/rpc/customers_by_tier', '/rpc/greet', '/rpc/echo_json', '/rpc/nope', '/', '/customers/1', '/rpc/'];
const COLUMNS = ['id', 'name', 'tier', 'tags', 'meta', 'total', 'customer_id', 'price', 'nope', '*', 'meta->color', 'meta->>rank', 'seats', 'during', 'big', 'ts', 'doc', 'search'];
const OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch', 'is', 'isdistinct', 'in', 'cs', 'cd', 'ov', 'sl', 'sr', 'nxl', 'nxr', 'adj', 'fts', 'plfts', 'phfts', 'wfts', 'fts(english)', 'like(any)', 'like(all)', 'not.eq', 'not.in', 'zz'];
const VALUES = ['1', '-1', '0', 'abc', 'null', 'true', 'unknown', 'not_null', '(1,2)', '("a,b",c)', '{a,b}', '{"color":"red"}', '[1,5)', '*a*', '%', '', '9223372036854775808', '1e400', '2024-01-01', "'", '"', '\\', '((', '))', ',', '.', 'ü€', '\u0000'];
const EMBEDS = ['orders(id)', 'customers(name)', 'orders!inner(id)', '...customers(name)', 'addresses(city)', 'addresses!billing(city)', 'products(*)', 'tags()', 'x:orders(y:id)', 'orders(id,order_items(quantity))', 'count()', 'total.sum()', 'id::text', 'name::nope'];
const PREFERS = ['count=exact', 'count=planned', 'count=estimated', 'return=representation', 'return=minimal', 'tx=rollback', 'handling=strict', 'handling=strict, max-affected=0', 'resolution=merge-duplicates', 'missing=default', 'timezone=Mars/Olympus', 'timezone=UTC', 'params=single-object', 'garbage', ',,,'];
const ACCEPTS = ['application/json', 'application/vnd.pgrst.object+json', 'text/csv', 'application/geo+json', 'application/vnd.pgrst.plan+text', 'application/vnd.pgrst.plan+json', 'application/vnd.pgrst.array+json;nulls=stripped', 'text/xml', '*/*', 'application/openapi+json', ';;;'];
const PUNCT = ['(', ')', ',', '.', ':', '!', '"', '&', '=', '%', '%zz', '%00', '#', '?', '->', '->>', '::', '...', ' '];

function pick<T>(rnd: () => number, list: readonly T[]): T {
    return list[Math.floor(rnd() * list.length)]!;
}

function select(rnd: () => number): string {
    const parts = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => (rnd() < 0.6 ? pick(rnd, COLUMNS) : pick(rnd, EMBEDS)));
    return parts.join(',');
}

function mutate(rnd: () => number, text: string): string {
    const chars = [...text];
    const edits = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < edits; i++) {
        const at = Math.floor(rnd() * (chars.length + 1));
        const kind = rnd();
        if (kind < 0.4) chars.splice(at, 0, pick(rnd, PUNCT));
        else if (kind < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, ...pick(rnd, [...COLUMNS, ...OPS, ...VALUES]));
    }
    return chars.join('');
}

function randomRequest(rnd: () => number): { path: string; init: RequestInit } {
    const params: string[] = [];
    if (rnd() < 0.8) params.push(`select=${encodeURIComponent(select(rnd))}`);
    for (let i = Math.floor(rnd() * 4); i > 0; i--) {
        const kind = rnd();
        if (kind < 0.5) params.push(`${encodeURIComponent(pick(rnd, COLUMNS))}=${encodeURIComponent(`${pick(rnd, OPS)}.${pick(rnd, VALUES)}`)}`);
        else if (kind < 0.65) params.push(`or=${encodeURIComponent(`(${pick(rnd, COLUMNS)}.${pick(rnd, OPS)}.${pick(rnd, VALUES)},and(${pick(rnd, COLUMNS)}.eq.${pick(rnd, VALUES)}))`)}`);
        else if (kind < 0.8) params.push(`order=${encodeURIComponent(`${pick(rnd, COLUMNS)}.${pick(rnd, ['asc', 'desc', 'nullsfirst', 'nullslast', 'x'])}`)}`);
        else if (kind < 0.9) params.push(`${pick(rnd, ['limit', 'offset', 'orders.limit', 'orders.order', 'on_conflict', 'columns'])}=${encodeURIComponent(pick(rnd, VALUES))}`);
        else params.push(`${pick(rnd, ['a', 'b', 'n', 't', 'name', 'cid'])}=${encodeURIComponent(pick(rnd, VALUES))}`);
    }
    let query = params.join('&');
    if (rnd() < 0.35) query = mutate(rnd, decodeURIComponent(query.replace(/%(?![0-9A-F]{2})/gi, '%25')));
    const path = `${pick(rnd, PATHS)}?${query}`;
    const headers: Record<string, string> = { apikey: LOCAL_ANON_KEY, Authorization: `Bearer ${LOCAL_ANON_KEY}` };
    if (rnd() < 0.3) headers['Prefer'] = pick(rnd, PREFERS);
    if (rnd() < 0.2) headers['Accept'] = pick(rnd, ACCEPTS);
    if (rnd() < 0.1) headers['Range'] = pick(rnd, ['0-1', '5-2', 'abc', '-1', '0-']);
    if (rnd() < 0.1) headers['Accept-Profile'] = pick(rnd, ['public', 'api2', 'private', 'pg_catalog', '']);
    if (rnd() < 0.05) headers['Authorization'] = pick(rnd, ['Bearer ', 'Bearer a.b.c', 'Basic abc', 'Bearer ' + LOCAL_ANON_KEY.slice(0, -3)]);
    const method = pick(rnd, ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS']);
    const init: RequestInit = { method, headers };
    if (method !== 'GET' && method !== 'HEAD') {
        headers['Content-Type'] = pick(rnd, ['application/json', 'application/json', 'text/plain', 'text/csv', 'application/x-www-form-urlencoded', '']);
        // Writes never persist: the suite's state stays the fixture's.
        headers['Prefer'] = [headers['Prefer'], 'tx=rollback'].filter(Boolean).join(', ');
        init.body = pick(rnd, ['{}', '[]', '{"a":1,"b":2}', '{"id":1}', '[{"id":1},{"name":2}]', '{', 'null', '"text"', '1', '[[[[[]]]]]', '{"name":"\u0000"}', 'id,name\n1,x', '']);
    }
    return { path, init };
}

describe('random and mutated requests', () => {
    it('never answer 5xx and never hang', { timeout: 240_000 }, async () => {
        const rnd = prng(20261121);
        const requests = Array.from({ length: 2500 }, () => randomRequest(rnd));
        const failures: string[] = [];
        const statuses = new Map<number, number>();
        let next = 0;
        const worker = async () => {
            while (next < requests.length) {
                const { path, init } = requests[next++]!;
                try {
                    const res = await fetch(`${rest.restUrl}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
                    const body = await res.text();
                    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
                    if (res.status >= 500) failures.push(`${init.method} ${path} ${JSON.stringify(init.headers)} → ${res.status} ${body.slice(0, 300)}`);
                } catch (error) {
                    failures.push(`${init.method} ${path} ${JSON.stringify(init.headers)} → ${(error as Error).name}: ${(error as Error).message}`);
                }
            }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
        expect(failures.slice(0, 20)).toEqual([]);
        // The generator must exercise both the happy path and the error paths.
        const count = (predicate: (status: number) => boolean) =>
            [...statuses].filter(([status]) => predicate(status)).reduce((sum, [, n]) => sum + n, 0);
        expect(count((s) => s >= 200 && s < 300)).toBeGreaterThan(requests.length * 0.1);
        expect(count((s) => s >= 400 && s < 500)).toBeGreaterThan(requests.length * 0.1);

        const { data, error } = await rest.anonClient().from('customers').select('id').order('id');
        expect(error).toBeNull();
        expect(data).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]);
    });
});
