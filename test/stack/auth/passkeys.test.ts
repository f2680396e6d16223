// Passkeys through auth-js (`auth.passkey.*`, `auth.admin.passkey.*`) with a software
// authenticator: register, sign in without a password, list, rename, delete. Attacks: a
// replayed or expired ceremony, a phishing origin, no user verification, a forged user
// handle, another user's challenge or passkey — refused, no session issued, nothing changed.
import { decodeJwt } from 'jose';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';
import { SoftwareAuthenticator } from '../../harness/webauthn.js';

const auth = useAuthService('features');
const ORIGIN = 'http://localhost:3000';
const PASSWORD = 'passkey-pass-1';

type Client = ReturnType<typeof auth.client>;

async function signedIn() {
    const client = auth.client();
    const address = email('passkey');
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    return { client, address, userId: data.user!.id };
}

/** A signed-in user with one passkey on `key`. */
async function registered(key = new SoftwareAuthenticator(ORIGIN)) {
    const ctx = await signedIn();
    const { data: start, error } = await ctx.client.auth.passkey.startRegistration();
    expect(error).toBeNull();
    const { data: passkey, error: verifyError } = await ctx.client.auth.passkey.verifyRegistration({ challengeId: start!.challenge_id, credential: key.create(start!.options) });
    expect(verifyError).toBeNull();
    return { ...ctx, key, passkey: passkey! };
}

async function signInWith(key: SoftwareAuthenticator, overrides: Parameters<SoftwareAuthenticator['get']>[1] = {}, client: Client = auth.client()) {
    const { data: start, error } = await client.auth.passkey.startAuthentication();
    expect(error).toBeNull();
    return { start: start!, result: await client.auth.passkey.verifyAuthentication({ challengeId: start!.challenge_id, credential: key.get(start!.options, overrides) }) };
}

/** An authenticator holding a passkey for this RP that the server never registered. */
function unregistered(): SoftwareAuthenticator {
    const key = new SoftwareAuthenticator(ORIGIN);
    key.create({
        rp: { id: 'localhost', name: 'Tillbase' },
        user: { id: Buffer.from('someone-else').toString('base64url'), name: 'someone', displayName: 'someone' },
        challenge: Buffer.from('not from the server').toString('base64url'),
    });
    return key;
}

const sessionCount = async (userId: string) => Number((await auth.db.query<{ n: string }>('select count(*) as n from auth.sessions where user_id = $1', [userId]))[0]!.n);

describe('registering a passkey', () => {
    it('asks for a discoverable, user-verified credential for the configured RP and stores it', async () => {
        const { client, address, userId } = await signedIn();
        const { data, error } = await client.auth.passkey.startRegistration();
        expect(error).toBeNull();
        expect(data!.expires_at).toBeGreaterThan(Date.now() / 1000);
        expect(data!.options).toMatchObject({
            rp: { id: 'localhost', name: 'Tillbase' },
            user: { name: address, displayName: address },
            authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
            attestation: 'none',
        });
        expect(Buffer.from(data!.options.user.id, 'base64url').toString('hex')).toBe(userId.replaceAll('-', ''));
        const key = new SoftwareAuthenticator(ORIGIN);
        const { data: passkey, error: verifyError } = await client.auth.passkey.verifyRegistration({ challengeId: data!.challenge_id, credential: key.create(data!.options) });
        expect(verifyError).toBeNull();
        expect(passkey).toEqual({ id: expect.any(String), created_at: expect.any(String) });
        const rows = await auth.db.query<{ user_id: string; credential_id: Buffer; sign_count: string }>('select user_id, credential_id, sign_count from auth.webauthn_credentials where id = $1', [
            passkey!.id,
        ]);
        expect(rows).toEqual([{ user_id: userId, credential_id: Buffer.from(key.credentialIds[0]!, 'base64url'), sign_count: '0' }]);
        expect(await auth.db.query('select 1 from auth.webauthn_challenges where id = $1', [data!.challenge_id])).toEqual([]);
    });

    it('a second registration excludes the passkeys the user has', async () => {
        const { client, key } = await registered();
        const { data } = await client.auth.passkey.startRegistration();
        expect(data!.options.excludeCredentials?.map((c) => c.id)).toEqual(key.credentialIds);
    });

    it('a credential without user verification, from a phishing origin, or for another user\'s ceremony is refused and stores nothing', async () => {
        const { client, userId } = await signedIn();
        const other = await signedIn();
        const attempts: Array<[string, (options: Parameters<SoftwareAuthenticator['create']>[0]) => ReturnType<SoftwareAuthenticator['create']>, Client]> = [
            ['no user verification', (o) => new SoftwareAuthenticator(ORIGIN, false).create(o), client],
            ['phishing origin', (o) => new SoftwareAuthenticator('https://shop-login.example.test').create(o), client],
        ];
        for (const [what, make, who] of attempts) {
            const { data } = await client.auth.passkey.startRegistration();
            const { error } = await who.auth.passkey.verifyRegistration({ challengeId: data!.challenge_id, credential: make(data!.options) });
            expect(error, what).toMatchObject({ status: 422, code: 'webauthn_verification_failed' });
        }
        const { data } = await client.auth.passkey.startRegistration();
        const stolen = await other.client.auth.passkey.verifyRegistration({ challengeId: data!.challenge_id, credential: new SoftwareAuthenticator(ORIGIN).create(data!.options) });
        expect(stolen.error).toMatchObject({ status: 404, code: 'webauthn_challenge_not_found' });
        expect(await auth.db.query('select 1 from auth.webauthn_credentials where user_id = any($1)', [[userId, other.userId]])).toEqual([]);
    });
});

describe('signing in with a passkey', () => {
    it('a discoverable credential signs its user in: aal1 session with a passkey AMR entry, counter and last use kept', async () => {
        const { key, userId, passkey } = await registered();
        const { start, result } = await signInWith(key);
        expect(start.options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
        expect(start.options.allowCredentials ?? []).toEqual([]);
        expect(result.error).toBeNull();
        expect(result.data?.user?.id).toBe(userId);
        const claims = decodeJwt(result.data!.session!.access_token);
        expect(claims).toMatchObject({ sub: userId, aal: 'aal1' });
        expect((claims.amr as Array<{ method: string }>).map((a) => a.method)).toEqual(['passkey']);
        const [row] = await auth.db.query<{ sign_count: string; last_used_at: Date | null }>('select sign_count, last_used_at from auth.webauthn_credentials where id = $1', [passkey.id]);
        expect(row).toMatchObject({ sign_count: '1', last_used_at: expect.any(Date) });
    });

    it('a ceremony verifies once: replaying it is webauthn_challenge_not_found and issues no second session', async () => {
        const { key, userId } = await registered();
        const client = auth.client();
        const { data: start } = await client.auth.passkey.startAuthentication();
        const credential = key.get(start!.options);
        expect((await client.auth.passkey.verifyAuthentication({ challengeId: start!.challenge_id, credential })).error).toBeNull();
        const sessions = await sessionCount(userId);
        const replay = await auth.client().auth.passkey.verifyAuthentication({ challengeId: start!.challenge_id, credential });
        expect(replay.error).toMatchObject({ status: 404, code: 'webauthn_challenge_not_found' });
        expect(await sessionCount(userId)).toBe(sessions);
    });

    it('a ceremony older than 5 minutes is webauthn_challenge_expired (as auth-js documents) and is used up', async () => {
        const { key, userId } = await registered();
        const client = auth.client();
        const { data: start } = await client.auth.passkey.startAuthentication();
        auth.advance(301_000);
        const { error } = await client.auth.passkey.verifyAuthentication({ challengeId: start!.challenge_id, credential: key.get(start!.options) });
        expect(error).toMatchObject({ status: 422, code: 'webauthn_challenge_expired' });
        expect(await auth.db.query('select 1 from auth.webauthn_challenges where id = $1', [start!.challenge_id])).toEqual([]);
        expect(await sessionCount(userId)).toBe(1);
    });

    it('a phishing origin, no user verification, a forged user handle or an unknown credential get one answer and no session', async () => {
        const { key, userId } = await registered();
        const victim = await registered();
        const before = await sessionCount(victim.userId);
        const forged = async () => {
            const client = auth.client();
            const { data: start } = await client.auth.passkey.startAuthentication();
            const credential = key.get(start!.options);
            // The attacker's own passkey, claiming to be the victim's user handle.
            credential.response.userHandle = Buffer.from(victim.userId.replaceAll('-', ''), 'hex').toString('base64url');
            return client.auth.passkey.verifyAuthentication({ challengeId: start!.challenge_id, credential });
        };
        const outcomes = [
            (await signInWith(key, { origin: 'https://shop-login.example.test' })).result,
            (await signInWith(key, { userVerified: false })).result,
            await forged(),
            (await signInWith(unregistered())).result,
        ];
        for (const outcome of outcomes) expect(outcome.error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
        expect(await sessionCount(victim.userId)).toBe(before);
        expect(await sessionCount(userId)).toBe(1);
    });

    it('a banned user cannot sign in with a passkey', async () => {
        const { key, userId } = await registered();
        await auth.admin().auth.admin.updateUserById(userId, { ban_duration: '1h' });
        const { result } = await signInWith(key);
        expect(result.error).toMatchObject({ status: 400, code: 'user_banned' });
    });
});

describe('managing passkeys', () => {
    it('lists, renames (1–120 characters) and deletes the user\'s passkeys; a deleted passkey no longer signs in', async () => {
        const { client, key, passkey } = await registered();
        expect((await client.auth.passkey.list()).data).toEqual([{ id: passkey.id, created_at: passkey.created_at }]);
        const renamed = await client.auth.passkey.update({ passkeyId: passkey.id, friendlyName: 'MacBook Touch ID' });
        expect(renamed.data).toMatchObject({ id: passkey.id, friendly_name: 'MacBook Touch ID' });
        for (const bad of ['', 'x'.repeat(121)]) {
            const { error } = await client.auth.passkey.update({ passkeyId: passkey.id, friendlyName: bad });
            expect(error, bad.slice(0, 10)).toMatchObject({ status: 400, code: 'validation_failed' });
        }
        expect((await client.auth.passkey.list()).data?.[0]?.friendly_name).toBe('MacBook Touch ID');
        expect((await client.auth.passkey.delete({ passkeyId: passkey.id })).error).toBeNull();
        expect((await client.auth.passkey.list()).data).toEqual([]);
        const { result } = await signInWith(key);
        expect(result.error).toMatchObject({ status: 400, code: 'invalid_credentials' });
    });

    it("another user cannot see, rename or delete someone's passkey", async () => {
        const owner = await registered();
        const other = await signedIn();
        expect((await other.client.auth.passkey.list()).data).toEqual([]);
        expect((await other.client.auth.passkey.update({ passkeyId: owner.passkey.id, friendlyName: 'mine now' })).error).toMatchObject({ status: 404, code: 'passkey_not_found' });
        expect((await other.client.auth.passkey.delete({ passkeyId: owner.passkey.id })).error).toMatchObject({ status: 404, code: 'passkey_not_found' });
        expect((await owner.client.auth.passkey.list()).data).toEqual([{ id: owner.passkey.id, created_at: owner.passkey.created_at }]);
    });

    it('the admin API lists and deletes a user\'s passkeys; anon may not', async () => {
        const { userId, passkey } = await registered();
        const admin = auth.admin().auth.admin.passkey;
        expect((await admin.listPasskeys({ userId })).data).toEqual([{ id: passkey.id, created_at: passkey.created_at }]);
        const anon = await auth.fetch(`/admin/users/${userId}/passkeys`, { headers: { authorization: `Bearer ${LOCAL_ANON_KEY}` } });
        expect(anon.status).toBe(403);
        expect((await admin.deletePasskey({ userId, passkeyId: passkey.id })).error).toBeNull();
        expect((await admin.listPasskeys({ userId })).data).toEqual([]);
        expect((await admin.deletePasskey({ userId, passkeyId: passkey.id })).error).toMatchObject({ status: 404, code: 'passkey_not_found' });
    });

    it('a user with MFA must be at aal2 to add or remove a passkey: a stolen password alone plants nothing', async () => {
        const { client, address, key, passkey, userId } = await registered();
        const { data: factor } = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' });
        if (factor?.type !== 'totp') throw new Error('not totp');
        const code = () => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(factor.totp.secret) }).generate({ timestamp: auth.now().getTime() });
        expect((await client.auth.mfa.challengeAndVerify({ factorId: factor.id, code: code() })).error).toBeNull();
        const thief = auth.client();
        await thief.auth.signInWithPassword({ email: address, password: PASSWORD });
        const start = await thief.auth.passkey.startRegistration();
        expect(start.error).toMatchObject({ status: 422, code: 'insufficient_aal', message: 'AAL2 required to register a passkey' });
        const removal = await thief.auth.passkey.delete({ passkeyId: passkey.id });
        expect(removal.error).toMatchObject({ status: 422, code: 'insufficient_aal' });
        expect(await auth.db.query('select id from auth.webauthn_credentials where user_id = $1', [userId])).toEqual([{ id: passkey.id }]);
        expect(await auth.db.query('select 1 from auth.webauthn_challenges where user_id = $1', [userId])).toEqual([]);
        // After the second factor, the owner adds another passkey.
        const owner = auth.client();
        await owner.auth.signInWithPassword({ email: address, password: PASSWORD });
        expect((await owner.auth.mfa.challengeAndVerify({ factorId: factor.id, code: code() })).error).toBeNull();
        const { data } = await owner.auth.passkey.startRegistration();
        expect(data?.options.excludeCredentials?.map((c) => c.id)).toEqual(key.credentialIds);
        expect((await owner.auth.passkey.verifyRegistration({ challengeId: data!.challenge_id, credential: new SoftwareAuthenticator(ORIGIN).create(data!.options) })).error).toBeNull();
    });
});
