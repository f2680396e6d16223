// Who a socket or channel acts as: a JWT signed with the project's keys, carrying `role`
// and a future `exp` (Realtime requires both). Expiry is judged by the injected clock,
// so tests move time instead of waiting for it.
import { decodeJwt } from 'jose';
import { createJwtVerifier, JwtError, type JwtKeys } from '../jwt.js';
import type { Clock } from './clock.js';
import { RealtimeErrors } from './errors.js';

export interface Identity {
    token: string;
    role: string;
    claims: Record<string, unknown>;
    /** Expiry, seconds since the epoch. */
    exp: number;
}

export type TokenCheck = { ok: true; identity: Identity } | { ok: false; reason: TokenFailure; message: string };
export type TokenFailure = 'malformed' | 'signature' | 'expired' | 'claims';

export type TokenVerifier = (token: string) => Promise<TokenCheck>;

export function createTokenVerifier(keys: JwtKeys, clock: Clock): TokenVerifier {
    const verify = createJwtVerifier(keys);
    return async (token) => {
        let claims: Record<string, unknown>;
        try {
            claims = decodeJwt(token) as Record<string, unknown>;
        } catch {
            return { ok: false, reason: 'malformed', message: RealtimeErrors.malformedJwt };
        }
        const now = Math.floor(clock.now() / 1000);
        if (typeof claims.exp === 'number' && claims.exp <= now) {
            return { ok: false, reason: 'expired', message: RealtimeErrors.tokenExpired(now - claims.exp) };
        }
        try {
            await verify(token);
        } catch (error) {
            if (error instanceof JwtError && error.reason === 'expired' && typeof claims.exp === 'number') {
                return { ok: false, reason: 'expired', message: RealtimeErrors.tokenExpired(Math.max(0, now - claims.exp)) };
            }
            return { ok: false, reason: 'signature', message: RealtimeErrors.signature };
        }
        if (typeof claims.role !== 'string' || !claims.role || typeof claims.exp !== 'number') {
            return { ok: false, reason: 'claims', message: RealtimeErrors.missingClaims };
        }
        return { ok: true, identity: { token, role: claims.role, claims, exp: claims.exp } };
    };
}
