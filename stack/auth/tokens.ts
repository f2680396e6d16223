// Sessions, refresh tokens and access tokens: a session row per sign-in with its AMR
// claims, rotating refresh tokens, and the signed access token (hook applied) returned as
// GoTrue's AccessTokenResponse.
import { randomBytes, randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterCommit, audit, type AuthContext, type RequestFacts, type Tx } from './context.js';
import { runCustomAccessTokenHook } from './hook.js';
import { INSTANCE_ID } from './user-rows.js';
import { findUserById, userJson, type LoadedUser } from './users.js';

export interface SessionRecord {
    id: string;
    user_id: string;
    created_at: Date;
    updated_at: Date;
    factor_id: string | null;
    aal: string | null;
    not_after: Date | null;
    refreshed_at: Date | null;
}

export interface RefreshTokenRecord {
    id: string;
    token: string;
    user_id: string;
    revoked: boolean;
    created_at: Date;
    updated_at: Date;
    parent: string | null;
    session_id: string | null;
}

const AAL2_METHODS = new Set(['totp', 'phone', 'webauthn', 'mfa/totp', 'mfa/phone', 'mfa/webauthn']);

/** GoTrue's refresh tokens: short random alphanumeric strings. */
export function newRefreshTokenString(): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return Array.from(randomBytes(12), (b) => alphabet[b % alphabet.length]).join('');
}

let cachedSigner: { keys: AuthContext['jwt']; key: Awaited<ReturnType<typeof importJWK>>; jwk: JWK } | undefined;

async function signingKey(ctx: AuthContext): Promise<{ alg: string; kid?: string; key: Awaited<ReturnType<typeof importJWK>> | Uint8Array }> {
    const jwk = ctx.jwt.signingKeys.find((k) => typeof k.d === 'string' && (k.kty === 'RSA' || k.kty === 'EC'));
    if (!jwk) return { alg: 'HS256', key: new TextEncoder().encode(ctx.jwt.secret) };
    const alg = jwk.alg ?? (jwk.kty === 'RSA' ? 'RS256' : 'ES256');
    // key_ops of a shared JWK file usually lists "verify" too, which WebCrypto refuses on a private key.
    const { key_ops: _ops, use: _use, ...material } = jwk;
    if (!cachedSigner || cachedSigner.keys !== ctx.jwt) cachedSigner = { keys: ctx.jwt, key: await importJWK(material, alg), jwk };
    return { alg, kid: jwk.kid, key: cachedSigner.key };
}

export async function signJwt(ctx: AuthContext, claims: Record<string, unknown>): Promise<string> {
    const { alg, kid, key } = await signingKey(ctx);
    return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
}

async function amrOf(tx: Tx, sessionId: string): Promise<{ aal: string; amr: Array<{ method: string; timestamp: number }> }> {
    const { rows } = await tx.query<{ authentication_method: string; updated_at: Date }>(
        'select authentication_method, updated_at from auth.mfa_amr_claims where session_id = $1',
        [sessionId],
    );
    let aal = 'aal1';
    const amr = rows.map((r) => {
        if (AAL2_METHODS.has(r.authentication_method)) aal = 'aal2';
        return { method: r.authentication_method, timestamp: Math.floor(r.updated_at.getTime() / 1000) };
    });
    amr.sort((a, b) => b.timestamp - a.timestamp);
    return { aal, amr };
}

/** Signs the access token of `session` for `user`, running the custom access token hook. */
export async function accessToken(
    ctx: AuthContext,
    tx: Tx,
    user: LoadedUser,
    session: SessionRecord,
    authenticationMethod: string,
): Promise<{ token: string; expiresAt: number }> {
    const issuedAt = Math.floor(ctx.now().getTime() / 1000);
    const expiresAt = issuedAt + ctx.settings.jwtExpiry;
    const { aal, amr } = await amrOf(tx, session.id);
    let claims: Record<string, unknown> = {
        iss: ctx.issuer,
        sub: user.id,
        aud: user.aud || 'authenticated',
        exp: expiresAt,
        iat: issuedAt,
        email: user.email ?? '',
        phone: user.phone ?? '',
        app_metadata: user.raw_app_meta_data ?? {},
        user_metadata: user.raw_user_meta_data ?? {},
        role: user.role || 'authenticated',
        aal,
        amr,
        session_id: session.id,
        is_anonymous: user.is_anonymous,
    };
    const hook = ctx.settings.customAccessTokenHook;
    if (hook) claims = await runCustomAccessTokenHook(tx, hook, { user_id: user.id, claims, authentication_method: authenticationMethod });
    const exp = typeof claims.exp === 'number' ? claims.exp : expiresAt;
    return { token: await signJwt(ctx, claims), expiresAt: exp };
}

export interface TokenResponse {
    access_token: string;
    token_type: 'bearer';
    expires_in: number;
    expires_at: number;
    refresh_token: string;
    user: Record<string, unknown>;
    weak_password?: { message: string; reasons: string[] };
}

export async function tokenResponse(
    ctx: AuthContext,
    tx: Tx,
    user: LoadedUser,
    session: SessionRecord,
    refreshToken: string,
    authenticationMethod: string,
): Promise<TokenResponse> {
    const fresh = (await findUserById(tx, user.id)) ?? user;
    const { token, expiresAt } = await accessToken(ctx, tx, fresh, session, authenticationMethod);
    return {
        access_token: token,
        token_type: 'bearer',
        expires_in: ctx.settings.jwtExpiry,
        expires_at: expiresAt,
        refresh_token: refreshToken,
        user: userJson(fresh),
    };
}

export async function insertRefreshToken(ctx: AuthContext, tx: Tx, userId: string, sessionId: string, parent: string | null): Promise<RefreshTokenRecord> {
    const now = ctx.now();
    const { rows } = await tx.query<RefreshTokenRecord>(
        `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
         values ($1, $2, $3, false, $4, $4, $5, $6) returning *`,
        [INSTANCE_ID, newRefreshTokenString(), userId, now, parent, sessionId],
    );
    return rows[0]!;
}

export async function addAmrClaim(ctx: AuthContext, tx: Tx, sessionId: string, method: string): Promise<void> {
    const now = ctx.now();
    await tx.query(
        `insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
         values ($1, $2, $2, $3, $4)
         on conflict (session_id, authentication_method) do update set updated_at = excluded.updated_at`,
        [sessionId, now, method, randomUUID()],
    );
}

/**
 * Signs `user` in: a new session (aal1) with one AMR claim, a refresh token, and the
 * token response; last_sign_in_at and the audit log updated.
 */
export async function issueSession(
    ctx: AuthContext,
    tx: Tx,
    facts: RequestFacts,
    user: LoadedUser,
    authenticationMethod: string,
    auditAction: string | null = 'login',
): Promise<TokenResponse> {
    const now = ctx.now();
    const { rows } = await tx.query<SessionRecord>(
        `insert into auth.sessions (id, user_id, created_at, updated_at, aal, refreshed_at, user_agent, ip)
         values ($1, $2, $3, $3, 'aal1', null, $4, $5) returning *`,
        [randomUUID(), user.id, now, facts.userAgent, normaliseIp(facts.ip)],
    );
    const session = rows[0]!;
    await addAmrClaim(ctx, tx, session.id, authenticationMethod);
    const refresh = await insertRefreshToken(ctx, tx, user.id, session.id, null);
    await tx.query('update auth.users set last_sign_in_at = $2, updated_at = $2 where id = $1', [user.id, now]);
    await tx.query('update auth.identities set last_sign_in_at = $2 where user_id = $1', [user.id, now]);
    if (auditAction) await audit(ctx, tx, facts, user, auditAction, { provider: providerOf(user, authenticationMethod) });
    const response = await tokenResponse(ctx, tx, user, session, refresh.token, authenticationMethod);
    // This client proved it is the user's: the per-account password budget no longer binds it.
    afterCommit(tx, async () => ctx.limits.recentSignIns.add(user.id, facts.ip));
    return response;
}

function providerOf(user: LoadedUser, method: string): string {
    if (method === 'anonymous') return 'anonymous';
    const provider = user.raw_app_meta_data?.provider;
    return typeof provider === 'string' ? provider : 'email';
}

export function normaliseIp(ip: string): string | null {
    const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
    if (v4mapped) return v4mapped[1]!;
    return /^[0-9a-f.:]+$/i.test(ip) ? ip : null;
}

export async function findSession(tx: Pick<Tx, 'query'>, id: string): Promise<SessionRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const { rows } = await tx.query<SessionRecord>('select * from auth.sessions where id = $1', [id]);
    return rows[0] ?? null;
}
