// Writing users as Supabase Auth does: a new user with its email identity (identity data
// merged into user_metadata), confirmation, and the final step of an email change.
import type { AuthContext, Tx } from './context.js';
import { clearOneTimeTokens } from './one-time-tokens.js';
import { insertAuthUser, type NewUser } from './user-rows.js';
import { findUserById, refreshProviders, type LoadedUser } from './users.js';

export type CreateUser = Omit<NewUser, 'emailConfirmed'> & { confirmed?: boolean };

/** A new user as signup, invite and the admin API create it: inserted unconfirmed, then confirmed if asked. */
export async function createUser(ctx: AuthContext, tx: Tx, input: CreateUser): Promise<LoadedUser> {
    const { confirmed, ...user } = input;
    const { id } = await insertAuthUser(tx, { ...user, emailConfirmed: false }, ctx.now());
    const created = (await findUserById(tx, id))!;
    if (!confirmed || !created.email) return created;
    await confirmEmail(ctx, tx, created);
    return (await findUserById(tx, id))!;
}

/** Marks the email confirmed (email_verified in user_metadata and identity data), clearing tokens. */
export async function confirmEmail(ctx: AuthContext, tx: Tx, user: LoadedUser): Promise<void> {
    const now = ctx.now();
    await tx.query(
        `update auth.users set email_confirmed_at = coalesce(email_confirmed_at, $2), confirmation_token = '',
             raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}'::jsonb, updated_at = $2
         where id = $1`,
        [user.id, now],
    );
    await tx.query(
        `update auth.identities set identity_data = identity_data || '{"email_verified": true}'::jsonb, updated_at = $2
         where user_id = $1 and provider = 'email'`,
        [user.id, now],
    );
    await clearOneTimeTokens(tx, user.id);
}

/** Applies a pending email change: new address, identity, no longer anonymous, confirmed. */
export async function confirmEmailChange(ctx: AuthContext, tx: Tx, user: LoadedUser): Promise<void> {
    const now = ctx.now();
    const email = (user.email_change ?? '').toLowerCase();
    await tx.query(
        `update auth.users set email = $2::text, email_change = '', email_change_token_current = '', email_change_token_new = '',
             email_change_confirm_status = 0, is_anonymous = false, email_confirmed_at = coalesce(email_confirmed_at, $3),
             raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || jsonb_build_object('email', $2::text), updated_at = $3
         where id = $1`,
        [user.id, email, now],
    );
    await setEmailIdentity(tx, user, email, now);
    await clearOneTimeTokens(tx, user.id);
    const fresh = (await findUserById(tx, user.id))!;
    await refreshProviders(tx, fresh);
}

/** Points the user's email identity at `email`, creating it for users who had none (anonymous, phone). */
export async function setEmailIdentity(tx: Tx, user: LoadedUser, email: string, now: Date): Promise<void> {
    const identity = user.identities.find((i) => i.provider === 'email');
    if (identity) {
        await tx.query(`update auth.identities set identity_data = identity_data || jsonb_build_object('email', $2::text), updated_at = $3 where id = $1`, [
            identity.id,
            email,
            now,
        ]);
    } else {
        await tx.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, 'email', $4, $4, $4)`,
            [user.id, user.id, { sub: user.id, email, email_verified: false, phone_verified: false }, now],
        );
    }
}

/** Deep-merges like GoTrue's UpdateUserMetaData: top-level keys replaced, null deletes. */
export function mergeMetadata(current: Record<string, unknown> | null, update: Record<string, unknown>): Record<string, unknown> {
    const result = { ...(current ?? {}) };
    for (const [key, value] of Object.entries(update)) {
        if (value === null) delete result[key];
        else result[key] = value;
    }
    return result;
}

/** Points the user's phone identity at `phone`, creating it when the user had none. */
export async function setPhoneIdentity(tx: Tx, user: LoadedUser, phone: string, now: Date): Promise<void> {
    const identity = user.identities.find((i) => i.provider === 'phone');
    if (identity) {
        await tx.query(`update auth.identities set identity_data = identity_data || jsonb_build_object('phone', $2::text), updated_at = $3 where id = $1`, [
            identity.id,
            phone,
            now,
        ]);
    } else {
        await tx.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, 'phone', $4, $4, $4)`,
            [user.id, user.id, { sub: user.id, phone, email_verified: false, phone_verified: false }, now],
        );
    }
    const fresh = (await findUserById(tx, user.id))!;
    await refreshProviders(tx, fresh);
}
