// Request plumbing shared by the handlers: JSON bodies checked with zod (GoTrue's bad_json
// on malformed input), JSON responses, and the bearer-token authentication of /user,
// /logout, /factors, /passkeys and the admin API.
import { z } from 'zod';
import { JwtError } from '../jwt.js';
import type { AuthContext } from './context.js';
import { AuthError, badRequest, forbidden, unauthorized } from './errors.js';
import { findSession, type SessionRecord } from './tokens.js';
import { findUserById, type LoadedUser } from './users.js';

export async function readBody<S extends z.ZodTypeAny>(request: Request, schema: S): Promise<z.infer<S>> {
    const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
    let raw: unknown = {};
    if (text.trim()) {
        try {
            raw = JSON.parse(text);
        } catch (error) {
            throw badRequest('bad_json', `Could not parse request body as JSON: ${(error as Error).message}`);
        }
    }
    if (raw === null) raw = {};
    const result = schema.safeParse(raw);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        const field = issue.path.join('.') || 'body';
        throw badRequest('bad_json', `Could not parse request body as JSON: field ${field}: ${issue.message}`);
    }
    return result.data;
}

/** Optional string fields accept null like Go's zero values. */
export const optString = z
    .string()
    .nullish()
    .transform((v) => v ?? '');
export const optRecord = z.record(z.string(), z.unknown()).nullish();

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export interface Claims {
    sub?: string;
    role?: string;
    session_id?: string;
    aal?: string;
    amr?: Array<{ method: string; timestamp: number }>;
    [key: string]: unknown;
}

export function bearerToken(request: Request): string | null {
    const header = request.headers.get('authorization');
    if (!header) return null;
    const match = /^bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
}

/** Verifies the bearer JWT (GoTrue's requireAuthentication). */
export async function requireClaims(ctx: AuthContext, request: Request): Promise<Claims> {
    const token = bearerToken(request);
    if (!token) throw unauthorized('no_authorization', 'This endpoint requires a Bearer token');
    try {
        return (await ctx.verify(token)) as Claims;
    } catch (error) {
        const reason = error instanceof JwtError && error.reason === 'expired' ? 'token has invalid claims: token is expired' : 'signature is invalid';
        throw forbidden('bad_jwt', `invalid JWT: unable to parse or verify signature, ${reason}`);
    }
}

export interface Authenticated {
    claims: Claims;
    user: LoadedUser;
    session: SessionRecord | null;
}

/** The signed-in user and session of the bearer token; 403s as GoTrue words them. */
export async function requireUser(ctx: AuthContext, request: Request): Promise<Authenticated> {
    const claims = await requireClaims(ctx, request);
    if (!claims.sub) throw forbidden('bad_jwt', 'invalid claim: missing sub claim');
    const user = await findUserById(ctx.pool, claims.sub);
    if (!user) throw forbidden('user_not_found', 'User from sub claim in JWT does not exist');
    let session: SessionRecord | null = null;
    if (claims.session_id) {
        session = await findSession(ctx.pool, claims.session_id);
        if (!session) throw forbidden('session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    return { claims, user, session };
}

const ADMIN_ROLES = new Set(['service_role', 'supabase_admin']);

export async function requireAdmin(ctx: AuthContext, request: Request): Promise<Claims> {
    const claims = await requireClaims(ctx, request);
    if (!claims.role || !ADMIN_ROLES.has(claims.role)) throw forbidden('not_admin', 'User not allowed');
    return claims;
}

export function isAuthError(error: unknown): error is AuthError {
    return error instanceof AuthError;
}
