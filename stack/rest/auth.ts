// Who is asking: the role and claims of a request, from its JWT (Authorization: Bearer, or
// a JWT in apikey when there is no Authorization), or the anonymous role.
import { createJwtVerifier, JwtError, type JwtKeys } from '../jwt.js';
import { ApiError } from './errors.js';

export interface Identity {
    role: string;
    claims: Record<string, unknown>;
    /** `claims` as the JSON text of `request.jwt.claims` (computed once per token). */
    claimsJson: string;
    /** Whether a JWT carried the role (42501 is 403 then, 401 for anon). */
    authenticated: boolean;
}

export const ANON_ROLE = 'anon';
const ANONYMOUS: Identity = Object.freeze({ role: ANON_ROLE, claims: Object.freeze({ role: ANON_ROLE }), claimsJson: JSON.stringify({ role: ANON_ROLE }), authenticated: false });
const CLOCK_SKEW_SECONDS = 30;

/**
 * A token jose rejected on its time claims may still pass PostgREST's 30 s clock skew;
 * anything else maps to PostgREST's JWT error texts.
 */
async function acceptWithinSkew(error: unknown, token: string, payload: Record<string, unknown>, now: number, keys: JwtKeys): Promise<void> {
    const msg = error instanceof Error ? error.message : '';
    if (error instanceof JwtError && error.reason === 'expired') {
        // jose checks the signature before the claims: an expired token is authentic.
        if (typeof payload.exp === 'number' && payload.exp + CLOCK_SKEW_SECONDS > now) return;
        throw jwtError('PGRST303', 'JWT expired');
    }
    if (/nbf|not active/i.test(msg)) {
        if (typeof payload.nbf === 'number' && payload.nbf <= now + CLOCK_SKEW_SECONDS) return verifySignatureOnly(token, keys);
        throw jwtError('PGRST303', 'JWT not yet valid');
    }
    if (/iat/i.test(msg)) throw jwtError('PGRST303', 'JWT issued at future');
    if (/unsupported JWT algorithm/i.test(msg)) throw jwtError('PGRST301', 'Wrong or unsupported encoding algorithm');
    throw jwtError('PGRST301', 'JWT cryptographic operation failed');
}

/** Signature check without claim validation (for tokens inside the clock-skew window). */
async function verifySignatureOnly(token: string, keys: JwtKeys): Promise<void> {
    const { compactVerify } = await import('jose');
    try {
        await compactVerify(token, new TextEncoder().encode(keys.secret));
    } catch {
        throw jwtError('PGRST301', 'JWT cryptographic operation failed');
    }
}

function jwtError(code: 'PGRST301' | 'PGRST303', message: string): ApiError {
    return new ApiError(401, code, message, null, null, {
        'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"`,
    });
}

export function createAuthenticator(keys: JwtKeys): (headers: Headers) => Promise<Identity> {
    const verify = createJwtVerifier(keys);
    const cache = new Map<string, { identity: Identity; exp: number | undefined }>();
    return async (headers) => {
        let token: string | undefined;
        const authorization = headers.get('authorization');
        if (authorization !== null) {
            const m = /^bearer\s*(.*)$/i.exec(authorization.trim());
            if (m) {
                token = m[1]!.trim();
                if (!token) throw jwtError('PGRST301', 'Empty JWT is sent in Authorization header');
            }
        } else {
            const apikey = headers.get('apikey');
            if (apikey && apikey.split('.').length === 3) token = apikey.trim();
        }
        if (token === undefined) return ANONYMOUS;

        const now = Math.floor(Date.now() / 1000);
        const hit = cache.get(token);
        if (hit && (hit.exp === undefined || hit.exp + CLOCK_SKEW_SECONDS > now)) return hit.identity;

        const parts = token.split('.');
        if (parts.length !== 3) throw jwtError('PGRST301', `Expected 3 parts in JWT; got ${parts.length}`);
        let header: { alg?: unknown };
        let payload: Record<string, unknown>;
        try {
            header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown };
            payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
            if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Error('claims');
        } catch {
            throw jwtError('PGRST301', 'JWT cryptographic operation failed');
        }
        if (!['HS256', 'HS384', 'HS512', 'RS256', 'ES256'].includes(String(header.alg))) throw jwtError('PGRST301', 'Wrong or unsupported encoding algorithm');
        try {
            await verify(token);
        } catch (error) {
            await acceptWithinSkew(error, token, payload, now, keys);
        }
        if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_SKEW_SECONDS) throw jwtError('PGRST303', 'JWT issued at future');
        const role = typeof payload.role === 'string' && payload.role ? payload.role : ANON_ROLE;
        // PostgREST answers 401 rather than 403 to the anonymous role (even with the anon key JWT).
        const identity: Identity = { role, claims: payload, claimsJson: JSON.stringify(payload), authenticated: role !== ANON_ROLE };
        if (cache.size > 1000) cache.clear();
        cache.set(token, { identity, exp: typeof payload.exp === 'number' ? payload.exp : undefined });
        return identity;
    };
}
