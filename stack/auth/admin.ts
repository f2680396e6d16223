// The admin API (service_role / supabase_admin JWTs only): users CRUD with pagination
// headers, MFA factors, generate_link and invite.
import { z } from 'zod';
import { confirmEmail, createUser, mergeMetadata, setEmailIdentity, setPhoneIdentity } from './accounts.js';
import { audit, transaction, type AuthContext, type RequestFacts, type Tx } from './context.js';
import { badRequest, DUPLICATE_EMAIL, DUPLICATE_PHONE, notFound, unprocessable } from './errors.js';
import { deleteFactor } from './mfa.js';
import {
    clearOneTimeTokens,
    generateOtp,
    sendConfirmation,
    storeOneTimeToken,
    tokenHash,
    verifyLink,
} from './one-time-tokens.js';
import { checkPasswordStrength } from './passwords.js';
import { redirectTarget } from './redirects.js';
import { json, optRecord, optString, readBody, requireAdmin } from './request.js';
import { validateEmail, validatePhone } from './validation.js';
import { pageHeaders, readPage } from './pagination.js';
import { parseDuration } from './settings.js';
import { hashPassword } from './user-rows.js';
import { factorJson, findUserByEmail, findUserById, findUserByPhone, isConfirmed, userJson, type LoadedUser, type UserRecord } from './users.js';

const userNotFound = () => notFound('user_not_found', 'User not found');

async function loadUser(ctx: AuthContext, db: Pick<Tx, 'query'>, id: string): Promise<LoadedUser> {
    const user = await findUserById(db, id);
    if (!user) throw userNotFound();
    return user;
}

export async function listUsers(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireAdmin(ctx, request);
    const q = facts.url.searchParams;
    const page = readPage(q);
    const filter = q.get('filter') ?? '';
    const where = filter ? `where aud = 'authenticated' and (email ilike $3 or raw_user_meta_data->>'full_name' ilike $3)` : `where aud = 'authenticated'`;
    const params: unknown[] = [page.perPage, page.offset];
    if (filter) params.push(`%${filter}%`);
    const { rows } = await ctx.pool.query<UserRecord>(`select id from auth.users ${where} order by created_at desc, id limit $1 offset $2`, params);
    const countParams = filter ? [`%${filter}%`] : [];
    const countWhere = filter ? where.replaceAll('$3', '$1') : where;
    const { rows: counted } = await ctx.pool.query<{ count: string }>(`select count(*) from auth.users ${countWhere}`, countParams);
    const total = Number(counted[0]!.count);
    const users = [];
    for (const row of rows) {
        const user = await findUserById(ctx.pool, row.id);
        if (user) users.push(userJson(user));
    }
    return json(200, { users, aud: 'authenticated' }, pageHeaders('/admin/users', q, page, total));
}

const AdminUserBody = z
    .object({
        id: optString,
        aud: optString,
        role: optString,
        email: optString,
        phone: optString,
        password: z.string().nullish(),
        password_hash: optString,
        email_confirm: z.boolean().nullish(),
        phone_confirm: z.boolean().nullish(),
        user_metadata: optRecord,
        app_metadata: optRecord,
        ban_duration: optString,
    })
    .passthrough();

function banUntil(ctx: AuthContext, duration: string): Date | null {
    if (duration === 'none') return null;
    try {
        return new Date(ctx.now().getTime() + parseDuration(duration));
    } catch {
        throw badRequest('validation_failed', `invalid format for ban duration: time: invalid duration "${duration}"`);
    }
}

export async function createUserAdmin(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireAdmin(ctx, request);
    const body = await readBody(request, AdminUserBody);
    if (!body.email && !body.phone) throw badRequest('validation_failed', 'Cannot create a user without either an email or phone');
    const email = body.email ? validateEmail(body.email) : null;
    const phone = body.phone ? validatePhone(body.phone) : null;
    if (body.password) checkPasswordStrength(ctx.settings, body.password);
    if (body.id && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(body.id)) {
        throw badRequest('validation_failed', 'id must be a valid UUID');
    }
    const user = await transaction(ctx, async (tx) => {
        if (email && (await findUserByEmail(tx, email))) throw unprocessable('email_exists', DUPLICATE_EMAIL);
        if (phone && (await findUserByPhone(tx, phone))) throw unprocessable('phone_exists', DUPLICATE_PHONE);
        if (body.id && (await findUserById(tx, body.id))) throw unprocessable('user_already_exists', 'User already registered');
        const created = await createUser(ctx, tx, {
            id: body.id || undefined,
            email,
            phone,
            password: body.password || null,
            passwordHash: body.password_hash || null,
            // Stored as given: the admin API does not copy the identity into user_metadata.
            userMetadata: body.user_metadata ?? {},
            identityInMetadata: false,
            appMetadata: body.app_metadata ?? {},
            confirmed: body.email_confirm ?? false,
            phoneConfirmed: body.phone_confirm ?? false,
            role: body.role || 'authenticated',
        });
        if (body.ban_duration) {
            await tx.query('update auth.users set banned_until = $2 where id = $1', [created.id, banUntil(ctx, body.ban_duration)]);
        }
        const provider = email ? 'email' : 'phone';
        await audit(ctx, tx, facts, created, 'user_signedup', { provider, user_id: created.id, user_email: email ?? '', user_phone: phone ?? '' });
        return loadUser(ctx, tx, created.id);
    });
    return json(200, userJson(user));
}

export async function getUserAdmin(ctx: AuthContext, request: Request, _facts: RequestFacts, id: string): Promise<Response> {
    await requireAdmin(ctx, request);
    return json(200, userJson(await loadUser(ctx, ctx.pool, id)));
}

export async function updateUserAdmin(ctx: AuthContext, request: Request, facts: RequestFacts, id: string): Promise<Response> {
    await requireAdmin(ctx, request);
    const body = await readBody(request, AdminUserBody);
    if (body.password !== undefined && body.password !== null) checkPasswordStrength(ctx.settings, body.password);
    const email = body.email ? validateEmail(body.email) : '';
    const phone = body.phone ? validatePhone(body.phone) : '';
    const user = await transaction(ctx, async (tx) => {
        const now = ctx.now();
        const user = await loadUser(ctx, tx, id);
        if (body.ban_duration) await tx.query('update auth.users set banned_until = $2 where id = $1', [id, banUntil(ctx, body.ban_duration)]);
        if (body.ban_duration && body.ban_duration !== 'none') await tx.query('delete from auth.sessions where user_id = $1', [id]);
        if (email && email !== user.email) {
            const other = await findUserByEmail(tx, email);
            if (other && other.id !== id) throw unprocessable('email_exists', DUPLICATE_EMAIL);
            await tx.query(`update auth.users set email = $2::text, raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || jsonb_build_object('email', $2::text) where id = $1`, [id, email]);
            await setEmailIdentity(tx, user, email, now);
        }
        if (phone && phone !== user.phone) {
            const other = await findUserByPhone(tx, phone);
            if (other && other.id !== id) throw unprocessable('phone_exists', DUPLICATE_PHONE);
            await tx.query('update auth.users set phone = $2 where id = $1', [id, phone]);
            await setPhoneIdentity(tx, user, phone, now);
        }
        if (body.phone_confirm) await tx.query('update auth.users set phone_confirmed_at = coalesce(phone_confirmed_at, $2) where id = $1 and phone is not null', [id, now]);
        if (body.password !== undefined && body.password !== null) {
            await tx.query('update auth.users set encrypted_password = $2 where id = $1', [id, body.password ? await hashPassword(body.password) : '']);
        }
        if (body.password_hash) await tx.query('update auth.users set encrypted_password = $2 where id = $1', [id, body.password_hash]);
        if (body.email_confirm) await confirmEmail(ctx, tx, (await findUserById(tx, id))!);
        if (body.app_metadata) {
            await tx.query('update auth.users set raw_app_meta_data = $2 where id = $1', [id, mergeMetadata(user.raw_app_meta_data, body.app_metadata)]);
        }
        if (body.user_metadata) {
            const { rows } = await tx.query<{ m: Record<string, unknown> | null }>('select raw_user_meta_data as m from auth.users where id = $1', [id]);
            await tx.query('update auth.users set raw_user_meta_data = $2 where id = $1', [id, mergeMetadata(rows[0]?.m ?? {}, body.user_metadata)]);
        }
        if (body.role) await tx.query('update auth.users set role = $2 where id = $1', [id, body.role]);
        await tx.query('update auth.users set updated_at = $2 where id = $1', [id, now]);
        await audit(ctx, tx, facts, user, 'user_modified');
        return loadUser(ctx, tx, id);
    });
    return json(200, userJson(user));
}

export async function deleteUserAdmin(ctx: AuthContext, request: Request, facts: RequestFacts, id: string): Promise<Response> {
    await requireAdmin(ctx, request);
    const body = await readBody(request, z.object({ should_soft_delete: z.boolean().nullish() }).passthrough());
    await transaction(ctx, async (tx) => {
        const user = await loadUser(ctx, tx, id);
        await audit(ctx, tx, facts, user, 'user_deleted', { user_id: id, user_email: user.email ?? '', user_phone: user.phone ?? '' });
        if (body.should_soft_delete) {
            await tx.query('delete from auth.sessions where user_id = $1', [id]);
            await tx.query('delete from auth.identities where user_id = $1', [id]);
            await tx.query('delete from auth.mfa_factors where user_id = $1', [id]);
            await tx.query('delete from auth.webauthn_credentials where user_id = $1', [id]);
            await clearOneTimeTokens(tx, id);
            await tx.query(
                `update auth.users set deleted_at = $2, email = null, phone = null, encrypted_password = '',
                     raw_user_meta_data = '{}'::jsonb, raw_app_meta_data = '{}'::jsonb where id = $1`,
                [id, ctx.now()],
            );
        } else {
            await tx.query('delete from auth.users where id = $1', [id]);
        }
    });
    return json(200, {});
}

export async function listFactorsAdmin(ctx: AuthContext, request: Request, _facts: RequestFacts, id: string): Promise<Response> {
    await requireAdmin(ctx, request);
    const user = await loadUser(ctx, ctx.pool, id);
    return json(200, user.factors.map(factorJson));
}

export async function factorAdmin(ctx: AuthContext, request: Request, facts: RequestFacts, id: string, factorId: string): Promise<Response> {
    await requireAdmin(ctx, request);
    const user = await loadUser(ctx, ctx.pool, id);
    const factor = user.factors.find((f) => f.id === factorId);
    if (!factor) throw notFound('mfa_factor_not_found', 'Factor not found');
    if (request.method === 'GET') return json(200, factorJson(factor));
    if (request.method === 'PUT') {
        const body = await readBody(request, z.object({ friendly_name: optString }).passthrough());
        const { rows } = await ctx.pool.query('update auth.mfa_factors set friendly_name = $2, updated_at = $3 where id = $1 returning *', [
            factor.id,
            body.friendly_name,
            ctx.now(),
        ]);
        return json(200, factorJson(rows[0]));
    }
    await transaction(ctx, async (tx) => {
        await deleteFactor(ctx, tx, factor);
        await audit(ctx, tx, facts, user, 'factor_deleted', { factor_id: factor.id });
    });
    return json(200, factorJson(factor));
}

const GenerateLinkBody = z
    .object({ type: optString, email: optString, new_email: optString, password: optString, data: optRecord, redirect_to: optString })
    .passthrough();

const LINK_TYPES = ['signup', 'invite', 'magiclink', 'recovery', 'email_change_current', 'email_change_new'];

export async function generateLink(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireAdmin(ctx, request);
    const body = await readBody(request, GenerateLinkBody);
    if (!LINK_TYPES.includes(body.type)) throw badRequest('validation_failed', `Invalid email action link type requested: ${body.type}`);
    const email = validateEmail(body.email);
    const redirectTo = redirectTarget(ctx, facts, body.redirect_to);
    const result = await transaction(ctx, async (tx) => {
        const now = ctx.now();
        let user = await findUserByEmail(tx, email);
        const otp = generateOtp(ctx.settings.email.otpLength);
        let hash = tokenHash(email, otp);
        let verificationType = body.type;
        switch (body.type) {
            case 'magiclink':
            case 'recovery':
                if (!user) {
                    if (body.type === 'recovery') throw notFound('user_not_found', 'User with this email not found');
                    user = await createUser(ctx, tx, { email, password: null, userMetadata: body.data ?? {} });
                }
                await tx.query('update auth.users set recovery_token = $2, recovery_sent_at = $3 where id = $1', [user.id, hash, now]);
                await storeOneTimeToken(ctx, tx, user.id, 'recovery_token', hash, email);
                break;
            case 'invite':
            case 'signup':
                if (user && isConfirmed(user)) throw unprocessable('email_exists', DUPLICATE_EMAIL);
                if (body.type === 'signup') {
                    if (!user && !body.password) throw unprocessable('validation_failed', 'Signup requires a valid password');
                    if (body.password) checkPasswordStrength(ctx.settings, body.password);
                }
                if (!user) user = await createUser(ctx, tx, { email, password: body.password || null, userMetadata: body.data ?? {}, invited: body.type === 'invite' });
                else if (body.data) {
                    await tx.query('update auth.users set raw_user_meta_data = $2 where id = $1', [user.id, mergeMetadata(user.raw_user_meta_data, body.data)]);
                }
                await tx.query(
                    `update auth.users set confirmation_token = $2, confirmation_sent_at = $3${body.type === 'invite' ? ', invited_at = $3' : ''} where id = $1`,
                    [user.id, hash, now],
                );
                await storeOneTimeToken(ctx, tx, user.id, 'confirmation_token', hash, email);
                if (body.type === 'invite') await audit(ctx, tx, facts, user, 'user_invited', { user_id: user.id, user_email: email });
                break;
            default: {
                if (!user) throw notFound('user_not_found', 'User with this email not found');
                const newEmail = validateEmail(body.new_email);
                const other = await findUserByEmail(tx, newEmail);
                if (other) throw unprocessable('email_exists', DUPLICATE_EMAIL);
                const otherOtp = generateOtp(ctx.settings.email.otpLength);
                const currentHash = body.type === 'email_change_current' ? tokenHash(email, otp) : tokenHash(email, otherOtp);
                const newHash = body.type === 'email_change_new' ? tokenHash(newEmail, otp) : tokenHash(newEmail, otherOtp);
                hash = body.type === 'email_change_current' ? currentHash : newHash;
                await tx.query(
                    `update auth.users set email_change = $2, email_change_token_current = $3, email_change_token_new = $4,
                         email_change_sent_at = $5, email_change_confirm_status = 0 where id = $1`,
                    [user.id, newEmail, ctx.settings.email.doubleConfirmChanges ? currentHash : '', newHash, now],
                );
                await storeOneTimeToken(ctx, tx, user.id, 'email_change_token_new', newHash, newEmail);
                if (ctx.settings.email.doubleConfirmChanges) await storeOneTimeToken(ctx, tx, user.id, 'email_change_token_current', currentHash, email);
                verificationType = 'email_change';
            }
        }
        const fresh = await loadUser(ctx, tx, user.id);
        return { user: fresh, hash, otp, verificationType };
    });
    return json(200, {
        ...userJson(result.user),
        action_link: verifyLink(ctx, result.hash, result.verificationType, redirectTo),
        email_otp: result.otp,
        hashed_token: result.hash,
        verification_type: result.verificationType,
        redirect_to: redirectTo,
    });
}

export async function invite(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireAdmin(ctx, request);
    const body = await readBody(request, z.object({ email: optString, data: optRecord }).passthrough());
    const email = validateEmail(body.email);
    const redirectTo = redirectTarget(ctx, facts);
    const user = await transaction(ctx, async (tx) => {
        let user = await findUserByEmail(tx, email);
        if (user && isConfirmed(user)) throw unprocessable('email_exists', DUPLICATE_EMAIL);
        if (!user) user = await createUser(ctx, tx, { email, password: null, userMetadata: body.data ?? {}, invited: true });
        await audit(ctx, tx, facts, user, 'user_invited', { user_id: user.id, user_email: email });
        await sendConfirmation(ctx, tx, user, { redirectTo, flow: 'implicit', invite: true, force: true });
        return loadUser(ctx, tx, user.id);
    });
    return json(200, userJson(user));
}
