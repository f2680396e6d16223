// WebAuthn MFA through auth-js, with a software authenticator: enrol, challenge (create),
// verify → aal2 with an `mfa/webauthn` AMR entry and the credential stored on the factor as
// GoTrue stores it; later challenges are assertions. Attacks: a phishing origin, another
// relying party, a replayed counter, someone else's security key, answers to a retired
// challenge — each refused with the session left at aal1 and nothing written.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';
import { asBrowserCredential, optionsJson, SoftwareAuthenticator } from '../../harness/webauthn.js';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

const auth = useAuthService('features', async (db) => {
    await db.query(`
        create table public.staff_secrets (id int primary key, body text not null);
        alter table public.staff_secrets enable row level security;
        create policy "Users with MFA can read staff secrets" on public.staff_secrets
            for select to authenticated using ((select auth.jwt() ->> 'aal') = 'aal2');
        grant select on public.staff_secrets to authenticated;
        insert into public.staff_secrets values (1, 'the vault code');
    `);
});

const ORIGIN = 'http://localhost:3000';
const RP = { rpId: 'localhost', rpOrigins: [ORIGIN] };
const PASSWORD = 'webauthn-pass-1';

type Client = ReturnType<typeof auth.client>;

async function signedIn() {
    const client = auth.client();
    const address = email('key');
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    return { client, address, session: data.session! };
}

async function challenge(client: Client, factorId: string) {
    const { data, error } = await client.auth.mfa.challenge({ factorId, webauthn: RP });
    expect(error).toBeNull();
    if (data?.type !== 'webauthn') throw new Error('not a webauthn challenge');
    return data;
}

/** Enrols and verifies a security key held by `key`: an aal2 session. */
async function enrolled(key = new SoftwareAuthenticator(ORIGIN)) {
    const ctx = await signedIn();
    const { data: factor, error } = await ctx.client.auth.mfa.webauthn.enroll({ friendlyName: 'desk key' });
    expect(error).toBeNull();
    const created = await challenge(ctx.client, factor!.id);
    const publicKey = optionsJson<PublicKeyCredentialCreationOptionsJSON>(created.webauthn.credential_options.publicKey);
    const verified = await ctx.client.auth.mfa.verify({
        factorId: factor!.id,
        challengeId: created.id,
        webauthn: { type: 'create', ...RP, credential_response: asBrowserCredential(key.create(publicKey)) },
    });
    expect(verified.error).toBeNull();
    return { ...ctx, key, factor: factor!, aal2: verified.data! };
}

async function assertWith(client: Client, factorId: string, key: SoftwareAuthenticator, overrides: Parameters<SoftwareAuthenticator['get']>[1] = {}) {
    const requested = await challenge(client, factorId);
    expect(requested.webauthn.type).toBe('request');
    const publicKey = optionsJson<PublicKeyCredentialRequestOptionsJSON>(requested.webauthn.credential_options.publicKey);
    return client.auth.mfa.verify({
        factorId,
        challengeId: requested.id,
        webauthn: { type: 'request', ...RP, credential_response: asBrowserCredential(key.get(publicKey, overrides)) },
    });
}

const aalOf = async (client: Client) => (await client.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel;
const factorRow = async (id: string) =>
    (await auth.db.query<{ status: string; web_authn_credential: Record<string, unknown> | null; web_authn_aaguid: string | null }>(
        'select status, web_authn_credential, web_authn_aaguid from auth.mfa_factors where id = $1',
        [id],
    ))[0];

describe('WebAuthn enrolment', () => {
    it('enrol returns an unverified webauthn factor; its first challenge asks to create a credential for the configured RP', async () => {
        const { client, address } = await signedIn();
        const { data: factor, error } = await client.auth.mfa.enroll({ factorType: 'webauthn', friendlyName: 'yubikey' });
        expect(error).toBeNull();
        expect(factor).toEqual({ id: expect.any(String), type: 'webauthn', friendly_name: 'yubikey' });
        expect((await factorRow(factor!.id))?.status).toBe('unverified');
        const created = await challenge(client, factor!.id);
        expect(created.expires_at).toBeGreaterThan(Date.now() / 1000);
        expect(created.webauthn.type).toBe('create');
        const publicKey = optionsJson<PublicKeyCredentialCreationOptionsJSON>(created.webauthn.credential_options.publicKey);
        expect(publicKey.rp).toEqual({ id: 'localhost', name: 'Tillbase' });
        expect(publicKey.user.name).toBe(address);
        expect(publicKey.pubKeyCredParams.map((p) => p.alg)).toContain(-7);
        const [row] = await auth.db.query<{ web_authn_session_data: { challenge: string; rp_id: string } }>(
            'select web_authn_session_data from auth.mfa_challenges where id = $1',
            [created.id],
        );
        expect(row!.web_authn_session_data).toMatchObject({ challenge: publicKey.challenge, rp_id: 'localhost', rp_origins: [ORIGIN] });
    });

    it('verifying the new credential raises the session to aal2 with mfa/webauthn, stores the credential, and the aal2 RLS policy lets it read', async () => {
        const { client, factor, aal2, session } = await enrolled();
        const claims = decodeJwt(aal2.access_token);
        expect(claims.aal).toBe('aal2');
        expect((claims.amr as Array<{ method: string }>).map((a) => a.method)).toEqual(expect.arrayContaining(['mfa/webauthn', 'password']));
        expect(await aalOf(client)).toBe('aal2');
        const row = await factorRow(factor.id);
        expect(row).toMatchObject({ status: 'verified', web_authn_aaguid: '00000000-0000-0000-0000-000000000000' });
        expect(Object.keys(row!.web_authn_credential!).sort()).toEqual(['AttestationType', 'Authenticator', 'Flags', 'ID', 'PublicKey', 'Transport']);
        const listed = await client.auth.mfa.listFactors();
        expect(listed.data?.webauthn.map((f) => f.id)).toEqual([factor.id]);
        const read = (token: string) => auth.db.asRole('authenticated', decodeJwt(token), (q) => q('select body from public.staff_secrets'));
        expect(await read(session.access_token)).toEqual([]);
        expect(await read(aal2.access_token)).toEqual([{ body: 'the vault code' }]);
    });

    it('a credential created on a phishing origin or for another RP is refused; the factor stays unverified', async () => {
        const { client } = await signedIn();
        const { data: factor } = await client.auth.mfa.webauthn.enroll({ friendlyName: 'phished' });
        for (const overrides of [{ origin: 'https://shop-login.example.test' }, { rpId: 'shop-login.example.test' }]) {
            const created = await challenge(client, factor!.id);
            const publicKey = optionsJson<PublicKeyCredentialCreationOptionsJSON>(created.webauthn.credential_options.publicKey);
            const credential = new SoftwareAuthenticator(ORIGIN).create(publicKey, overrides);
            const { error } = await client.auth.mfa.verify({
                factorId: factor!.id,
                challengeId: created.id,
                webauthn: { type: 'create', ...RP, credential_response: asBrowserCredential(credential) },
            });
            expect(error, JSON.stringify(overrides)).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
        }
        expect(await factorRow(factor!.id)).toMatchObject({ status: 'unverified', web_authn_credential: null });
        expect(await aalOf(client)).toBe('aal1');
    });

    it('a client may not move the relying party away from [auth.webauthn]', async () => {
        const { client } = await signedIn();
        const { data: factor } = await client.auth.mfa.webauthn.enroll({ friendlyName: 'elsewhere' });
        const wrongRp = await client.auth.mfa.challenge({ factorId: factor!.id, webauthn: { rpId: 'evil.example.test', rpOrigins: [ORIGIN] } });
        expect(wrongRp.error).toMatchObject({ status: 400, code: 'validation_failed' });
        const wrongOrigin = await client.auth.mfa.challenge({ factorId: factor!.id, webauthn: { rpId: 'localhost', rpOrigins: ['https://evil.example.test'] } });
        expect(wrongOrigin.error).toMatchObject({ status: 400, code: 'validation_failed' });
        expect(await auth.db.query('select 1 from auth.mfa_challenges where factor_id = $1', [factor!.id])).toEqual([]);
    });
});

describe('WebAuthn verification of an enrolled key', () => {
    it('a later sign-in reaches aal2 with an assertion from the key; the signature counter is kept', async () => {
        const { address, factor, key } = await enrolled();
        const later = auth.client();
        await later.auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(await aalOf(later)).toBe('aal1');
        const { data, error } = await assertWith(later, factor.id, key);
        expect(error).toBeNull();
        expect(decodeJwt(data!.access_token).aal).toBe('aal2');
        const row = await factorRow(factor.id);
        expect((row!.web_authn_credential!.Authenticator as { SignCount: number }).SignCount).toBe(1);
    });

    it("another user's security key, a phishing origin or an assertion without user presence is refused and leaves aal1", async () => {
        const { address, factor, key } = await enrolled();
        const later = auth.client();
        await later.auth.signInWithPassword({ email: address, password: PASSWORD });
        // Someone else's key, registered for the same site, cannot answer for this factor.
        const stranger = new SoftwareAuthenticator(ORIGIN);
        await enrolled(stranger);
        const strangerAnswer = await assertWith(later, factor.id, stranger, { credentialId: stranger.credentialIds[0]! });
        expect(strangerAnswer.error).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
        const phished = await assertWith(later, factor.id, key, { origin: 'https://shop-login.example.test' });
        expect(phished.error).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
        const untouched = await assertWith(later, factor.id, key, { userPresent: false });
        expect(untouched.error).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
        expect(await aalOf(later)).toBe('aal1');
    });

    it('a replayed signature counter (a cloned key) is refused and the stored counter does not move', async () => {
        const { address, factor, key } = await enrolled();
        const first = auth.client();
        await first.auth.signInWithPassword({ email: address, password: PASSWORD });
        expect((await assertWith(first, factor.id, key)).error).toBeNull();
        const before = (await factorRow(factor.id))!.web_authn_credential;
        const second = auth.client();
        await second.auth.signInWithPassword({ email: address, password: PASSWORD });
        key.setCounter(key.credentialIds[0]!, 0); // the next assertion repeats counter 1
        const replayed = await assertWith(second, factor.id, key);
        expect(replayed.error).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
        expect((await factorRow(factor.id))!.web_authn_credential).toEqual(before);
        expect(await aalOf(second)).toBe('aal1');
    });

    it('a challenge survives 4 bad answers: the 5th retires it and a good answer afterwards is refused', async () => {
        const { address, factor, key } = await enrolled();
        const later = auth.client();
        await later.auth.signInWithPassword({ email: address, password: PASSWORD });
        const requested = await challenge(later, factor.id);
        const publicKey = optionsJson<PublicKeyCredentialRequestOptionsJSON>(requested.webauthn.credential_options.publicKey);
        const codes: Array<string | undefined> = [];
        for (let i = 0; i < 6; i++) {
            const bad = key.get(publicKey, { origin: 'https://evil.example.test' });
            const { error } = await later.auth.mfa.verify({ factorId: factor.id, challengeId: requested.id, webauthn: { type: 'request', ...RP, credential_response: asBrowserCredential(bad) } });
            codes.push(error?.code);
        }
        expect(codes).toEqual([...Array(5).fill('mfa_verification_failed'), 'mfa_factor_not_found']);
        const good = key.get(publicKey);
        const { error } = await later.auth.mfa.verify({ factorId: factor.id, challengeId: requested.id, webauthn: { type: 'request', ...RP, credential_response: asBrowserCredential(good) } });
        expect(error).toMatchObject({ status: 422, code: 'mfa_factor_not_found' });
        expect(await aalOf(later)).toBe('aal1');
    });

    it('a verify without the webauthn answer, or of the wrong ceremony type, is 400 and spends nothing', async () => {
        const { address, factor } = await enrolled();
        const later = auth.client();
        const { data } = await later.auth.signInWithPassword({ email: address, password: PASSWORD });
        const requested = await challenge(later, factor.id);
        const post = (body: unknown) =>
            auth.fetch(`/factors/${factor.id}/verify`, {
                method: 'POST',
                headers: { authorization: `Bearer ${data.session!.access_token}`, 'content-type': 'application/json' },
                body: JSON.stringify(body),
            });
        expect(await (await post({ challenge_id: requested.id, code: '123456' })).json()).toMatchObject({ error_code: 'validation_failed', msg: 'WebAuthn config required' });
        const wrongType = await post({ challenge_id: requested.id, webauthn: { type: 'create', ...RP, credential_response: {} } });
        expect(wrongType.status).toBe(400);
        expect(await auth.db.query('select 1 from auth.mfa_challenges where id = $1', [requested.id])).toHaveLength(1);
    });

    it('unenrolling the key (at aal2) removes it and takes its sessions back to aal1', async () => {
        const { client, factor, aal2 } = await enrolled();
        const { error } = await client.auth.mfa.unenroll({ factorId: factor.id });
        expect(error).toBeNull();
        expect(await factorRow(factor.id)).toBeUndefined();
        const refreshed = await auth.client().auth.refreshSession({ refresh_token: aal2.refresh_token });
        expect(decodeJwt(refreshed.data.session!.access_token).aal).toBe('aal1');
    });

    it('the admin API lists and deletes WebAuthn factors, with their AAGUID', async () => {
        const { factor, session } = await enrolled();
        const userId = decodeJwt(session.access_token).sub!;
        const admin = auth.admin().auth.admin.mfa;
        const listed = await admin.listFactors({ userId });
        expect(listed.data?.factors).toEqual([expect.objectContaining({ id: factor.id, factor_type: 'webauthn', status: 'verified', web_authn_aaguid: '00000000-0000-0000-0000-000000000000' })]);
        expect((await admin.deleteFactor({ userId, id: factor.id })).error).toBeNull();
        const raw = await auth.fetch(`/admin/users/${userId}/factors`, { headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` } });
        expect(await raw.json()).toEqual([]);
    });
});
