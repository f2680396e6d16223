// The API keys of a project, derived from its JWT secret: the legacy anon/service_role
// JWTs (the CLI's fixed ones for the default secret, re-signed for a custom one) and the
// opaque publishable/secret keys that stand for them.
import { SignJWT } from 'jose';
import type { JwtKeys } from '../jwt.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../keys.js';

export interface ApiKeys {
    anon: string;
    serviceRole: string;
    publishable: string;
    secret: string;
}

const EXPIRY = 1983812996;

export async function apiKeysFor(jwt: JwtKeys): Promise<ApiKeys> {
    if (jwt.secret === LOCAL_JWT_SECRET) {
        return { anon: LOCAL_ANON_KEY, serviceRole: LOCAL_SERVICE_ROLE_KEY, publishable: LOCAL_PUBLISHABLE_KEY, secret: LOCAL_SECRET_KEY };
    }
    const secret = new TextEncoder().encode(jwt.secret);
    const sign = (role: string) =>
        new SignJWT({ iss: 'supabase-demo', role }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setExpirationTime(EXPIRY).sign(secret);
    return { anon: await sign('anon'), serviceRole: await sign('service_role'), publishable: LOCAL_PUBLISHABLE_KEY, secret: LOCAL_SECRET_KEY };
}
