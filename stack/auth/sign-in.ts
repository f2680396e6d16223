// Sign-up (email + password, anonymous), the token grants (password, refresh_token with
// rotation and reuse interval, pkce), magic link / email OTP and logout.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { confirmEmail, createUser } from './accounts.js';
import { idTokenGrant, web3Grant } from './external.js';
import { audit, CommitWithError, transaction, transactionCommittingErrors, type AuthContext, type RequestFacts } from './context.js';
import { AuthError, badRequest, INVALID_LOGIN, tooManyRequests, unprocessable } from './errors.js';
import { sendConfirmation, sendRecoveryToken } from './one-time-tokens.js';
import { checkPasswordStrength, passwordMatches, passwordWeakness } from './passwords.js';
import { consumeAuthCode, createFlowState, flowOf } from './pkce.js';
import { redirectTarget } from './redirects.js';
import { json, optRecord, optString, readBody, requireUser } from './request.js';
import { findSession, insertRefreshToken, issueSession, tokenResponse, type RefreshTokenRecord } from './tokens.js';
import { findUserByEmail, findUserById, findUserByPhone, isBanned, isConfirmed, userJson, type LoadedUser } from './users.js';
import { formatPhone, validateEmail } from './validation.js';

const rateLimited = () => tooManyRequests('over_request_rate_limit', 'Request rate limit reached');

const SignupBody = z
    .object({
        email: optString,
        phone: optString,
        password: optString,
        data: optRecord,
        code_challenge: optString,
        code_challenge_method: optString,
        channel: optString,
    })
    .passthrough();

export async function signup(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const body = await readBody(request, SignupBody);
    const anonymous = !body.email && !body.phone;
    if (anonymous && !ctx.limits.anonymous.take(facts.ip)) throw rateLimited();
    if (!ctx.settings.enableSignup) throw unprocessable('signup_disabled', 'Signups not allowed for this instance');
    if (anonymous) return signupAnonymously(ctx, facts, body.data ?? {});
    if (body.phone && !body.email) throw badRequest('phone_provider_disabled', 'Phone signups are disabled');
    if (!ctx.settings.email.enabled) throw unprocessable('email_provider_disabled', 'Email signups are disabled');
    const email = validateEmail(body.email);
    if (!body.password) throw unprocessable('validation_failed', 'Signup requires a valid password');
    checkPasswordStrength(ctx.settings, body.password);
    const flow = flowOf(body);
    const redirectTo = redirectTarget(ctx, facts);
    const { autoconfirm } = ctx.settings.email;

    const outcome = await transaction(ctx, async (tx) => {
        let user = await findUserByEmail(tx, email);
        // With autoconfirm an unconfirmed account (admin-created) is not handed to whoever signs up with its address.
        if (user && (isConfirmed(user) || autoconfirm)) {
            await audit(ctx, tx, facts, user, 'user_repeated_signup', { provider: 'email' });
            return { kind: 'exists' } as const;
        }
        if (!user) {
            user = await createUser(ctx, tx, { email, password: body.password, userMetadata: body.data ?? {} });
        }
        if (autoconfirm) {
            await audit(ctx, tx, facts, user, 'user_signedup', { provider: 'email' });
            await confirmEmail(ctx, tx, user);
            const fresh = (await findUserById(tx, user.id))!;
            return { kind: 'session', session: await issueSession(ctx, tx, facts, fresh, 'password', null) } as const;
        }
        await audit(ctx, tx, facts, user, 'user_confirmation_requested', { provider: 'email' });
        if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email/signup', body);
        await sendConfirmation(ctx, tx, user, { redirectTo, flow });
        return { kind: 'user', user: (await findUserById(tx, user.id))! } as const;
    });
    if (outcome.kind === 'session') return json(200, outcome.session);
    if (outcome.kind === 'user') return json(200, userJson(outcome.user));
    // Email taken: with confirmations on, answer like a fresh sign-up so addresses cannot be enumerated.
    if (autoconfirm) throw unprocessable('user_already_exists', 'User already registered');
    return json(200, obfuscatedUser(ctx, email, body.data ?? {}));
}

function obfuscatedUser(ctx: AuthContext, email: string, data: Record<string, unknown>): Record<string, unknown> {
    const now = ctx.now().toISOString();
    const id = [4, 2, 2, 2, 6].map((n) => randomBytes(n).toString('hex')).join('-');
    return {
        id: `${id.slice(0, 14)}4${id.slice(15, 19)}8${id.slice(20)}`,
        aud: 'authenticated',
        role: '',
        email,
        phone: '',
        confirmation_sent_at: now,
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: data,
        identities: [],
        created_at: now,
        updated_at: now,
        is_anonymous: false,
    };
}

async function signupAnonymously(ctx: AuthContext, facts: RequestFacts, data: Record<string, unknown>): Promise<Response> {
    if (!ctx.settings.anonymousSignIns) throw unprocessable('anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
    const session = await transaction(ctx, async (tx) => {
        const user = await createUser(ctx, tx, { isAnonymous: true, userMetadata: data });
        await audit(ctx, tx, facts, user, 'user_signedup', { provider: 'anonymous' });
        return issueSession(ctx, tx, facts, user, 'anonymous', null);
    });
    return json(200, session);
}

const PasswordGrantBody = z.object({ email: optString, phone: optString, password: optString }).passthrough();
const RefreshGrantBody = z.object({ refresh_token: optString }).passthrough();
const PkceGrantBody = z.object({ auth_code: optString, code_verifier: optString }).passthrough();

export async function token(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const grantType = facts.url.searchParams.get('grant_type');
    switch (grantType) {
        case 'password':
            return passwordGrant(ctx, request, facts);
        case 'refresh_token':
            return refreshGrant(ctx, request, facts);
        case 'pkce':
            return pkceGrant(ctx, request, facts);
        case 'id_token':
            return idTokenGrant(ctx, request);
        case 'web3':
            return web3Grant(ctx, request);
        default:
            throw badRequest('validation_failed', 'unsupported_grant_type');
    }
}

async function passwordGrant(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    if (ctx.limits.signInSignUp.exhausted(facts.ip)) throw rateLimited();
    const body = await readBody(request, PasswordGrantBody);
    if (body.email && body.phone) throw badRequest('validation_failed', 'Only an email address or phone number should be provided on login.');
    if (!body.email && !body.phone) throw badRequest('validation_failed', 'missing email or phone');
    if (body.phone && !ctx.settings.phoneEnabled) throw badRequest('phone_provider_disabled', 'Phone logins are disabled');
    if (body.email && !ctx.settings.email.enabled) throw badRequest('email_provider_disabled', 'Email logins are disabled');
    // The account's name: its address, or its number as GoTrue stores it (no "+" or spaces).
    const account = body.email ? body.email.toLowerCase() : formatPhone(body.phone);
    const user = body.email ? await findUserByEmail(ctx.pool, account) : await findUserByPhone(ctx.pool, account);
    // The account's failure budget binds only clients that have not signed in to it lately:
    // a guessing campaign against the account cannot lock its owner out of a known device.
    const known = !!user && ctx.limits.recentSignIns.has(user.id, facts.ip);
    if (!known && ctx.limits.signInPerEmail.exhausted(account)) throw rateLimited();
    // Always one bcrypt comparison: the response time does not tell whether the email exists.
    const ok = await passwordMatches(body.password, user?.encrypted_password);
    if (!user || !ok) {
        ctx.limits.signInSignUp.take(facts.ip);
        // One IP adds at most its share to the account's budget, so a single stranger cannot exhaust it.
        if (!known && ctx.limits.signInShare.take(`${account}|${facts.ip}`)) ctx.limits.signInPerEmail.take(account);
        throw badRequest('invalid_credentials', INVALID_LOGIN);
    }
    if (isBanned(user, ctx.now())) throw badRequest('user_banned', 'User is banned');
    if (body.email && !user.email_confirmed_at) throw badRequest('email_not_confirmed', 'Email not confirmed');
    if (body.phone && !user.phone_confirmed_at) throw badRequest('phone_not_confirmed', 'Phone not confirmed');
    const weakness = passwordWeakness(ctx.settings, body.password);
    const session = await transaction(ctx, (tx) => issueSession(ctx, tx, facts, user, 'password'));
    if (weakness) session.weak_password = weakness;
    return json(200, session);
}

async function refreshGrant(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    if (!ctx.limits.tokenRefresh.take(facts.ip)) throw rateLimited();
    const body = await readBody(request, RefreshGrantBody);
    if (!body.refresh_token) throw badRequest('validation_failed', 'refresh_token required');
    const notFoundError = () => badRequest('refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    const response = await transactionCommittingErrors(ctx, async (tx) => {
        const now = ctx.now();
        const { rows } = await tx.query<RefreshTokenRecord>('select * from auth.refresh_tokens where token = $1 for update', [body.refresh_token]);
        const current = rows[0];
        if (!current || !current.session_id) throw notFoundError();
        const user = await findUserById(tx, current.user_id);
        if (!user) throw notFoundError();
        if (isBanned(user, now)) throw badRequest('user_banned', 'Invalid Refresh Token: User Banned');
        await tx.query('select 1 from auth.sessions where id = $1 for update', [current.session_id]);
        const session = await findSession(tx, current.session_id);
        if (!session) throw notFoundError();
        const expired = () => new CommitWithError(badRequest('session_expired', 'Invalid Refresh Token: Session Expired'));
        const { timeboxMs, inactivityTimeoutMs } = ctx.settings.sessions;
        if (session.not_after && session.not_after.getTime() < now.getTime()) throw expired();
        if (timeboxMs && session.created_at.getTime() + timeboxMs < now.getTime()) throw expired();
        const lastActive = session.refreshed_at ? Date.parse(`${isoNaive(session.refreshed_at)}Z`) : session.created_at.getTime();
        if (inactivityTimeoutMs && lastActive + inactivityTimeoutMs < now.getTime()) throw expired();

        let issued: RefreshTokenRecord;
        if (current.revoked) {
            const { rows: active } = await tx.query<RefreshTokenRecord>(
                'select * from auth.refresh_tokens where session_id = $1 and revoked = false order by id desc limit 1',
                [session.id],
            );
            const child = active[0];
            const reuseUntil = current.updated_at.getTime() + ctx.settings.refreshTokenReuseInterval * 1000;
            if (!child || now.getTime() > reuseUntil) {
                // Reuse outside the interval: treat as theft and revoke the whole session's family.
                if (ctx.settings.refreshTokenRotation) {
                    await tx.query('update auth.refresh_tokens set revoked = true where session_id = $1 and revoked = false', [session.id]);
                }
                throw new CommitWithError(badRequest('refresh_token_already_used', 'Invalid Refresh Token: Already Used'));
            }
            // Inside the interval: the client lost the response; hand back the current child.
            issued = child.parent === current.token ? child : await insertRefreshToken(ctx, tx, user.id, session.id, current.token);
        } else if (ctx.settings.refreshTokenRotation) {
            await tx.query('update auth.refresh_tokens set revoked = true, updated_at = $2 where id = $1', [current.id, now]);
            issued = await insertRefreshToken(ctx, tx, user.id, session.id, current.token);
        } else {
            issued = current;
        }
        await tx.query(`update auth.sessions set refreshed_at = ($2::timestamptz at time zone 'utc'), updated_at = $2 where id = $1`, [session.id, now]);
        await audit(ctx, tx, facts, user, 'token_refreshed');
        return tokenResponse(ctx, tx, user, session, issued.token, 'token_refresh');
    });
    return json(200, response);
}

function isoNaive(value: Date): string {
    return value.toISOString().slice(0, -1);
}

async function pkceGrant(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    if (ctx.limits.signInSignUp.exhausted(facts.ip)) throw rateLimited();
    const body = await readBody(request, PkceGrantBody);
    if (!body.auth_code || !body.code_verifier) {
        throw badRequest('validation_failed', 'invalid request: both auth code and code verifier should be non-empty');
    }
    const session = await transaction(ctx, async (tx) => {
        const state = await consumeAuthCode(ctx, tx, body.auth_code, body.code_verifier).catch((error: unknown) => {
            ctx.limits.signInSignUp.take(facts.ip);
            throw error;
        });
        const user = await findUserById(tx, state.user_id!);
        if (!user) throw badRequest('user_not_found', 'User not found');
        if (isBanned(user, ctx.now())) throw badRequest('user_banned', 'User is banned');
        return issueSession(ctx, tx, facts, user, state.authentication_method);
    });
    return json(200, session);
}

const OtpBody = z
    .object({
        email: optString,
        phone: optString,
        data: optRecord,
        create_user: z.boolean().nullish(),
        code_challenge: optString,
        code_challenge_method: optString,
        channel: optString,
    })
    .passthrough();

export async function otp(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const body = await readBody(request, OtpBody);
    if (body.email && body.phone) throw badRequest('validation_failed', 'Only an email address or phone number should be provided');
    if (body.phone) throw badRequest('phone_provider_disabled', 'Unsupported phone provider');
    if (!body.email) throw badRequest('validation_failed', 'One of email or phone must be set');
    if (!ctx.settings.email.enabled) throw unprocessable('email_provider_disabled', 'Email logins are disabled');
    const email = validateEmail(body.email);
    const flow = flowOf(body);
    const createAllowed = body.create_user ?? true;
    const redirectTo = redirectTarget(ctx, facts);
    await transaction(ctx, async (tx) => {
        let user: LoadedUser | null = await findUserByEmail(tx, email);
        if (!user) {
            if (!createAllowed) throw unprocessable('otp_disabled', 'Signups not allowed for otp');
            if (!ctx.settings.enableSignup) throw unprocessable('signup_disabled', 'Signups not allowed for this instance');
            // Like GoTrue: sign the address up with a random password nobody knows.
            user = await createUser(ctx, tx, { email, password: randomBytes(32).toString('base64url'), userMetadata: body.data ?? {} });
            if (!ctx.settings.email.autoconfirm) {
                await audit(ctx, tx, facts, user, 'user_confirmation_requested', { provider: 'email' });
                if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email/signup', body);
                await sendConfirmation(ctx, tx, user, { redirectTo, flow });
                return;
            }
            await audit(ctx, tx, facts, user, 'user_signedup', { provider: 'email' });
            await confirmEmail(ctx, tx, user);
            user = (await findUserById(tx, user.id))!;
        } else if (!isConfirmed(user) && !ctx.settings.email.autoconfirm) {
            await audit(ctx, tx, facts, user, 'user_confirmation_requested', { provider: 'email' });
            if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email/signup', body);
            await sendConfirmation(ctx, tx, user, { redirectTo, flow });
            return;
        }
        await audit(ctx, tx, facts, user, 'user_recovery_requested');
        if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'magiclink', body);
        await sendRecoveryToken(ctx, tx, user, 'magic_link', { redirectTo, flow });
    });
    return json(200, {});
}

export async function logout(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const scope = facts.url.searchParams.get('scope') ?? '';
    if (!['', 'global', 'local', 'others'].includes(scope)) throw badRequest('validation_failed', `Unsupported logout scope "${scope}"`);
    const { user, session } = await requireUser(ctx, request);
    await transaction(ctx, async (tx) => {
        await audit(ctx, tx, facts, user, 'logout');
        if (session && scope === 'local') await tx.query('delete from auth.sessions where id = $1', [session.id]);
        else if (session && scope === 'others') await tx.query('delete from auth.sessions where user_id = $1 and id <> $2', [user.id, session.id]);
        else await tx.query('delete from auth.sessions where user_id = $1', [user.id]);
    });
    return new Response(null, { status: 204 });
}

export { AuthError };
