// Attacks on the auth API: brute force hits the per-IP / per-email limits, mail floods hit
// email limits, malformed bodies get 4xx with GoTrue's codes, and expired, forged and
// `alg: none` tokens are refused.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_JWT_SECRET } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('limits');
const PASSWORD = 'limits-pass-1';

// Each test starts with full buckets: the limits refill over five minutes of the service's clock.
beforeEach(() => auth.advance(60 * 60_000));

async function user() {
    const address = email('victim');
    const { data } = await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    return { address, id: data.user!.id };
}

describe('rate limits', () => {
    it('password brute force is stopped with 429 over_request_rate_limit', async () => {
        const { address } = await user();
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
            const { error } = await auth.client().auth.signInWithPassword({ email: address, password: `guess-${i}` });
            statuses.push(error!.status!);
        }
        expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
        expect(statuses.slice(5)).toEqual([429, 429]);
        const { error } = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
        auth.advance(5 * 60_000);
        expect((await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();
    });

    it('token refreshes are limited per IP', async () => {
        const { address } = await user();
        const { data } = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        let token = data.session!.refresh_token;
        for (let i = 0; i < 3; i++) {
            const refreshed = await auth.client().auth.refreshSession({ refresh_token: token });
            expect(refreshed.error).toBeNull();
            token = refreshed.data.session!.refresh_token;
        }
        const { error } = await auth.client().auth.refreshSession({ refresh_token: token });
        expect(error?.status).toBe(429);
    });

    it('mails to one address are limited per hour (over_email_send_rate_limit)', async () => {
        const { address } = await user();
        for (let i = 0; i < 2; i++) {
            expect((await auth.client().auth.resetPasswordForEmail(address)).error).toBeNull();
            auth.advance(2_000);
        }
        const { error } = await auth.client().auth.resetPasswordForEmail(address);
        expect(error).toMatchObject({ status: 429, code: 'over_email_send_rate_limit', message: 'Email rate limit exceeded' });
        expect(auth.mail.count(address)).toBe(2);
    });

    it('OTP verifications are limited per IP', async () => {
        const { address } = await user();
        const codes: Array<number | undefined> = [];
        for (let i = 0; i < 4; i++) {
            const { error } = await auth.client().auth.verifyOtp({ email: address, token: '123456', type: 'email' });
            codes.push(error?.status);
        }
        expect(codes).toEqual([403, 403, 403, 429]);
    });
});

describe('malformed requests', () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
        auth.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    it('a body that is not JSON is 400 bad_json, in the legacy shape without the version header', async () => {
        const response = await post('/token?grant_type=password', '{"email": ');
        expect(response.status).toBe(400);
        const body = (await response.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 400, error_code: 'bad_json' });
        expect(body.msg).toMatch(/^Could not parse request body as JSON/);
    });

    it('the 2024-01-01 shape is {code, message} with the header echoed', async () => {
        const response = await post('/signup', JSON.stringify({ email: 'not-an-email', password: PASSWORD }), { 'x-supabase-api-version': '2024-01-01' });
        expect(response.status).toBe(400);
        expect(response.headers.get('x-supabase-api-version')).toBe('2024-01-01');
        expect(await response.json()).toEqual({ code: 'validation_failed', message: 'Unable to validate email address: invalid format' });
    });

    it('wrong field types and unknown grants are 4xx, never 5xx', async () => {
        for (const [path, body] of [
            ['/signup', JSON.stringify({ email: 42, password: [] })],
            ['/token?grant_type=password', JSON.stringify({ email: { $ne: null }, password: PASSWORD })],
            ['/token?grant_type=magic', '{}'],
            ['/token?grant_type=refresh_token', '{}'],
            ['/verify', JSON.stringify({ type: 'signup' })],
            ['/verify', JSON.stringify({ type: 'nonsense', token_hash: 'x' })],
            ['/otp', '[]'],
            ['/recover', JSON.stringify({ email: '' })],
        ] as const) {
            const response = await post(path, body);
            expect(response.status, `${path} ${body}`).toBeGreaterThanOrEqual(400);
            expect(response.status, `${path} ${body}`).toBeLessThan(500);
        }
    });
});

describe('tokens', () => {
    async function claimsFor() {
        const { address, id } = await user();
        return { address, id, sub: id, aud: 'authenticated', role: 'authenticated', session_id: randomUUID() };
    }
    const getUser = (token: string) => auth.fetch('/user', { headers: { authorization: `Bearer ${token}`, 'x-supabase-api-version': '2024-01-01' } });

    it('an expired access token is refused with bad_jwt', async () => {
        const claims = await claimsFor();
        const token = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
            .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
            .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
            .sign(new TextEncoder().encode(LOCAL_JWT_SECRET));
        const response = await getUser(token);
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ code: 'bad_jwt' });
    });

    it('a token signed with another secret is refused', async () => {
        const claims = await claimsFor();
        const token = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode('a-different-secret-that-is-32-characters-long!'));
        expect((await getUser(token)).status).toBe(403);
    });

    it('an alg:none token is refused', async () => {
        const claims = await claimsFor();
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
        const response = await getUser(token);
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ code: 'bad_jwt' });
    });

    it('no token at all is 401 no_authorization', async () => {
        const response = await auth.fetch('/user');
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error_code: 'no_authorization' });
    });
});
