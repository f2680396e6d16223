// Answers written from Supabase Auth's (GoTrue v2.18x) behaviour where a client sends no
// session, phone input, or asks for a feature the project leaves off (the CLI's defaults):
// no 404s, GoTrue's statuses, codes and texts, and nothing written.
import { AuthClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-off');
const PASSWORD = 'fidelity-pass-1';

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    auth.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const asAdmin = { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` };

async function signedIn() {
    const client = auth.client();
    const { data } = await client.auth.signUp({ email: email('fidelity'), password: PASSWORD });
    return { client, session: data.session!, user: data.user! };
}

/** auth-js on its own (as its test suite uses it): no Authorization header unless a session exists. */
function bareClient() {
    return new AuthClient({ url: `${auth.url}/auth/v1`, headers: { apikey: LOCAL_ANON_KEY }, persistSession: false, autoRefreshToken: false });
}

describe('no session sent', () => {
    it('MFA enrol, challenge, verify and unenroll without a bearer token are 401 no_authorization "This endpoint requires a Bearer token"', async () => {
        const factorId = '00000000-0000-4000-8000-000000000000';
        const calls: Array<[string, string]> = [
            ['POST', '/factors'],
            ['POST', `/factors/${factorId}/challenge`],
            ['POST', `/factors/${factorId}/verify`],
            ['DELETE', `/factors/${factorId}`],
        ];
        for (const [method, path] of calls) {
            const legacy = await auth.fetch(path, { method, headers: { 'content-type': 'application/json' }, body: '{}' });
            expect(legacy.status, path).toBe(401);
            expect(await legacy.json(), path).toEqual({ code: 401, error_code: 'no_authorization', msg: 'This endpoint requires a Bearer token' });
            const current = await auth.fetch(path, { method, headers: { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' }, body: '{}' });
            expect(await current.json(), path).toEqual({ code: 'no_authorization', message: 'This endpoint requires a Bearer token' });
        }
    });

    it('auth-js with no signed-in user (no Authorization header) gets that error from each MFA call', async () => {
        const client = bareClient();
        const factorId = '00000000-0000-4000-8000-000000000000';
        const expected = { status: 401, code: 'no_authorization', message: 'This endpoint requires a Bearer token' };
        expect((await client.mfa.enroll({ factorType: 'totp' })).error).toMatchObject(expected);
        expect((await client.mfa.challenge({ factorId })).error).toMatchObject(expected);
        expect((await client.mfa.verify({ factorId, challengeId: factorId, code: '123456' })).error).toMatchObject(expected);
        expect((await client.mfa.unenroll({ factorId })).error).toMatchObject(expected);
    });

    it('the anon key as bearer (what supabase-js sends without a session) is a JWT without a user: 403 bad_jwt', async () => {
        const { error } = await auth.client().auth.mfa.enroll({ factorType: 'totp' });
        expect(error).toMatchObject({ status: 403, code: 'bad_jwt', message: 'invalid claim: missing sub claim' });
    });
});

describe('verifyOtp', () => {
    it('with empty options verifies the code like any other call', async () => {
        const client = auth.client();
        const address = email('otp');
        await client.auth.signInWithOtp({ email: address });
        const code = auth.mail.otp(auth.mail.latest(address));
        const { data, error } = await client.auth.verifyOtp({ email: address, token: code, type: 'email', options: {} });
        expect(error).toBeNull();
        expect(data.session?.user.email).toBe(address);
    });

    it('an unknown phone (sms, with empty options) is 403 otp_expired "Token has expired or is invalid"', async () => {
        const { data, error } = await auth.client().auth.verifyOtp({ phone: '+15555550100', token: '123456', type: 'sms', options: {} });
        expect(error).toMatchObject({ status: 403, code: 'otp_expired', message: 'Token has expired or is invalid' });
        expect(data).toEqual({ user: null, session: null });
    });

    it('a phone that is not E.164 is 400 validation_failed "Invalid phone number format (E.164 required)"', async () => {
        for (const phone of ['not-a-phone', '+0123456', '5', '+1 555 0100 999 999 999']) {
            const { error } = await auth.client().auth.verifyOtp({ phone, token: '123456', type: 'sms' });
            expect(error, phone).toMatchObject({ status: 400, code: 'validation_failed', message: 'Invalid phone number format (E.164 required)' });
        }
    });

    it('a code with both an email and a phone, or neither, is refused as GoTrue words it', async () => {
        for (const body of [{ type: 'email', token: '123456', email: 'a@example.test', phone: '15555550100' }, { type: 'email', token: '123456' }]) {
            const response = await post('/verify', body);
            expect(response.status).toBe(400);
            expect(await response.json()).toMatchObject({ error_code: 'validation_failed', msg: 'Only an email address or phone number should be provided on verify' });
        }
    });

    it('a code for a known phone still fails alike: no SMS code is ever issued locally', async () => {
        const created = await auth.admin().auth.admin.createUser({ phone: '+1 555 555 0123', phone_confirm: true });
        expect(created.data.user?.phone).toBe('15555550123');
        for (const type of ['sms', 'phone_change'] as const) {
            const { error } = await auth.client().auth.verifyOtp({ phone: '+15555550123', token: '000000', type });
            expect(error, type).toMatchObject({ status: 403, code: 'otp_expired' });
        }
    });
});

describe('features the project leaves off', () => {
    it('web3 sign-in is 422 web3_provider_disabled "Web3 provider is disabled"', async () => {
        const response = await post('/token?grant_type=web3', { chain: 'solana', message: 'localhost wants you to sign in', signature: 'AAAA' });
        expect(response.status).toBe(422);
        expect(await response.json()).toEqual({ code: 422, error_code: 'web3_provider_disabled', msg: 'Web3 provider is disabled' });
    });

    it('an id_token from a disabled provider is 400 provider_disabled, naming its issuer', async () => {
        const { error } = await auth.client().auth.signInWithIdToken({ provider: 'google', token: 'header.payload.signature' });
        expect(error).toMatchObject({ status: 400, code: 'provider_disabled', message: 'Provider (issuer "https://accounts.google.com") is not enabled' });
        const byIssuer = await post('/token?grant_type=id_token', { id_token: 'x.y.z', issuer: 'https://appleid.apple.com', client_id: 'app' });
        expect(await byIssuer.json()).toMatchObject({ error_code: 'provider_disabled', msg: 'Provider (issuer "https://appleid.apple.com") is not enabled' });
    });

    it('an id_token grant without a token, or for an issuer nobody allowed, answers as GoTrue', async () => {
        const missing = await post('/token?grant_type=id_token', { provider: 'google' });
        expect(missing.status).toBe(400);
        expect(await missing.json()).toEqual({ error: 'invalid request', error_description: 'id_token required' });
        const custom = await post('/token?grant_type=id_token', { id_token: 'x.y.z', issuer: 'https://issuer.example.test', client_id: 'app' });
        expect(await custom.json()).toMatchObject({ error_code: 'validation_failed', msg: 'Custom OIDC provider "https://issuer.example.test" not allowed' });
    });

    it('SSO / SAML is 404 saml_provider_disabled "SAML 2.0 is disabled", for users and admins', async () => {
        const { error } = await auth.client().auth.signInWithSSO({ domain: 'example.test' });
        expect(error).toMatchObject({ status: 404, code: 'saml_provider_disabled', message: 'SAML 2.0 is disabled' });
        const metadata = await auth.fetch('/sso/saml/metadata');
        expect(metadata.status).toBe(404);
        const providers = await auth.fetch('/admin/sso/providers', { headers: asAdmin });
        expect(await providers.json()).toMatchObject({ error_code: 'saml_provider_disabled', msg: 'SAML 2.0 is disabled' });
        const anon = await auth.fetch('/admin/sso/providers', { headers: { authorization: `Bearer ${LOCAL_ANON_KEY}` } });
        expect(anon.status).toBe(403);
    });

    it('manual identity linking is 404 manual_linking_disabled "Manual linking is disabled"', async () => {
        const { client, user } = await signedIn();
        const { error } = await client.auth.linkIdentity({ provider: 'github' });
        expect(error).toMatchObject({ status: 404, code: 'manual_linking_disabled', message: 'Manual linking is disabled' });
        const identity = user.identities![0]!;
        const unlink = await client.auth.unlinkIdentity(identity);
        expect(unlink.error).toMatchObject({ status: 404, code: 'manual_linking_disabled' });
        expect(await auth.db.query('select 1 from auth.identities where id = $1', [identity.identity_id])).toHaveLength(1);
    });

    it('passkeys and the OAuth client registry are off too, with GoTrue-style 404s', async () => {
        const { client } = await signedIn();
        const start = await client.auth.passkey.startRegistration();
        expect(start.error).toMatchObject({ status: 404, code: 'passkey_disabled' });
        const clients = await auth.admin().auth.admin.oauth.listClients();
        expect(clients.error).toMatchObject({ status: 404, code: 'oauth_server_disabled' });
        expect(await auth.db.query('select 1 from auth.webauthn_challenges')).toEqual([]);
    });

    it('/settings lists the providers as they are configured', async () => {
        const settings = (await (await auth.fetch('/settings')).json()) as Record<string, unknown>;
        expect(settings).toMatchObject({
            saml_enabled: false,
            external: { email: true, phone: false, google: false, anonymous_users: true, web3_solana: false, web3_ethereum: false },
        });
    });
});
