// GET /user, PUT /user (metadata, password, email change with double confirmation) and
// GET /reauthenticate. app_metadata is never writable here.
import { z } from 'zod';
import { confirmEmailChange, mergeMetadata } from './accounts.js';
import { audit, transaction, type AuthContext, type RequestFacts } from './context.js';
import { badRequest, DUPLICATE_EMAIL, forbidden, unprocessable } from './errors.js';
import { requireManualLinking } from './external.js';
import { clearOneTimeTokens, sendEmailChange, sendReauthentication, tokenExpired, tokenHash, tokenMatches } from './one-time-tokens.js';
import { checkPasswordStrength, passwordMatches } from './passwords.js';
import { createFlowState, flowOf } from './pkce.js';
import { redirectTarget } from './redirects.js';
import { json, optRecord, optString, readBody, requireUser } from './request.js';
import { validateEmail } from './validation.js';
import { hashPassword } from './user-rows.js';
import { findUserByEmail, findUserById, refreshProviders, userJson } from './users.js';

export async function getUser(ctx: AuthContext, request: Request): Promise<Response> {
    const { user } = await requireUser(ctx, request);
    return json(200, userJson(user));
}

const UpdateBody = z
    .object({
        email: optString,
        phone: optString,
        password: z.string().nullish(),
        nonce: optString,
        data: optRecord,
        app_metadata: optRecord,
        code_challenge: optString,
        code_challenge_method: optString,
        channel: optString,
    })
    .passthrough();

const REAUTH_WINDOW_MS = 24 * 3600_000;

export async function updateUser(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const { user, session } = await requireUser(ctx, request);
    const body = await readBody(request, UpdateBody);
    const email = body.email ? validateEmail(body.email) : '';
    if (body.phone) throw badRequest('phone_provider_disabled', 'Unsupported phone provider');
    if (body.password !== undefined && body.password !== null) checkPasswordStrength(ctx.settings, body.password);
    if (body.app_metadata) throw forbidden('not_admin', 'Updating app_metadata requires admin privileges');
    if (user.is_anonymous && body.password && !email) {
        throw unprocessable('validation_failed', 'Updating password of an anonymous user without an email or phone is not allowed');
    }
    const flow = flowOf(body);
    const changingEmail = !!email && email !== (user.email ?? '').toLowerCase();
    if (changingEmail) {
        const duplicate = await findUserByEmail(ctx.pool, email);
        if (duplicate && duplicate.id !== user.id) throw unprocessable('email_exists', DUPLICATE_EMAIL);
    }
    const redirectTo = redirectTarget(ctx, facts);
    const updated = await transaction(ctx, async (tx) => {
        const now = ctx.now();
        await tx.query('select 1 from auth.users where id = $1 for update', [user.id]);
        if (body.password !== undefined && body.password !== null) {
            const password = body.password;
            const recent = session && now.getTime() - session.created_at.getTime() < REAUTH_WINDOW_MS;
            if (ctx.settings.email.securePasswordChange && !recent) {
                if (!body.nonce) throw badRequest('reauthentication_needed', 'Password update requires reauthentication');
                const fresh = (await findUserById(tx, user.id))!;
                const valid =
                    tokenMatches(fresh.reauthentication_token, tokenHash(fresh.email ?? '', body.nonce.trim()), true) &&
                    !tokenExpired(ctx, fresh.reauthentication_sent_at);
                if (!valid) throw unprocessable('reauthentication_not_valid', 'Requires reauthentication');
            }
            if (password && user.encrypted_password && (await passwordMatches(password, user.encrypted_password))) {
                throw unprocessable('same_password', 'New password should be different from the old password.');
            }
            await tx.query(
                `update auth.users set encrypted_password = $2, recovery_token = '', reauthentication_token = '',
                     reauthentication_sent_at = null, updated_at = $3 where id = $1`,
                [user.id, await hashPassword(password), now],
            );
            await clearOneTimeTokens(tx, user.id);
            // A new password signs every other session out.
            if (session) await tx.query('delete from auth.sessions where user_id = $1 and id <> $2', [user.id, session.id]);
            else await tx.query('delete from auth.sessions where user_id = $1', [user.id]);
            await audit(ctx, tx, facts, user, 'user_updated_password');
        }
        if (body.data) {
            const { rows } = await tx.query<{ raw_user_meta_data: Record<string, unknown> | null }>('select raw_user_meta_data from auth.users where id = $1', [user.id]);
            await tx.query('update auth.users set raw_user_meta_data = $2, updated_at = $3 where id = $1', [
                user.id,
                mergeMetadata(rows[0]?.raw_user_meta_data ?? {}, body.data),
                now,
            ]);
        }
        if (changingEmail) {
            const fresh = (await findUserById(tx, user.id))!;
            if (fresh.is_anonymous && ctx.settings.email.autoconfirm) {
                // An anonymous user adding an email with confirmations off is like signing up.
                fresh.email_change = email;
                await confirmEmailChange(ctx, tx, fresh);
            } else {
                if (flow === 'pkce') await createFlowState(ctx, tx, user.id, 'email_change', body);
                await sendEmailChange(ctx, tx, fresh, email, { redirectTo, flow });
            }
        }
        await audit(ctx, tx, facts, user, 'user_modified');
        return (await findUserById(tx, user.id))!;
    });
    return json(200, userJson(updated));
}

export async function reauthenticate(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    const { user } = await requireUser(ctx, request);
    if (!user.email) throw unprocessable('validation_failed', 'Reauthentication requires the user to have an email or a phone number');
    if (!user.email_confirmed_at) throw unprocessable('email_not_confirmed', 'Please verify your email first.');
    await transaction(ctx, async (tx) => {
        await audit(ctx, tx, facts, user, 'user_reauthenticate_requested');
        await sendReauthentication(ctx, tx, user);
    });
    return json(200, {});
}

/** DELETE /user/identities/{id}: unlink an identity (manual linking must be enabled; one must remain). */
export async function unlinkIdentity(ctx: AuthContext, request: Request, facts: RequestFacts, identityId: string): Promise<Response> {
    const { user } = await requireUser(ctx, request);
    requireManualLinking(ctx);
    if (user.identities.length <= 1) throw unprocessable('single_identity_not_deletable', 'User must have at least 1 identity after unlinking');
    const identity = user.identities.find((i) => i.id === identityId);
    if (!identity) throw unprocessable('identity_not_found', "Identity doesn't exist");
    await transaction(ctx, async (tx) => {
        await tx.query('delete from auth.identities where id = $1', [identity.id]);
        await refreshProviders(tx, (await findUserById(tx, user.id))!);
        await audit(ctx, tx, facts, user, 'identity_unlinked', { identity_id: identity.id, provider: identity.provider, provider_id: identity.provider_id });
    });
    return json(200, {});
}
