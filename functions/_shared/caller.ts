// Who calls a function. With verify_jwt = true (the default) the platform has already
// verified the JWT's signature and expiry before the request reaches the function, so
// the claims are read here without a second verification. Decisions that matter are
// still made by the database with the same JWT (RLS and the SQL API's checks).
import { decodeJwt } from 'jose';
import { apiError } from './errors.ts';

export interface Caller {
    /** The bearer token as sent, for calls made on the caller's behalf. */
    token: string;
    role: string;
    userId?: string;
    /** Staff role from the access token hook (`user_role` claim). */
    staffRole?: string;
    aal?: string;
}

export function callerOf(request: Request): Caller {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (!token) throw apiError('unauthenticated', 'Sign in first: no bearer token');
    let claims: Record<string, unknown>;
    try {
        claims = decodeJwt(token);
    } catch {
        throw apiError('unauthenticated', 'The bearer token is not a JWT');
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { token, role: text(claims.role) ?? 'anon', userId: text(claims.sub), staffRole: text(claims.user_role), aal: text(claims.aal) };
}

/** A signed-in user (not the anon key, not the service role). */
export function signedInUser(request: Request): Caller & { userId: string } {
    const caller = callerOf(request);
    if (caller.role !== 'authenticated' || !caller.userId) throw apiError('unauthenticated', 'Sign in as a customer first');
    return caller as Caller & { userId: string };
}
