// The auth service with the product's own supabase/config.toml and migrations: the
// commerce access token hook sets user_role from public.staff, the profile trigger on
// auth.users fires for sign-ups, and TOTP MFA is enabled.
import { decodeJwt } from 'jose';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

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
});
