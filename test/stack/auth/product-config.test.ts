// The auth service with the product's own supabase/config.toml and migrations: the
// commerce access token hook sets user_role from public.staff, the profile trigger on
// auth.users fires for sign-ups, and TOTP and WebAuthn MFA are enabled — a security key's
// aal2 satisfies the shop's aal2 policies.
import { decodeJwt } from 'jose';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { email, useAuthService } from '../../harness/auth.js';
import { asBrowserCredential, optionsJson, SoftwareAuthenticator } from '../../harness/webauthn.js';

const auth = useAuthService('product');

describe('auth with the product configuration', () => {
    it('a sign-up gets a profile, and staff get their role claim from the hook', async () => {
        const address = email('staff');
        const client = auth.client();
        const { data, error } = await client.auth.signUp({ email: address, password: 'staff-pass-1' });
        expect(error).toBeNull();
        expect(decodeJwt(data.session!.access_token).user_role).toBeUndefined();
        const profiles = await auth.db.query<{ id: string }>('select id from public.profiles where id = $1', [data.user!.id]);
        expect(profiles).toHaveLength(1);
        await auth.db.query(`insert into public.staff (user_id, role) values ($1, 'finance')`, [data.user!.id]);
        const signIn = await auth.client().auth.signInWithPassword({ email: address, password: 'staff-pass-1' });
        expect(decodeJwt(signIn.data.session!.access_token).user_role).toBe('finance');
    });

    it('staff can raise their session to aal2 with TOTP', async () => {
        const client = auth.client();
        await client.auth.signUp({ email: email('mfa'), password: 'staff-pass-1' });
        const { data: factor, error } = await client.auth.mfa.enroll({ factorType: 'totp' });
        expect(error).toBeNull();
        if (factor?.type !== 'totp') throw new Error('not totp');
        const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(factor.totp.secret) }).generate();
        const verified = await client.auth.mfa.challengeAndVerify({ factorId: factor.id, code });
        expect(verified.error).toBeNull();
        expect(decodeJwt(verified.data!.access_token).aal).toBe('aal2');
    });

    it('an admin who verified a security key (WebAuthn MFA) may add staff; the same admin at aal1 may not', async () => {
        const address = email('admin-key');
        const signUp = await auth.client().auth.signUp({ email: address, password: 'staff-pass-1' });
        const adminId = signUp.data.user!.id;
        await auth.db.query(`insert into public.staff (user_id, role) values ($1, 'admin')`, [adminId]);
        const client = auth.client();
        const { data: session } = await client.auth.signInWithPassword({ email: address, password: 'staff-pass-1' });
        const { data: factor } = await client.auth.mfa.webauthn.enroll({ friendlyName: 'desk key' });
        const rp = { rpId: 'localhost', rpOrigins: ['http://localhost:3000'] };
        const { data: created } = await client.auth.mfa.challenge({ factorId: factor!.id, webauthn: rp });
        if (created?.type !== 'webauthn') throw new Error('not a webauthn challenge');
        const credential = new SoftwareAuthenticator('http://localhost:3000').create(optionsJson<PublicKeyCredentialCreationOptionsJSON>(created.webauthn.credential_options.publicKey));
        const { data: aal2, error } = await client.auth.mfa.verify({ factorId: factor!.id, challengeId: created.id, webauthn: { type: 'create', ...rp, credential_response: asBrowserCredential(credential) } });
        expect(error).toBeNull();
        const claims = decodeJwt(aal2!.access_token);
        expect(claims).toMatchObject({ aal: 'aal2', user_role: 'admin' });
        const newcomer = await auth.client().auth.signUp({ email: email('newcomer'), password: 'staff-pass-1' });
        const addStaff = (token: string, role: string) =>
            auth.db.asRole('authenticated', decodeJwt(token), (q) => q(`insert into public.staff (user_id, role) values ($1, $2)`, [newcomer.data.user!.id, role]));
        await expect(addStaff(session.session!.access_token, 'warehouse')).rejects.toMatchObject({ code: '42501' });
        await addStaff(aal2!.access_token, 'warehouse');
        expect(await auth.db.query('select role from public.staff where user_id = $1', [newcomer.data.user!.id])).toEqual([{ role: 'warehouse' }]);
    });
});
