// MFA factors: TOTP (RFC 6238, SHA1, 6 digits, 30 s, ±1 step; secret, otpauth URI, QR as
// SVG) and WebAuthn (a security key or platform authenticator; [auth.mfa.web_authn]).
// Enroll, challenge, verify (the session is raised to aal2 with a `totp` or `mfa/webauthn`
// AMR claim), unenroll. Both kinds share the challenge rules: a challenge is bound to the
// client IP, expires after 5 minutes, survives 4 failed answers and verifies once.
import { randomUUID } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { z } from 'zod';
import { audit, CommitWithError, transaction, transactionCommittingErrors, type AuthContext, type RequestFacts, type Tx } from './context.js';
import { badRequest, forbidden, notFound, tooManyRequests, unprocessable, type AuthError } from './errors.js';
import { json, optString, readBody, requireUser, type Authenticated } from './request.js';
import { addAmrClaim, insertRefreshToken, normaliseIp, tokenResponse } from './tokens.js';
import { findUserById, type FactorRecord } from './users.js';
import {
    CEREMONY_TTL_MS,
    creationOptions,
    fromStoredCredential,
    mfaRelyingParty,
    parseCredential,
    requestOptions,
    RequestedRelyingParty,
    toStoredCredential,
    verifyAssertion,
    verifyCreation,
    type CeremonyState,
} from './webauthn.js';

const CHALLENGE_TTL_MS = CEREMONY_TTL_MS;
/** Wrong answers one challenge survives; the last one retires (deletes) it. */
export const MFA_CHALLENGE_MAX_FAILURES = 5;
/** AMR methods of second factors: removing the factor removes them from its sessions. */
const MFA_METHODS = ['totp', 'phone', 'webauthn', 'mfa/totp', 'mfa/phone', 'mfa/webauthn'];

const EnrollBody = z.object({ factor_type: optString, friendly_name: optString, issuer: optString, phone: optString }).passthrough();

export async function enrollFactor(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const auth = await requireUser(ctx, request);
    const body = await readBody(request, EnrollBody);
    const { user, session } = auth;
    if (!['totp', 'phone', 'webauthn'].includes(body.factor_type)) {
        throw badRequest('validation_failed', 'factor_type needs to be totp, phone, or webauthn');
    }
    if (body.factor_type === 'phone') throw unprocessable('mfa_phone_enroll_not_enabled', 'MFA enroll is disabled for Phone');
    if (body.factor_type === 'webauthn' && !ctx.settings.mfa.webauthnEnroll) throw unprocessable('mfa_webauthn_enroll_not_enabled', 'MFA enroll is disabled for WebAuthn');
    if (body.factor_type === 'totp' && !ctx.settings.mfa.totpEnroll) throw unprocessable('mfa_totp_enroll_not_enabled', 'MFA enroll is disabled for TOTP');
    const verified = user.factors.filter((f) => f.status === 'verified');
    if (user.factors.length >= ctx.settings.mfa.maxEnrolledFactors) {
        throw unprocessable('too_many_enrolled_mfa_factors', 'Maximum number of verified factors reached, unenroll to continue');
    }
    if (verified.length > 0 && session?.aal !== 'aal2') throw unprocessable('insufficient_aal', 'AAL2 required to enroll a new factor');
    const friendlyName = body.friendly_name;
    // Unverified factors count too: a client retrying an enrolment unenrolls its leftover first (as auth-js does).
    const nameConflict = () => unprocessable('mfa_factor_name_conflict', `A factor with the friendly name "${friendlyName}" for this user already exists`);
    if (friendlyName && user.factors.some((f) => f.friendly_name === friendlyName)) throw nameConflict();
    const id = randomUUID();
    const insertFactor = (type: string, secret: string | null) =>
        transaction(ctx, async (tx) => {
            const now = ctx.now();
            await tx.query(
                `insert into auth.mfa_factors (id, user_id, friendly_name, factor_type, status, created_at, updated_at, secret)
                 values ($1, $2, $3, $4, 'unverified', $5, $5, $6)`,
                [id, user.id, friendlyName, type, now, secret],
            );
            await audit(ctx, tx, facts, user, 'factor_in_progress', { factor_id: id, factor_type: type });
        }).catch((error: unknown) => {
            // Two enrolments of one name racing: the unique index decides.
            if ((error as { constraint?: string }).constraint === 'mfa_factors_user_friendly_name_unique') throw nameConflict();
            throw error;
        });
    if (body.factor_type === 'webauthn') {
        await insertFactor('webauthn', null);
        return json(200, { id, type: 'webauthn', friendly_name: friendlyName });
    }
    let issuer = body.issuer;
    if (!issuer) issuer = new URL(ctx.settings.siteUrl).host;
    const totp = new OTPAuth.TOTP({ issuer, label: user.email ?? '', algorithm: 'SHA1', digits: 6, period: 30, secret: new OTPAuth.Secret({ size: 20 }) });
    const uri = totp.toString();
    // Loaded on the first TOTP enrolment, not at every start of the stack.
    const { default: QRCode } = await import('qrcode');
    const qr = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'H' });
    await insertFactor('totp', totp.secret.base32);
    return json(200, { id, type: 'totp', friendly_name: friendlyName, totp: { qr_code: qr, secret: totp.secret.base32, uri } });
}

function factorOf(auth: Authenticated, factorId: string): FactorRecord {
    const factor = auth.user.factors.find((f) => f.id === factorId);
    if (!factor) throw notFound('mfa_factor_not_found', 'Factor not found');
    return factor;
}

/** The [auth.mfa.<type>] verify_enabled switch of a factor's type (phone is never available locally). */
function requireVerifyEnabled(ctx: AuthContext, factor: FactorRecord): void {
    if (factor.factor_type === 'totp' && !ctx.settings.mfa.totpVerify) throw unprocessable('mfa_totp_verify_not_enabled', 'MFA verification is disabled for TOTP');
    if (factor.factor_type === 'webauthn' && !ctx.settings.mfa.webauthnVerify) {
        throw unprocessable('mfa_webauthn_verify_not_enabled', 'MFA verification is disabled for WebAuthn');
    }
    if (factor.factor_type === 'phone') throw unprocessable('mfa_phone_verify_not_enabled', 'MFA verification is disabled for Phone');
}

const ChallengeBody = z.object({ channel: optString, webauthn: RequestedRelyingParty.optional() }).passthrough();

export async function challengeFactor(ctx: AuthContext, request: Request, facts: RequestFacts, factorId: string): Promise<Response> {
    const auth = await requireUser(ctx, request);
    const factor = factorOf(auth, factorId);
    const body = await readBody(request, ChallengeBody);
    requireVerifyEnabled(ctx, factor);
    let ceremony: { state: CeremonyState; response: Record<string, unknown> } | undefined;
    if (factor.factor_type === 'webauthn') {
        const rp = mfaRelyingParty(ctx, body.webauthn);
        const user = { id: auth.user.id, name: auth.user.email || auth.user.phone || auth.user.id };
        if (factor.status === 'verified' && factor.web_authn_credential) {
            const { options, state } = await requestOptions(rp, [fromStoredCredential(factor.web_authn_credential)], 'preferred');
            ceremony = { state, response: { type: 'request', credential_options: { publicKey: options } } };
        } else {
            // A user's other security keys may not register twice.
            const others = auth.user.factors.filter((f) => f.id !== factor.id && f.web_authn_credential).map((f) => fromStoredCredential(f.web_authn_credential!));
            const { options, state } = await creationOptions(rp, user, others, { residentKey: 'discouraged', userVerification: 'preferred' });
            ceremony = { state, response: { type: 'create', credential_options: { publicKey: options } } };
        }
    }
    const id = randomUUID();
    const now = ctx.now();
    await transaction(ctx, async (tx) => {
        await tx.query('insert into auth.mfa_challenges (id, factor_id, created_at, ip_address, web_authn_session_data) values ($1, $2, $3, $4, $5)', [
            id,
            factor.id,
            now,
            normaliseIp(facts.ip) ?? '127.0.0.1',
            ceremony?.state ?? null,
        ]);
        await tx.query('update auth.mfa_factors set last_challenged_at = $2 where id = $1', [factor.id, now]).catch(() => undefined);
        await audit(ctx, tx, facts, auth.user, 'challenge_created', { factor_id: factor.id, factor_status: factor.status });
    });
    const expiresAt = Math.floor((now.getTime() + CHALLENGE_TTL_MS) / 1000);
    if (ceremony) return json(200, { id, type: 'webauthn', expires_at: expiresAt, webauthn: ceremony.response });
    return json(200, { id, type: 'totp', expires_at: expiresAt });
}

const VerifyBody = z
    .object({
        challenge_id: optString,
        code: optString,
        webauthn: RequestedRelyingParty.extend({ type: z.enum(['create', 'request']), credential_response: z.unknown() }).optional(),
    })
    .passthrough();

interface ChallengeRow {
    id: string;
    created_at: Date;
    verified_at: Date | null;
    ip_address: string;
    web_authn_session_data: CeremonyState | null;
}

/** A checked answer: what to write when it is right, or the error of a wrong one. */
type Answer = { ok: true; method: string; apply?: (tx: Tx) => Promise<void> } | { ok: false; error: AuthError };

function checkTotp(ctx: AuthContext, factor: FactorRecord, code: string): Answer {
    const totp = new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(factor.secret ?? '') });
    const delta = /^\d{6}$/.test(code) ? totp.validate({ token: code, timestamp: ctx.now().getTime(), window: 1 }) : null;
    return delta === null ? { ok: false, error: unprocessable('mfa_verification_failed', 'Invalid TOTP code entered') } : { ok: true, method: 'totp' };
}

async function checkWebAuthn(factor: FactorRecord, challenge: ChallengeRow, body: z.infer<typeof VerifyBody>): Promise<Answer> {
    const state = challenge.web_authn_session_data;
    if (!body.webauthn) throw badRequest('validation_failed', 'WebAuthn config required');
    if (!state || body.webauthn.type !== state.type) {
        throw badRequest('validation_failed', `webauthn.type must be ${state?.type === 'create' ? '"create" for an unverified factor' : '"request" for a verified factor'}`);
    }
    const response = parseCredential(body.webauthn.credential_response, 'webauthn.credential_response');
    const failed: Answer = { ok: false, error: unprocessable('mfa_verification_failed', 'Invalid WebAuthn credential') };
    if (state.type === 'create') {
        if (factor.status === 'verified') return failed;
        const credential = await verifyCreation(state, response);
        if (!credential) return failed;
        return {
            ok: true,
            method: 'mfa/webauthn',
            apply: async (tx) => {
                await tx.query('update auth.mfa_factors set web_authn_credential = $2, web_authn_aaguid = $3 where id = $1', [
                    factor.id,
                    toStoredCredential(credential),
                    credential.aaguid,
                ]);
            },
        };
    }
    if (!factor.web_authn_credential) return failed;
    const asserted = await verifyAssertion(state, response, fromStoredCredential(factor.web_authn_credential));
    if (!asserted) return failed;
    const stored = { ...factor.web_authn_credential, Authenticator: { ...factor.web_authn_credential.Authenticator, SignCount: asserted.counter } };
    return { ok: true, method: 'mfa/webauthn', apply: async (tx) => void (await tx.query('update auth.mfa_factors set web_authn_credential = $2 where id = $1', [factor.id, stored])) };
}

export async function verifyFactor(ctx: AuthContext, request: Request, facts: RequestFacts, factorId: string): Promise<Response> {
    const auth = await requireUser(ctx, request);
    const factor = factorOf(auth, factorId);
    const body = await readBody(request, VerifyBody);
    requireVerifyEnabled(ctx, factor);
    const { user, session } = auth;
    if (!session) throw forbidden('session_not_found', 'Session from session_id claim in JWT does not exist');
    // Every attempt counts against the client IP's and the factor's token_verifications budget,
    // before the answer is looked at: parallel guesses cannot slip past the limit.
    if (!ctx.limits.mfaVerifyPerIp.take(facts.ip) || !ctx.limits.mfaVerifyPerFactor.take(factor.id)) {
        throw tooManyRequests('over_request_rate_limit', 'Request rate limit reached');
    }
    const response = await transactionCommittingErrors(ctx, async (tx) => {
        const now = ctx.now();
        const { rows } = await tx.query<ChallengeRow>(
            `select id, created_at, verified_at, host(ip_address) as ip_address, web_authn_session_data
             from auth.mfa_challenges where id = $1 and factor_id = $2 for update`,
            [/^[0-9a-f-]{36}$/i.test(body.challenge_id) ? body.challenge_id : '00000000-0000-0000-0000-000000000000', factor.id],
        );
        const challenge = rows[0];
        if (!challenge) throw unprocessable('mfa_factor_not_found', 'MFA factor with the provided challenge ID not found');
        if (challenge.verified_at || challenge.ip_address !== (normaliseIp(facts.ip) ?? '127.0.0.1')) {
            throw unprocessable('mfa_ip_address_mismatch', 'Challenge and verify IP addresses mismatch. Try enrollment again.');
        }
        if (now.getTime() > challenge.created_at.getTime() + CHALLENGE_TTL_MS) {
            await tx.query('delete from auth.mfa_challenges where id = $1', [challenge.id]);
            throw new CommitWithError(
                unprocessable('mfa_challenge_expired', `MFA challenge ${challenge.id} has expired, verify against another challenge or create a new challenge.`),
            );
        }
        const answer = factor.factor_type === 'webauthn' ? await checkWebAuthn(factor, challenge, body) : checkTotp(ctx, factor, body.code);
        if (!answer.ok) {
            if (ctx.limits.mfaChallengeFailures.add(challenge.id) < MFA_CHALLENGE_MAX_FAILURES) throw answer.error;
            // Too many wrong answers: the challenge is retired and can never verify.
            await tx.query('delete from auth.mfa_challenges where id = $1', [challenge.id]);
            ctx.limits.mfaChallengeFailures.forget(challenge.id);
            throw new CommitWithError(answer.error);
        }
        await answer.apply?.(tx);
        await tx.query('update auth.mfa_challenges set verified_at = $2 where id = $1', [challenge.id, now]);
        if (factor.status !== 'verified') await tx.query(`update auth.mfa_factors set status = 'verified', updated_at = $2 where id = $1`, [factor.id, now]);
        await tx.query(`update auth.sessions set aal = 'aal2', factor_id = $2, updated_at = $3 where id = $1`, [session.id, factor.id, now]);
        await addAmrClaim(ctx, tx, session.id, answer.method);
        // Sessions still at aal1 are signed out once a factor verifies.
        await tx.query(`delete from auth.sessions where user_id = $1 and id <> $2 and (aal is null or aal < 'aal2')`, [user.id, session.id]);
        // Other unverified factors of the same type are dropped once one verifies, as GoTrue does.
        await tx.query(`delete from auth.mfa_factors where user_id = $1 and id <> $2 and status = 'unverified' and factor_type = $3`, [
            user.id,
            factor.id,
            factor.factor_type,
        ]);
        await tx.query('update auth.refresh_tokens set revoked = true, updated_at = $2 where session_id = $1 and revoked = false', [session.id, now]);
        const refresh = await insertRefreshToken(ctx, tx, user.id, session.id, null);
        await audit(ctx, tx, facts, user, 'verification_attempted', { factor_id: factor.id, event_id: challenge.id, factor_type: factor.factor_type });
        const fresh = (await findUserById(tx, user.id))!;
        return tokenResponse(ctx, tx, fresh, { ...session, aal: 'aal2', factor_id: factor.id }, refresh.token, answer.method);
    });
    return json(200, response);
}

export async function unenrollFactor(ctx: AuthContext, request: Request, facts: RequestFacts, factorId: string): Promise<Response> {
    const auth = await requireUser(ctx, request);
    const factor = factorOf(auth, factorId);
    const hasVerified = auth.user.factors.some((f) => f.status === 'verified');
    if (hasVerified && auth.session?.aal !== 'aal2') throw unprocessable('insufficient_aal', 'AAL2 required to unenroll verified factor');
    await transaction(ctx, async (tx) => {
        await deleteFactor(ctx, tx, factor);
        await audit(ctx, tx, facts, auth.user, 'factor_unenrolled', { factor_id: factor.id, factor_type: factor.factor_type });
    });
    return json(200, { id: factor.id });
}

/** Deletes a factor and downgrades the sessions it raised to aal2. */
export async function deleteFactor(ctx: AuthContext, tx: Tx, factor: FactorRecord): Promise<void> {
    const now = ctx.now();
    const { rows } = await tx.query<{ id: string }>('select id from auth.sessions where factor_id = $1', [factor.id]);
    await tx.query('delete from auth.mfa_factors where id = $1', [factor.id]);
    for (const { id } of rows) {
        await tx.query(`update auth.sessions set aal = 'aal1', factor_id = null, updated_at = $2 where id = $1`, [id, now]);
        await tx.query('delete from auth.mfa_amr_claims where session_id = $1 and authentication_method = any($2)', [id, MFA_METHODS]);
    }
}
