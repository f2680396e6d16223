// Rows of a user as Supabase Auth writes them (auth.users + its email identity), shared by
// the auth server and the test harness so both create users the same way.
import bcrypt from 'bcryptjs';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** GoTrue hashes with bcrypt's default cost. */
export const BCRYPT_COST = 10;
export const INSTANCE_ID = '00000000-0000-0000-0000-000000000000';

export interface NewUser {
    id?: string;
    email?: string | null;
    phone?: string | null;
    password?: string | null;
    /** An existing bcrypt hash, used instead of `password` (admin imports). */
    passwordHash?: string | null;
    /** Email confirmed at creation (default true; the auth server confirms separately). */
    emailConfirmed?: boolean;
    isAnonymous?: boolean;
    appMetadata?: Record<string, unknown> | null;
    userMetadata?: Record<string, unknown> | null;
    role?: string;
    invited?: boolean;
    /**
     * Whether the identity data (sub, email, *_verified) is merged into user_metadata, as
     * sign-ups do (default). The admin API stores user_metadata exactly as given.
     */
    identityInMetadata?: boolean;
    phoneConfirmed?: boolean;
}

export interface UserRow {
    id: string;
    email: string | null;
    raw_app_meta_data: Record<string, unknown>;
    raw_user_meta_data: Record<string, unknown>;
    is_anonymous: boolean;
}

export function hashPassword(password: string): Promise<string> {
    return bcrypt.hash(password, BCRYPT_COST);
}

/**
 * Inserts auth.users and its identity in the caller's transaction, shaped as Supabase Auth
 * does: provider in app_metadata, the identity data (sub, email, *_verified) merged into
 * user_metadata, anonymous users without an identity.
 */
export async function insertAuthUser(db: pg.ClientBase, user: NewUser, now: Date = new Date()): Promise<UserRow> {
    const id = user.id ?? randomUUID();
    const email = user.email ? user.email.toLowerCase() : null;
    const phone = user.phone || null;
    const confirmed = user.emailConfirmed !== false && email !== null;
    // One identity per channel, email first, as GoTrue creates them; anonymous users have none.
    const channels = user.isAnonymous ? [] : [...(email ? ['email'] : []), ...(phone ? ['phone'] : [])];
    if (!user.isAnonymous && channels.length === 0) channels.push('email');
    const identityData = (channel: string): Record<string, unknown> => ({
        sub: id,
        ...(channel === 'email' && email ? { email } : {}),
        ...(channel === 'phone' && phone ? { phone } : {}),
        email_verified: channel === 'email' && confirmed,
        phone_verified: false,
    });
    const provider = user.isAnonymous ? 'anonymous' : channels[0]!;
    const merged = user.identityInMetadata === false || user.isAnonymous ? {} : identityData(channels[0]!);
    const userMetadata = { ...user.userMetadata, ...merged };
    const appMetadata = { provider, providers: user.isAnonymous ? ['anonymous'] : channels, ...user.appMetadata };
    const encrypted = user.passwordHash ?? (user.password ? await hashPassword(user.password) : '');
    const { rows } = await db.query<UserRow>(
        `insert into auth.users (
            instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, phone,
            raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
            confirmation_token, recovery_token, email_change_token_new, email_change, is_anonymous, invited_at, phone_confirmed_at
        ) values ($1, $2, 'authenticated', $3, $4, $5, $6, $7, $8, $9, null, $10, $10, '', '', '', '', $11, $12, $13)
        returning id, email, raw_app_meta_data, raw_user_meta_data, is_anonymous`,
        [
            INSTANCE_ID,
            id,
            user.role || 'authenticated',
            email,
            encrypted,
            confirmed ? now : null,
            phone,
            appMetadata,
            userMetadata,
            now,
            user.isAnonymous ?? false,
            user.invited ? now : null,
            user.phoneConfirmed && phone ? now : null,
        ],
    );
    for (const channel of channels) {
        await db.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5, $5)`,
            [id, id, identityData(channel), channel, now],
        );
    }
    return rows[0]!;
}
