// Writing users as Supabase Auth does: a new user with its email identity (identity data
// merged into user_metadata), confirmation, and the final step of an email change.
import { randomUUID } from 'node:crypto';
import type { AuthContext, Tx } from './context.js';
import { clearOneTimeTokens } from './one-time-tokens.js';
import { hashPassword, INSTANCE_ID } from './user-rows.js';
import { findUserById, refreshProviders, type LoadedUser } from './users.js';

export interface CreateUser {
    email?: string | null;
    phone?: string | null;
    password?: string | null;
    passwordHash?: string | null;
    userMetadata?: Record<string, unknown> | null;
    appMetadata?: Record<string, unknown> | null;
    isAnonymous?: boolean;
    confirmed?: boolean;
    role?: string;
    id?: string;
    invited?: boolean;
}

export async function createUser(ctx: AuthContext, tx: Tx, input: CreateUser): Promise<LoadedUser> {
    const id = input.id ?? randomUUID();
    const now = ctx.now();
    const email = input.email ? input.email.toLowerCase() : null;
    const phone = input.phone || null;
    const provider = input.isAnonymous ? 'anonymous' : email ? 'email' : phone ? 'phone' : 'email';
    const identityData: Record<string, unknown> | null = input.isAnonymous
        ? null
        : { sub: id, ...(email ? { email } : {}), ...(phone ? { phone } : {}), email_verified: false, phone_verified: false };
    const userMetadata = { ...(input.userMetadata ?? {}), ...(identityData ?? {}) };
    const appMetadata = { provider, providers: [provider], ...(input.appMetadata ?? {}) };
    const encrypted = input.passwordHash ?? (input.password ? await hashPassword(input.password) : '');
    await tx.query(
        `insert into auth.users (
            instance_id, id, aud, role, email, encrypted_password, phone, raw_app_meta_data, raw_user_meta_data,
            is_super_admin, created_at, updated_at, confirmation_token, recovery_token, email_change_token_new,
            email_change, is_anonymous, invited_at
        ) values ($1, $2, 'authenticated', $3, $4, $5, $6, $7, $8, null, $9, $9, '', '', '', '', $10, $11)`,
        [INSTANCE_ID, id, input.role || 'authenticated', email, encrypted, phone, appMetadata, userMetadata, now, input.isAnonymous ?? false, input.invited ? now : null],
    );
    if (identityData) {
        await tx.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5, $5)`,
            [id, id, identityData, email ? 'email' : 'phone', now],
        );
    }
    const user = (await findUserById(tx, id))!;
    if (input.confirmed && email) await confirmEmail(ctx, tx, user);
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
    const identity = user.identities.find((i) => i.provider === 'email');
    if (identity) {
        await tx.query(`update auth.identities set identity_data = identity_data || jsonb_build_object('email', $2::text), updated_at = $3 where id = $1`, [
            identity.id,
            email,
            now,
        ]);
    } else {
        const data = { sub: user.id, email, email_verified: false, phone_verified: false };
        await tx.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, 'email', $4, $4, $4)`,
            [user.id, user.id, data, now],
        );
    }
    await clearOneTimeTokens(tx, user.id);
    const fresh = (await findUserById(tx, user.id))!;
    await refreshProviders(tx, fresh);
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
