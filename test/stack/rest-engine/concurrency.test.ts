// Many parallel requests share the pool; each must see exactly its own role, claims and
// headers — transaction-local settings never leak into another request.
import { describe, expect, it } from 'vitest';
import { LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { useEngine } from './engine-harness.js';

const engine = useEngine({ poolSize: 6 });

interface Who {
    role: string;
    sub: string | null;
    marker: string | null;
}

describe('parallel requests', () => {
    it('never see another request’s role, claims or headers', async () => {
        const requests = Array.from({ length: 150 }, async (_, i) => {
            const kind = i % 3;
            const headers: Record<string, string> = { 'x-marker': `m${i}` };
            let expected: Who;
            if (kind === 0) {
                expected = { role: 'anon', sub: null, marker: `m${i}` };
            } else if (kind === 1) {
                const sub = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
                headers.authorization = `Bearer ${await engine.sign({ sub, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 })}`;
                expected = { role: 'authenticated', sub, marker: `m${i}` };
            } else {
                headers.authorization = `Bearer ${LOCAL_SERVICE_ROLE_KEY}`;
                expected = { role: 'service_role', sub: null, marker: `m${i}` };
            }
            const slow = i % 5 === 0;
            const response = await engine.request(slow ? '/rpc/slow_whoami?ms=20' : '/rpc/whoami', { headers });
            expect(response.status).toBe(200);
            expect(await response.json()).toEqual(expected);
        });
        await Promise.all(requests);
    });

    it('a failing request does not poison the connection it used', async () => {
        const bad = Array.from({ length: 30 }, () => engine.request('/items?id=eq.notanumber'));
        const good = Array.from({ length: 30 }, () => engine.request('/rpc/whoami'));
        const [badResponses, goodResponses] = await Promise.all([Promise.all(bad), Promise.all(good)]);
        for (const r of badResponses) expect(r.status).toBe(400);
        for (const r of goodResponses) expect(((await r.json()) as Who).role).toBe('anon');
    });

    it('a rolled-back write leaves nothing behind even under load', async () => {
        const writes = Array.from({ length: 20 }, (_, i) =>
            engine.request('/labels', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', Prefer: 'tx=rollback', authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` },
                body: JSON.stringify({ id: 1000 + i, name: 'temp' }),
            }),
        );
        for (const r of await Promise.all(writes)) expect(r.status).toBe(201);
        const after = await engine.request('/labels?id=gte.1000&select=id', { headers: { Prefer: 'count=exact' } });
        expect(after.headers.get('content-range')).toBe('*/0');
    });
});
