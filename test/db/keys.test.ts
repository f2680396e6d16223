// The local keys are the ones `supabase start` prints: HS256 JWTs of the local secret.
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';

const secret = new TextEncoder().encode(LOCAL_JWT_SECRET);

describe('local keys', () => {
    it.each([
        [LOCAL_ANON_KEY, 'anon'],
        [LOCAL_SERVICE_ROLE_KEY, 'service_role'],
    ])('%s verifies with the local JWT secret and carries its role', async (key, role) => {
        const { payload } = await jwtVerify(key, secret);
        expect(payload).toEqual({ iss: 'supabase-demo', role, exp: 1983812996 });
    });
});
