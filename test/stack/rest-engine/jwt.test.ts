// Who the request runs as: PostgREST's JWT rules (401 PGRST301/PGRST303 with
// WWW-Authenticate, 30 s of clock skew, anon without a token).
import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { useEngine } from './engine-harness.js';

const engine = useEngine({ poolSize: 2 });
const now = () => Math.floor(Date.now() / 1000);

function whoami(authorization: string): Promise<Response> {
    return engine.request('/rpc/whoami', { headers: { authorization } });
}

describe('JWT', () => {
    it('a token expired beyond the skew: 401 PGRST303 with WWW-Authenticate', async () => {
        const token = await engine.sign({ role: 'authenticated', sub: 'x', exp: now() - 120 });
        const res = await whoami(`Bearer ${token}`);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="JWT expired"');
        expect(await res.json()).toEqual({ code: 'PGRST303', details: null, hint: null, message: 'JWT expired' });
    });

    it('a token expired 10 s ago is still inside the 30 s clock skew', async () => {
        const token = await engine.sign({ role: 'authenticated', sub: 'skew', exp: now() - 10 });
        const res = await whoami(`Bearer ${token}`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { role: string }).role).toBe('authenticated');
    });

    it('a token signed with another secret: 401 PGRST301', async () => {
        const forged = await new SignJWT({ role: 'service_role' })
            .setProtectedHeader({ alg: 'HS256' })
            .sign(new TextEncoder().encode('not-the-project-secret-but-32-chars-long!!'));
        const res = await whoami(`Bearer ${forged}`);
        expect(res.status).toBe(401);
        expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST301');
        expect(((await res.json()) as { code: string }).code).toBe('PGRST301');
    });

    it('a token that is not a JWT: 401 PGRST301 naming the parts', async () => {
        const res = await whoami('Bearer not-a-jwt');
        expect(res.status).toBe(401);
        expect(((await res.json()) as { message: string }).message).toBe('Expected 3 parts in JWT; got 1');
    });

    it('alg none never passes', async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const body = Buffer.from(JSON.stringify({ role: 'service_role' })).toString('base64url');
        const res = await whoami(`Bearer ${header}.${body}.`);
        expect(res.status).toBe(401);
    });

    it('a token without a role claim runs as anon', async () => {
        const token = await engine.sign({ sub: 'no-role', exp: now() + 60 });
        const res = await whoami(`Bearer ${token}`);
        expect(((await res.json()) as { role: string; sub: string }).role).toBe('anon');
    });
});
