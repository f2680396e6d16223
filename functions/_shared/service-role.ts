// Functions only the platform may call (scheduled jobs, backend tools): the caller must
// present the project's service key. pg_cron's call (scheduler.cron_command) and the
// local scheduler send `Authorization: Bearer <service_role JWT>`; the gateway turns an
// opaque `sb_secret_…` key into that same JWT. verify_jwt only proves a JWT is the
// project's — an anon key or a user's token passes it — so the function checks the key.
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http.ts';

/** The keys that stand for the service role: the service_role JWT and any opaque secret keys. */
export function serviceKeys(env: { SUPABASE_SERVICE_ROLE_KEY: string; SUPABASE_SECRET_KEYS?: string }): string[] {
    const keys = [env.SUPABASE_SERVICE_ROLE_KEY];
    if (env.SUPABASE_SECRET_KEYS) {
        try {
            const secrets = JSON.parse(env.SUPABASE_SECRET_KEYS) as unknown;
            if (secrets && typeof secrets === 'object') {
                for (const value of Object.values(secrets)) if (typeof value === 'string' && value !== '') keys.push(value);
            }
        } catch {
            // Not JSON: only the service_role JWT is accepted.
        }
    }
    return keys;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** 401 without a bearer token, 403 with any token that is not a service key. */
export function requireServiceRole(request: Request, keys: readonly string[]): void {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    if (!match) throw new HttpError(401, 'unauthenticated', 'A service key is required (Authorization: Bearer …)');
    const presented = digest(match[1]!);
    // Compare digests in constant time, so the response time says nothing about the key.
    if (!keys.some((key) => timingSafeEqual(digest(key), presented))) {
        throw new HttpError(403, 'forbidden', 'Only the service role may call this function');
    }
}
