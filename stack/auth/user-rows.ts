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
    emailConfirmed?: boolean;
    isAnonymous?: boolean;
    appMetadata?: Record<string, unknown>;
    userMetadata?: Record<string, unknown>;
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

/** Inserts auth.users and (for email users) auth.identities in the caller's transaction. */
export async function insertAuthUser(db: pg.ClientBase, user: NewUser): Promise<UserRow> {
    const id = user.id ?? randomUUID();
    const email = user.email ? user.email.toLowerCase() : null;
    const provider = user.isAnonymous ? null : email ? 'email' : user.phone ? 'phone' : null;
    const appMetadata = { ...(provider ? { provider, providers: [provider] } : {}), ...user.appMetadata };
    const userMetadata = { ...user.userMetadata };
    const encrypted = user.password ? await hashPassword(user.password) : '';
    const { rows } = await db.query<UserRow>(
        `insert into auth.users (
            instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, phone,
            raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
            confirmation_token, recovery_token, email_change_token_new, email_change, is_anonymous
        ) values ($1, $2, 'authenticated', 'authenticated', $3, $4, $5, $6, $7, $8, null, now(), now(), '', '', '', '', $9)
        returning id, email, raw_app_meta_data, raw_user_meta_data, is_anonymous`,
        [
            INSTANCE_ID,
            id,
            email,
            encrypted,
            user.emailConfirmed === false || !email ? null : new Date(),
            user.phone ?? null,
            appMetadata,
            userMetadata,
            user.isAnonymous ?? false,
        ],
    );
    if (provider) {
        const identityData = {
            sub: id,
            ...(email ? { email } : {}),
            ...(user.phone ? { phone: user.phone } : {}),
            email_verified: false,
            phone_verified: false,
        };
        await db.query(
            `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
             values ($1, $2, $3, $4, now(), now(), now())`,
            [id, id, identityData, provider],
        );
    }
    return rows[0]!;
}
