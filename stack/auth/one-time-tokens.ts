// Mailed one-time tokens: a numeric OTP goes in the mail, only sha224(email + otp) is
// stored (in the users column GoTrue uses and in auth.one_time_tokens), and the mailed
// link carries that hash (prefixed "pkce_" for PKCE flows) to /verify.
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterCommit, type AuthContext, type Tx } from './context.js';
import { tooManyRequests } from './errors.js';
import { renderMail, type MailKind } from './mail-templates.js';
import type { UserRecord } from './users.js';

export type FlowType = 'implicit' | 'pkce';
export const PKCE_PREFIX = 'pkce_';

export function generateOtp(length: number): string {
    let otp = '';
    for (let i = 0; i < length; i++) otp += String(randomInt(10));
    return otp;
}

export function tokenHash(emailOrPhone: string, otp: string): string {
    return createHash('sha224').update(emailOrPhone + otp).digest('hex');
}

export function withFlowPrefix(hash: string, flow: FlowType): string {
    return flow === 'pkce' ? PKCE_PREFIX + hash : hash;
}

/** The only shape a stored token has: lower-case hex SHA-224, "pkce_"-prefixed for PKCE flows. */
const STORED_TOKEN = /^(?:pkce_)?[0-9a-f]{56}$/;

/** Whether `value` is a complete token hash (not empty, not a bare prefix, not truncated). */
export function isTokenHash(value: string): boolean {
    return STORED_TOKEN.test(value);
}

/**
 * Whether a presented hash matches a stored token. A used or superseded token is stored as
 * '' and an empty, blank, prefix-only or truncated value is never a token hash, so neither
 * side can match by being empty. A hash computed from a mailed code (`fromCode`) also
 * matches the PKCE-prefixed form of the same token (GoTrue's isOtpValid); a token_hash
 * from a link must be the exact stored value.
 */
export function tokenMatches(stored: string | null | undefined, presented: string, fromCode: boolean): boolean {
    if (!stored || !isTokenHash(stored) || !isTokenHash(presented)) return false;
    return stored === presented || (fromCode && !presented.startsWith(PKCE_PREFIX) && stored === PKCE_PREFIX + presented);
}

/** Whether a token sent at `sentAt` is past [auth.email] otp_expiry (a token never sent is). */
export function tokenExpired(ctx: AuthContext, sentAt: Date | null): boolean {
    return !sentAt || ctx.now().getTime() > sentAt.getTime() + ctx.settings.email.otpExpirySeconds * 1000;
}

export type TokenType = 'confirmation_token' | 'recovery_token' | 'email_change_token_new' | 'email_change_token_current' | 'reauthentication_token';

export async function storeOneTimeToken(ctx: AuthContext, db: Pick<pg.ClientBase, 'query'>, userId: string, type: TokenType, hash: string, relatesTo: string): Promise<void> {
    const now = ctx.now();
    await db.query(
        `insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $6)
         on conflict (user_id, token_type) do update set token_hash = excluded.token_hash, relates_to = excluded.relates_to, updated_at = excluded.updated_at`,
        [randomUUID(), userId, type, hash, relatesTo.toLowerCase(), now],
    );
}

export async function clearOneTimeTokens(db: Pick<pg.ClientBase, 'query'>, userId: string, type?: TokenType): Promise<void> {
    if (type) await db.query('delete from auth.one_time_tokens where user_id = $1 and token_type = $2', [userId, type]);
    else await db.query('delete from auth.one_time_tokens where user_id = $1', [userId]);
}

/** GoTrue's wording when the per-user mail frequency ([auth.email] max_frequency) is exceeded. */
export function checkFrequency(ctx: AuthContext, sentAt: Date | null): void {
    if (!sentAt) return;
    const next = sentAt.getTime() + ctx.settings.email.maxFrequencyMs;
    const now = ctx.now().getTime();
    if (next > now) {
        const seconds = Math.ceil((next - now) / 1000);
        throw tooManyRequests('over_email_send_rate_limit', `For security purposes, you can only request this after ${seconds} seconds.`);
    }
}

/** [auth.rate_limit] email_sent, per recipient and hour (enforced with a custom SMTP server, as the CLI does). */
export function checkEmailRateLimit(ctx: AuthContext, email: string): void {
    if (!ctx.settings.emailRateLimited) return;
    if (!ctx.limits.emailSent.take(email.toLowerCase())) throw tooManyRequests('over_email_send_rate_limit', 'Email rate limit exceeded');
}

export function verifyLink(ctx: AuthContext, hash: string, type: string, redirectTo: string): string {
    return `${ctx.publicUrl}/verify?token=${encodeURIComponent(hash)}&type=${type}&redirect_to=${encodeURIComponent(redirectTo)}`;
}

async function deliver(ctx: AuthContext, tx: Tx, to: string, kind: MailKind, data: { otp: string; hash: string; type: string; redirectTo: string; email: string; newEmail?: string }) {
    const rendered = renderMail(ctx.settings, kind, {
        confirmationUrl: verifyLink(ctx, data.hash, data.type, data.redirectTo),
        token: data.otp,
        tokenHash: data.hash,
        siteUrl: ctx.settings.siteUrl,
        email: data.email,
        newEmail: data.newEmail,
        redirectTo: data.redirectTo,
    });
    afterCommit(tx, () => ctx.mail.send({ to: [to], from: ctx.settings.email.from, ...rendered }));
}

export interface SendOptions {
    redirectTo: string;
    flow: FlowType;
    /** Skip the max_frequency check (admin-initiated mails). */
    force?: boolean;
}

/** Signup confirmation (also `invite` when the user was invited). */
export async function sendConfirmation(ctx: AuthContext, tx: Tx, user: UserRecord, options: SendOptions & { invite?: boolean }): Promise<void> {
    const email = user.email!;
    if (!options.force) checkFrequency(ctx, user.confirmation_sent_at);
    checkEmailRateLimit(ctx, email);
    const otp = generateOtp(ctx.settings.email.otpLength);
    const hash = withFlowPrefix(tokenHash(email, otp), options.flow);
    const now = ctx.now();
    if (options.invite) {
        await tx.query('update auth.users set confirmation_token = $2, invited_at = $3, confirmation_sent_at = $3 where id = $1', [user.id, hash, now]);
    } else {
        await tx.query('update auth.users set confirmation_token = $2, confirmation_sent_at = $3 where id = $1', [user.id, hash, now]);
    }
    await storeOneTimeToken(ctx, tx, user.id, 'confirmation_token', hash, email);
    user.confirmation_token = hash;
    user.confirmation_sent_at = now;
    await deliver(ctx, tx, email, options.invite ? 'invite' : 'confirmation', { otp, hash, type: options.invite ? 'invite' : 'signup', redirectTo: options.redirectTo, email });
}

/** Recovery and magic link mails share the recovery token column. */
export async function sendRecoveryToken(ctx: AuthContext, tx: Tx, user: UserRecord, kind: 'recovery' | 'magic_link', options: SendOptions): Promise<void> {
    const email = user.email!;
    if (!options.force) checkFrequency(ctx, user.recovery_sent_at);
    checkEmailRateLimit(ctx, email);
    const otp = generateOtp(ctx.settings.email.otpLength);
    const hash = withFlowPrefix(tokenHash(email, otp), options.flow);
    const now = ctx.now();
    await tx.query('update auth.users set recovery_token = $2, recovery_sent_at = $3 where id = $1', [user.id, hash, now]);
    await storeOneTimeToken(ctx, tx, user.id, 'recovery_token', hash, email);
    user.recovery_token = hash;
    user.recovery_sent_at = now;
    await deliver(ctx, tx, email, kind, { otp, hash, type: kind === 'recovery' ? 'recovery' : 'magiclink', redirectTo: options.redirectTo, email });
}

/**
 * Email change: a token for the new address, and (double confirmation) one for the current
 * address; each mailed to its address.
 */
export async function sendEmailChange(ctx: AuthContext, tx: Tx, user: UserRecord, newEmail: string, options: SendOptions): Promise<void> {
    if (!options.force) checkFrequency(ctx, user.email_change_sent_at);
    checkEmailRateLimit(ctx, newEmail);
    const now = ctx.now();
    const otpNew = generateOtp(ctx.settings.email.otpLength);
    const hashNew = withFlowPrefix(tokenHash(newEmail, otpNew), options.flow);
    let otpCurrent = '';
    let hashCurrent = '';
    const current = user.email ?? '';
    if (ctx.settings.email.doubleConfirmChanges && current) {
        otpCurrent = generateOtp(ctx.settings.email.otpLength);
        hashCurrent = withFlowPrefix(tokenHash(current, otpCurrent), options.flow);
    }
    await tx.query(
        `update auth.users set email_change = $2, email_change_token_new = $3, email_change_token_current = $4,
             email_change_confirm_status = 0, email_change_sent_at = $5 where id = $1`,
        [user.id, newEmail, hashNew, hashCurrent, now],
    );
    await storeOneTimeToken(ctx, tx, user.id, 'email_change_token_new', hashNew, newEmail);
    if (hashCurrent) await storeOneTimeToken(ctx, tx, user.id, 'email_change_token_current', hashCurrent, current);
    else await clearOneTimeTokens(tx, user.id, 'email_change_token_current');
    user.email_change = newEmail;
    user.email_change_sent_at = now;
    if (hashCurrent) {
        await deliver(ctx, tx, current, 'email_change', { otp: otpCurrent, hash: hashCurrent, type: 'email_change', redirectTo: options.redirectTo, email: current, newEmail });
    }
    await deliver(ctx, tx, newEmail, 'email_change', { otp: otpNew, hash: hashNew, type: 'email_change', redirectTo: options.redirectTo, email: current, newEmail });
}

export async function sendReauthentication(ctx: AuthContext, tx: Tx, user: UserRecord): Promise<void> {
    const email = user.email!;
    checkFrequency(ctx, user.reauthentication_sent_at);
    checkEmailRateLimit(ctx, email);
    const otp = generateOtp(ctx.settings.email.otpLength);
    const hash = tokenHash(email, otp);
    const now = ctx.now();
    await tx.query('update auth.users set reauthentication_token = $2, reauthentication_sent_at = $3 where id = $1', [user.id, hash, now]);
    await storeOneTimeToken(ctx, tx, user.id, 'reauthentication_token', hash, email);
    const rendered = renderMail(ctx.settings, 'reauthentication', {
        confirmationUrl: '', token: otp, tokenHash: hash, siteUrl: ctx.settings.siteUrl, email, redirectTo: ctx.settings.siteUrl,
    });
    afterCommit(tx, () => ctx.mail.send({ to: [email], from: ctx.settings.email.from, ...rendered }));
}
