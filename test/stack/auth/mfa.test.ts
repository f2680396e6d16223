// MFA with TOTP: enroll, compute the code from the returned secret, verify → aal2 with a
// totp AMR entry; an RLS policy requiring aal2 refuses the aal1 token and accepts the aal2 one.
import { decodeJwt } from 'jose';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-off', async (db) => {
    await db.query(`
        create table public.staff_secrets (id int primary key, body text not null);
        alter table public.staff_secrets enable row level security;
        create policy "Users with MFA can read staff secrets" on public.staff_secrets
            for select to authenticated using ((select auth.jwt() ->> 'aal') = 'aal2');
        grant select on public.staff_secrets to authenticated;
        insert into public.staff_secrets values (1, 'the vault code');
    `);
});

const PASSWORD = 'mfa-password-1';

function codeFor(secret: string, at = auth.now()): string {
    return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at.getTime() });
}

async function signedIn() {
    const client = auth.client();
    const address = email('mfa');
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    return { client, address, session: data.session! };
}

async function enrolled() {
    const ctx = await signedIn();
    const { data, error } = await ctx.client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone app' });
    expect(error).toBeNull();
    return { ...ctx, factor: data! };
}

describe('TOTP enrollment', () => {
    it('returns a secret, an otpauth URI and an SVG QR code for an unverified factor', async () => {
        const { factor, address } = await enrolled();
        expect(factor.type).toBe('totp');
        expect(factor.friendly_name).toBe('phone app');
        if (factor.type !== 'totp') throw new Error('not totp');
        expect(factor.totp.secret).toMatch(/^[A-Z2-7]{32}$/);
        expect(factor.totp.uri).toContain('otpauth://totp/');
        expect(decodeURIComponent(factor.totp.uri)).toContain(address);
        expect(factor.totp.qr_code).toMatch(/^data:image\/svg\+xml;utf-8,<svg/);
        const [row] = await auth.db.query<{ status: string }>('select status from auth.mfa_factors where id = $1', [factor.id]);
        expect(row!.status).toBe('unverified');
    });

    it('a duplicate friendly name is mfa_factor_name_conflict', async () => {
        const { client } = await enrolled();
        await client.auth.mfa.challengeAndVerify;
        const { error } = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone app' });
        expect(error).toMatchObject({ status: 422, code: 'mfa_factor_name_conflict' });
    });
});

describe('TOTP verification', () => {
    it('raises the session to aal2 with totp in amr', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        expect(challenge.error).toBeNull();
        expect(challenge.data!.expires_at).toBeGreaterThan(Date.now() / 1000);
        const { data, error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: codeFor(factor.totp.secret) });
        expect(error).toBeNull();
        const claims = decodeJwt(data!.access_token);
        expect(claims.aal).toBe('aal2');
        expect((claims.amr as Array<{ method: string }>).map((a) => a.method)).toEqual(expect.arrayContaining(['totp', 'password']));
        const aal = await client.auth.mfa.getAuthenticatorAssuranceLevel();
        expect(aal.data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' });
        const factors = await client.auth.mfa.listFactors();
        expect(factors.data?.totp.map((f) => f.id)).toEqual([factor.id]);
    });

    it('a wrong code is mfa_verification_failed', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const right = codeFor(factor.totp.secret);
        const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        const { error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: wrong });
        expect(error).toMatchObject({ status: 422, code: 'mfa_verification_failed', message: 'Invalid TOTP code entered' });
    });

    it('30 wrong codes on one challenge retire it: the right code is then refused and the session stays aal1', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const right = codeFor(factor.totp.secret);
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        const answers: Array<string | undefined> = [];
        for (let i = 1; i <= 30; i++) {
            const wrong = String((Number(right) + i * 1000) % 1_000_000).padStart(6, '0');
            const { error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: wrong });
            answers.push(error?.code);
        }
        expect(answers.slice(0, 5)).toEqual(Array(5).fill('mfa_verification_failed'));
        expect(answers.slice(5)).toEqual(Array(25).fill('mfa_factor_not_found'));
        const { data, error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: right });
        expect(error).toMatchObject({ status: 422, code: 'mfa_factor_not_found' });
        expect(data).toBeNull();
        expect(await auth.db.query('select 1 from auth.mfa_challenges where id = $1', [challenge.data!.id])).toEqual([]);
        const [row] = await auth.db.query<{ status: string }>('select status from auth.mfa_factors where id = $1', [factor.id]);
        expect(row!.status).toBe('unverified');
        expect((await client.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel).toBe('aal1');
    });

    it('parallel wrong guesses on one challenge retire it too', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const right = codeFor(factor.totp.secret);
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
                client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: String((Number(right) + (i + 1) * 1000) % 1_000_000).padStart(6, '0') }),
            ),
        );
        const { error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: right });
        expect(error).toMatchObject({ status: 422 });
        expect((await client.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel).toBe('aal1');
    });

    it('a challenge that verified can never verify again', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        const first = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: codeFor(factor.totp.secret) });
        expect(first.error).toBeNull();
        const again = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: codeFor(factor.totp.secret) });
        expect(again.error).toMatchObject({ status: 422, code: 'mfa_ip_address_mismatch' });
        expect(again.data).toBeNull();
    });

    it('an expired challenge is mfa_challenge_expired', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
        auth.advance(301_000);
        const { error } = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: codeFor(factor.totp.secret) });
        expect(error).toMatchObject({ status: 422, code: 'mfa_challenge_expired' });
    });

    it('an RLS policy requiring aal2 refuses the aal1 token and accepts the aal2 one', async () => {
        const { client, factor, session } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const read = (token: string) => auth.db.asRole('authenticated', decodeJwt(token), (q) => q('select body from public.staff_secrets'));
        expect(await read(session.access_token)).toEqual([]);
        const { data } = await client.auth.mfa.challengeAndVerify({ factorId: factor.id, code: codeFor(factor.totp.secret) });
        expect(await read(data!.access_token)).toEqual([{ body: 'the vault code' }]);
    });

    it('refreshing an aal2 session keeps aal2', async () => {
        const { client, factor } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        const { data } = await client.auth.mfa.challengeAndVerify({ factorId: factor.id, code: codeFor(factor.totp.secret) });
        const refreshed = await auth.client().auth.refreshSession({ refresh_token: data!.refresh_token });
        expect(decodeJwt(refreshed.data.session!.access_token).aal).toBe('aal2');
    });
});

describe('unenroll', () => {
    it('a verified factor needs aal2 to be removed', async () => {
        const { client, factor, address } = await enrolled();
        if (factor.type !== 'totp') throw new Error('not totp');
        await client.auth.mfa.challengeAndVerify({ factorId: factor.id, code: codeFor(factor.totp.secret) });
        const aal1 = auth.client();
        await aal1.auth.signInWithPassword({ email: address, password: PASSWORD });
        const refused = await aal1.auth.mfa.unenroll({ factorId: factor.id });
        expect(refused.error).toMatchObject({ status: 422, code: 'insufficient_aal' });
        const { data, error } = await client.auth.mfa.unenroll({ factorId: factor.id });
        expect(error).toBeNull();
        expect(data?.id).toBe(factor.id);
        expect(await auth.db.query('select 1 from auth.mfa_factors where id = $1', [factor.id])).toEqual([]);
    });
});
