// The auth service behind the stack's API gateway, as `npm start` serves it: supabase-js
// with the opaque publishable and secret keys.
import { describe, expect, it } from 'vitest';
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-off', undefined, { gateway: true });

describe('auth behind the gateway', () => {
    it('signs up, reads the user and signs out with the publishable key', async () => {
        const client = auth.client({ key: LOCAL_PUBLISHABLE_KEY });
        const { data, error } = await client.auth.signUp({ email: email('gw'), password: 'gateway-pass-1' });
        expect(error).toBeNull();
        expect((await client.auth.getUser()).data.user?.id).toBe(data.user!.id);
        expect((await client.auth.signOut()).error).toBeNull();
    });

    it('the secret key reaches the admin API; the publishable key does not', async () => {
        const admin = auth.client({ key: LOCAL_SECRET_KEY }).auth.admin;
        const { data, error } = await admin.listUsers();
        expect(error).toBeNull();
        expect(Array.isArray(data.users)).toBe(true);
        const refused = await auth.client({ key: LOCAL_PUBLISHABLE_KEY }).auth.admin.listUsers();
        expect(refused.error).toMatchObject({ status: 403, code: 'not_admin' });
    });

    it('an anon-key request to /user without a user token is 403 bad_jwt', async () => {
        const { error } = await auth.client({ key: LOCAL_PUBLISHABLE_KEY }).auth.getUser('not-a-jwt');
        expect(error?.status).toBe(403);
    });
});

describe('requests without an API key', () => {
    it('are refused before they reach Auth: no user is created', async () => {
        const address = email('nokey');
        const response = await fetch(`${auth.url}/auth/v1/signup`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: address, password: 'gateway-pass-1' }),
        });
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({ message: 'No API key found in request' });
        expect(await auth.db.query('select 1 from auth.users where email = $1', [address])).toEqual([]);
        for (const path of ['/auth/v1/health', '/auth/v1/settings', '/auth/v1/user']) {
            expect((await fetch(`${auth.url}${path}`)).status, path).toBe(401);
        }
    });

    it('the mailed /verify link and the JWKS still work without one', async () => {
        const address = email('link');
        const { data } = await auth.client({ key: LOCAL_SECRET_KEY }).auth.admin.generateLink({ type: 'magiclink', email: address });
        const response = await fetch(data.properties!.action_link, { redirect: 'manual' });
        expect(response.status).toBe(303);
        expect(new URLSearchParams(new URL(response.headers.get('location')!).hash.slice(1)).get('access_token')).toBeTruthy();
        expect((await fetch(`${auth.url}/auth/v1/.well-known/jwks.json`)).status).toBe(200);
    });
});
