// /verify (POST → session; GET → redirect with tokens in the fragment or a PKCE code),
// /recover and /resend.
import { z } from 'zod';
import { confirmEmail, confirmEmailChange } from './accounts.js';
import { audit, transaction, type AuthContext, type RequestFacts, type Tx } from './context.js';
import { AuthError, badRequest, forbidden, tooManyRequests, unprocessable } from './errors.js';
import {
    clearOneTimeTokens,
    isTokenHash,
    PKCE_PREFIX,
    sendConfirmation,
    sendEmailChange,
    sendRecoveryToken,
    tokenExpired,
    tokenHash,
    tokenMatches,
    type FlowType,
    type TokenType,
} from './one-time-tokens.js';
import { createFlowState, FLOW_METHOD_BY_TYPE, flowOf, issueAuthCode } from './pkce.js';
import { redirectTarget } from './redirects.js';
import { json, optString, readBody } from './request.js';
import { validateEmail, validatePhone } from './validation.js';
import { issueSession, type TokenResponse } from './tokens.js';
import { findUserByEmail, findUserById, isConfirmed, type LoadedUser, type UserRecord } from './users.js';

const EMAIL_TYPES = ['signup', 'invite', 'magiclink', 'recovery', 'email_change', 'email'] as const;
type EmailType = (typeof EMAIL_TYPES)[number];

const SINGLE_CONFIRMATION = 'Confirmation link accepted. Please proceed to confirm link sent to the other email';

const VerifyBody = z
    .object({ type: optString, token: optString, token_hash: optString, email: optString, phone: optString, redirect_to: optString })
    .passthrough();

type Outcome =
    | { kind: 'session'; type: string; session: TokenResponse; user: LoadedUser }
    | { kind: 'single_confirmation' }
    | { kind: 'code'; code: string };

/** What a request presents: a token_hash from a link, or the hash of a mailed code and its address. */
type Presented = { kind: 'link'; hash: string } | { kind: 'code'; hash: string; email: string };

type VerifiedType = Exclude<EmailType, 'email'>;

interface TokenSlot {
    column: TokenType;
    type: VerifiedType;
    sentAt: 'confirmation_sent_at' | 'recovery_sent_at' | 'email_change_sent_at';
}

const CONFIRMATION: TokenSlot = { column: 'confirmation_token', type: 'signup', sentAt: 'confirmation_sent_at' };
const RECOVERY: TokenSlot = { column: 'recovery_token', type: 'recovery', sentAt: 'recovery_sent_at' };

/** Where each verification type's token lives (GoTrue's verifyTokenHash / verifyUserAndToken). */
const SLOTS: Record<EmailType, TokenSlot[]> = {
    signup: [CONFIRMATION],
    invite: [{ ...CONFIRMATION, type: 'invite' }],
    magiclink: [{ ...RECOVERY, type: 'magiclink' }],
    recovery: [RECOVERY],
    email: [CONFIRMATION, { ...RECOVERY, type: 'magiclink' }],
    email_change: [
        { column: 'email_change_token_current', type: 'email_change', sentAt: 'email_change_sent_at' },
        { column: 'email_change_token_new', type: 'email_change', sentAt: 'email_change_sent_at' },
    ],
};

/**
 * Finds the user a token belongs to, the column it matched and the concrete type it
 * verifies. Only a complete hash can match, only in the columns of the requested type, only
 * while it is not past otp_expiry: a cleared ('') column never matches anything.
 */
async function findByToken(
    ctx: AuthContext,
    tx: Tx,
    type: EmailType,
    presented: Presented,
): Promise<{ user: LoadedUser; type: VerifiedType; column: TokenType } | null> {
    if (!isTokenHash(presented.hash)) return null;
    const fromCode = presented.kind === 'code';
    const candidates = fromCode ? [presented.hash, PKCE_PREFIX + presented.hash] : [presented.hash];
    const slots = SLOTS[type];
    const where = slots.map((s) => `${s.column} = any($1::text[])`).join(' or ');
    const byEmail = fromCode ? 'and (lower(email) = $2 or lower(email_change) = $2)' : '';
    const params = fromCode ? [candidates, presented.email] : [candidates];
    const { rows } = await tx.query<{ id: string }>(`select id from auth.users where (${where}) and is_sso_user = false ${byEmail} limit 1 for update`, params);
    if (!rows[0]) return null;
    const user = (await findUserById(tx, rows[0].id))!;
    const slot = slots.find((s) => tokenMatches(user[s.column], presented.hash, fromCode));
    if (!slot || tokenExpired(ctx, user[slot.sentAt])) return null;
    return { user, type: slot.type, column: slot.column };
}

/** One answer to every failed verification, whatever went wrong (docs/auth.md). */
const INVALID_TOKEN = 'Token has expired or is invalid';

/** The verification itself, shared by POST and GET. */
async function verifyToken(
    ctx: AuthContext,
    tx: Tx,
    facts: RequestFacts,
    type: EmailType,
    presented: Presented,
    issue: 'session' | 'code',
): Promise<Outcome> {
    const found = await findByToken(ctx, tx, type, presented);
    if (!found) throw forbidden('otp_expired', INVALID_TOKEN);
    const { user } = found;
    const now = ctx.now();
    switch (found.type) {
        case 'signup':
        case 'invite':
            await audit(ctx, tx, facts, user, found.type === 'invite' ? 'invite_accepted' : 'user_signedup', { provider: 'email' });
            await confirmEmail(ctx, tx, user);
            break;
        case 'magiclink':
        case 'recovery':
            await tx.query(`update auth.users set recovery_token = '' where id = $1`, [user.id]);
            await clearOneTimeTokens(tx, user.id, 'recovery_token');
            if (!isConfirmed(user)) {
                await audit(ctx, tx, facts, user, 'user_signedup', { provider: 'email' });
                await confirmEmail(ctx, tx, user);
            } else {
                await audit(ctx, tx, facts, user, 'login', { provider: 'email' });
            }
            break;
        case 'email_change': {
            const first = ctx.settings.email.doubleConfirmChanges && (user.email_change_confirm_status ?? 0) === 0 && !!user.email;
            if (first) {
                const { column } = found;
                await tx.query(`update auth.users set email_change_confirm_status = 1, ${column} = '', updated_at = $2 where id = $1`, [user.id, now]);
                await clearOneTimeTokens(tx, user.id, column);
                return { kind: 'single_confirmation' };
            }
            await confirmEmailChange(ctx, tx, user);
            await audit(ctx, tx, facts, user, 'user_modified');
            break;
        }
    }
    const fresh = (await findUserById(tx, user.id))!;
    if (issue === 'code') return { kind: 'code', code: await issueAuthCode(ctx, tx, fresh.id, FLOW_METHOD_BY_TYPE[found.type]!) };
    return { kind: 'session', type: found.type, session: await issueSession(ctx, tx, facts, fresh, 'otp', null), user: fresh };
}

/** Phone verification types: no SMS is ever sent locally, so no phone token exists to match. */
const PHONE_TYPES = ['sms', 'phone_change'];

function checkType(type: string): EmailType {
    if (!type) throw badRequest('validation_failed', 'Verify requires a verification type');
    if (PHONE_TYPES.includes(type)) throw badRequest('phone_provider_disabled', 'Unsupported phone provider');
    if (!(EMAIL_TYPES as readonly string[]).includes(type)) throw badRequest('validation_failed', 'Unsupported verification type');
    return type as EmailType;
}

/** A failed verification: counted against the IP's token_verifications limit, answered alike whatever failed. */
function invalidToken(ctx: AuthContext, facts: RequestFacts): AuthError {
    ctx.limits.verify.take(facts.ip);
    return forbidden('otp_expired', INVALID_TOKEN);
}

export async function verifyPost(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    if (ctx.limits.verify.exhausted(facts.ip)) throw tooManyRequests('over_request_rate_limit', 'Request rate limit reached');
    const body = await readBody(request, VerifyBody);
    if (!body.type) throw badRequest('validation_failed', 'Verify requires a verification type');
    const phoneType = PHONE_TYPES.includes(body.type);
    if (!phoneType) checkType(body.type);
    if ((!body.token && !body.token_hash) || (body.token && body.token_hash)) {
        throw badRequest('validation_failed', 'Verify requires either a token or a token hash');
    }
    let presented: Presented;
    if (body.token) {
        // GoTrue's VerifyParams.Validate: exactly one of phone and email names whose code this is.
        if (body.phone && !body.email) {
            validatePhone(body.phone);
            // The code of an SMS (sms, phone_change), or an email type asked by phone: GoTrue
            // looks the user up by a number no local token was ever sent to, and fails alike.
            throw invalidToken(ctx, facts);
        }
        if (!body.email || body.phone) throw badRequest('validation_failed', 'Only an email address or phone number should be provided on verify');
        let email: string;
        try {
            email = validateEmail(body.email);
        } catch {
            throw unprocessable('validation_failed', 'Invalid email format');
        }
        // sms / phone_change with an address: GoTrue looks the user up by an empty phone.
        if (phoneType) throw invalidToken(ctx, facts);
        // A blank code hashes to sha224(email), which no stored token is; it fails like any wrong code.
        presented = { kind: 'code', hash: tokenHash(email, body.token.trim()), email };
    } else {
        if (body.email || body.phone || body.redirect_to) throw badRequest('validation_failed', 'Only the token_hash and type should be provided');
        if (phoneType) throw invalidToken(ctx, facts);
        presented = { kind: 'link', hash: body.token_hash };
    }
    const type = body.type as EmailType;
    const outcome = await transaction(ctx, (tx) => verifyToken(ctx, tx, facts, type, presented, 'session')).catch((error: unknown) => {
        // Failed verifications (guessing) count against the IP's token_verifications limit.
        if (error instanceof AuthError && error.code === 'otp_expired') ctx.limits.verify.take(facts.ip);
        throw error;
    });
    if (outcome.kind === 'single_confirmation') return json(200, { msg: SINGLE_CONFIRMATION, code: '200' });
    if (outcome.kind === 'session') return json(200, outcome.session);
    throw badRequest('validation_failed', 'unexpected verification outcome');
}

const OAUTH_ERRORS: Record<number, string> = {
    400: 'invalid_request',
    401: 'unauthorized_client',
    403: 'access_denied',
    500: 'server_error',
    503: 'temporarily_unavailable',
};

function redirect(location: string): Response {
    return new Response(null, { status: 303, headers: { location } });
}

export async function verifyGet(ctx: AuthContext, _request: Request, facts: RequestFacts): Promise<Response> {
    const q = facts.url.searchParams;
    const type = checkType(q.get('type') ?? '');
    const token = q.get('token') ?? '';
    if (!token) throw badRequest('validation_failed', 'Verify requires a token or a token hash');
    const target = new URL(redirectTarget(ctx, facts));
    const flow: FlowType = token.startsWith(PKCE_PREFIX) ? 'pkce' : 'implicit';
    if (ctx.limits.verify.exhausted(facts.ip)) {
        return redirect(errorRedirect(target, tooManyRequests('over_request_rate_limit', 'Request rate limit reached'), flow));
    }
    let outcome: Outcome;
    try {
        outcome = await transaction(ctx, (tx) =>
            verifyToken(ctx, tx, facts, type, { kind: 'link', hash: token }, flow === 'pkce' ? 'code' : 'session'),
        );
    } catch (error) {
        if (error instanceof AuthError && error.code === 'otp_expired') ctx.limits.verify.take(facts.ip);
        if (error instanceof AuthError) return redirect(errorRedirect(target, error, flow));
        throw error;
    }
    if (outcome.kind === 'single_confirmation') {
        if (flow === 'pkce') target.searchParams.set('message', SINGLE_CONFIRMATION);
        target.hash = new URLSearchParams({ message: SINGLE_CONFIRMATION }).toString();
        return redirect(target.toString());
    }
    if (outcome.kind === 'code') {
        target.searchParams.set('code', outcome.code);
        return redirect(target.toString());
    }
    const s = outcome.session;
    const fragment = new URLSearchParams();
    const values: Record<string, string> = {
        access_token: s.access_token,
        expires_at: String(s.expires_at),
        expires_in: String(s.expires_in),
        refresh_token: s.refresh_token,
        token_type: s.token_type,
        type: outcome.type,
    };
    for (const key of Object.keys(values).sort()) fragment.set(key, values[key]!);
    target.hash = fragment.toString();
    return redirect(target.toString());
}

function errorRedirect(target: URL, error: AuthError, flow: FlowType): string {
    const url = new URL(target);
    const values: Array<[string, string]> = [];
    const oauth = OAUTH_ERRORS[error.status];
    if (oauth) values.push(['error', oauth]);
    values.push(['error_code', error.code], ['error_description', error.message]);
    if (flow === 'pkce') for (const [k, v] of values) url.searchParams.set(k, v);
    url.hash = new URLSearchParams(values).toString();
    return url.toString();
}

const RecoverBody = z.object({ email: optString, code_challenge: optString, code_challenge_method: optString }).passthrough();

export async function recover(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const body = await readBody(request, RecoverBody);
    if (!body.email) throw unprocessable('validation_failed', 'Password recovery requires an email');
    const email = validateEmail(body.email);
    const flow = flowOf(body);
    const redirectTo = redirectTarget(ctx, facts);
    await transaction(ctx, async (tx) => {
        const user = await findUserByEmail(tx, email);
        // Unknown addresses get the same empty 200: recovery does not reveal who has an account.
        if (!user) return;
        await audit(ctx, tx, facts, user, 'user_recovery_requested');
        if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'recovery', body);
        await sendRecoveryToken(ctx, tx, user, 'recovery', { redirectTo, flow });
    });
    return json(200, {});
}

const ResendBody = z.object({ type: optString, email: optString, phone: optString, code_challenge: optString, code_challenge_method: optString }).passthrough();

export async function resend(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const body = await readBody(request, ResendBody);
    if (!['signup', 'email_change', 'sms', 'phone_change'].includes(body.type)) {
        throw badRequest('validation_failed', 'Missing one of these types: signup, email_change, sms, phone_change');
    }
    if (body.type === 'sms' || body.type === 'phone_change') throw badRequest('phone_provider_disabled', 'Unsupported phone provider');
    if (!body.email) throw badRequest('validation_failed', 'Type provided requires an email address');
    const email = validateEmail(body.email);
    const flow = flowOf(body);
    const redirectTo = redirectTarget(ctx, facts);
    await transaction(ctx, async (tx) => {
        let user: LoadedUser | null;
        if (body.type === 'signup') {
            user = await findUserByEmail(tx, email);
            if (!user || isConfirmed(user)) return;
            await audit(ctx, tx, facts, user, 'user_confirmation_requested', { provider: 'email' });
            if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email/signup', body);
            await sendConfirmation(ctx, tx, user, { redirectTo, flow });
            return;
        }
        const { rows } = await tx.query<{ id: string }>('select id from auth.users where lower(email_change) = $1 or lower(email) = $1 limit 1', [email]);
        user = rows[0] ? await findUserById(tx, rows[0].id) : null;
        if (!user || !user.email_change) return;
        if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email_change', body);
        await sendEmailChange(ctx, tx, user, user.email_change, { redirectTo, flow });
    });
    return json(200, {});
}
