// MFA code checks are limited like GoTrue's verification endpoints: [auth.rate_limit]
// token_verifications attempts per client IP and per factor in five minutes, then 429
// over_request_rate_limit, whatever the code (the right one included). Clients on
// different loopback addresses play different IPs.
import * as OTPAuth from 'otpauth';
import { beforeEach, describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

// token_verifications = 3 in this fixture.
const auth = useAuthService('limits');
const PASSWORD = 'mfa-limits-1';

beforeEach(() => auth.advance(60 * 60_000));

function codeFor(secret: string): string {
    return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: auth.now().getTime() });
}

const wrongFor = (right: string, i: number) => String((Number(right) + (i + 1) * 1000) % 1_000_000).padStart(6, '0');

/** A user with an enrolled TOTP factor, signed in from `ip`. */
async function enrolledFrom(ip: string) {
    const address = email('mfa');
    const client = auth.client({ from: ip });
    const { error } = await client.auth.signUp({ email: address, password: PASSWORD });
    expect(error).toBeNull();
    const { data } = await client.auth.mfa.enroll({ factorType: 'totp' });
    if (data?.type !== 'totp') throw new Error('no totp factor');
    return { address, client, factorId: data.id, secret: data.totp.secret };
}

/** The same user's session on another IP (challenge and verify must come from one IP). */
async function sameUserFrom(address: string, ip: string) {
    const client = auth.client({ from: ip });
    expect((await client.auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();
    return client;
}

async function attempt(client: ReturnType<typeof auth.client>, factorId: string, code: string) {
    const challenge = await client.auth.mfa.challenge({ factorId });
    expect(challenge.error).toBeNull();
    return client.auth.mfa.verify({ factorId, challengeId: challenge.data!.id, code });
}

describe('MFA verification limits', () => {
    it('per factor: guesses from one IP use up the factor, so the right code from another IP is 429', async () => {
        const { address, client, factorId, secret } = await enrolledFrom('127.0.0.11');
        for (let i = 0; i < 3; i++) {
            expect((await attempt(client, factorId, wrongFor(codeFor(secret), i))).error?.code).toBe('mfa_verification_failed');
        }
        const elsewhere = await sameUserFrom(address, '127.0.0.12');
        const { data, error } = await attempt(elsewhere, factorId, codeFor(secret));
        expect(error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
        expect(data).toBeNull();
        const [row] = await auth.db.query<{ status: string }>('select status from auth.mfa_factors where id = $1', [factorId]);
        expect(row!.status).toBe('unverified');
        auth.advance(5 * 60_000);
        expect((await attempt(elsewhere, factorId, codeFor(secret))).error).toBeNull();
    });

    it('per IP: guesses against one factor use up the IP for every factor; other IPs are unaffected', async () => {
        const attacker = await enrolledFrom('127.0.0.21');
        for (let i = 0; i < 3; i++) {
            expect((await attempt(attacker.client, attacker.factorId, wrongFor(codeFor(attacker.secret), i))).error?.code).toBe('mfa_verification_failed');
        }
        const other = await enrolledFrom('127.0.0.21');
        const refused = await attempt(other.client, other.factorId, codeFor(other.secret));
        expect(refused.error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
        const elsewhere = await sameUserFrom(other.address, '127.0.0.22');
        expect((await attempt(elsewhere, other.factorId, codeFor(other.secret))).error).toBeNull();
    });

    it('the 429 uses both error shapes', async () => {
        const { client, factorId, secret } = await enrolledFrom('127.0.0.31');
        for (let i = 0; i < 3; i++) await attempt(client, factorId, wrongFor(codeFor(secret), i));
        const challenge = await client.auth.mfa.challenge({ factorId });
        const { data: session } = await client.auth.getSession();
        const headers = { authorization: `Bearer ${session.session!.access_token}`, 'content-type': 'application/json' };
        const body = JSON.stringify({ challenge_id: challenge.data!.id, code: codeFor(secret) });
        const legacy = await auth.fetch(`/factors/${factorId}/verify`, { method: 'POST', headers, body }, '127.0.0.31');
        expect(legacy.status).toBe(429);
        expect(await legacy.json()).toEqual({ code: 429, error_code: 'over_request_rate_limit', msg: 'Request rate limit reached' });
        const current = await auth.fetch(`/factors/${factorId}/verify`, { method: 'POST', headers: { ...headers, 'x-supabase-api-version': '2024-01-01' }, body }, '127.0.0.31');
        expect(current.status).toBe(429);
        expect(await current.json()).toEqual({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
    });
});
