// Asymmetric signing keys from signing_keys_path: tokens are ES256 with the key's kid, the
// public half is published at /.well-known/jwks.json, and supabase-js verifies locally.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('signing-keys');

describe('asymmetric signing keys', () => {
    it('publishes only the public key, and issued tokens verify against it', async () => {
        const jwks = (await (await auth.fetch('/.well-known/jwks.json')).json()) as { keys: Array<Record<string, unknown>> };
        expect(jwks.keys).toHaveLength(1);
        expect(jwks.keys[0]).toMatchObject({ kty: 'EC', kid: 'test-es256-key', crv: 'P-256' });
        expect(jwks.keys[0]!.d).toBeUndefined();
        const client = auth.client();
        const { data } = await client.auth.signUp({ email: email('es256'), password: 'es256-pass-1' });
        const token = data.session!.access_token;
        expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'test-es256-key', typ: 'JWT' });
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never));
        expect(payload.sub).toBe(data.user!.id);
        const claims = await client.auth.getClaims();
        expect(claims.error).toBeNull();
        expect(claims.data?.claims.sub).toBe(data.user!.id);
        expect((await client.auth.getUser()).error).toBeNull();
    });
});
