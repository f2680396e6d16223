// auth.users rows as the auth server reads them, and their JSON as GoTrue serialises a
// user (identities and MFA factors included).
import type pg from 'pg';
import type { GoWebAuthnCredential } from './webauthn.js';

export interface UserRecord {
    id: string;
    aud: string | null;
    role: string | null;
    email: string | null;
    encrypted_password: string | null;
    email_confirmed_at: Date | null;
    invited_at: Date | null;
    confirmation_token: string | null;
    confirmation_sent_at: Date | null;
    recovery_token: string | null;
    recovery_sent_at: Date | null;
    email_change_token_new: string | null;
    email_change: string | null;
    email_change_sent_at: Date | null;
    email_change_token_current: string | null;
    email_change_confirm_status: number | null;
    last_sign_in_at: Date | null;
    raw_app_meta_data: Record<string, unknown> | null;
    raw_user_meta_data: Record<string, unknown> | null;
    created_at: Date | null;
    updated_at: Date | null;
    phone: string | null;
    phone_confirmed_at: Date | null;
    phone_change: string | null;
    phone_change_sent_at: Date | null;
    confirmed_at: Date | null;
    banned_until: Date | null;
    reauthentication_token: string | null;
    reauthentication_sent_at: Date | null;
    is_sso_user: boolean;
    deleted_at: Date | null;
    is_anonymous: boolean;
}

export interface IdentityRecord {
    id: string;
    provider_id: string;
    user_id: string;
    identity_data: Record<string, unknown>;
    provider: string;
    last_sign_in_at: Date | null;
    created_at: Date | null;
    updated_at: Date | null;
    email: string | null;
}

export interface FactorRecord {
    id: string;
    user_id: string;
    friendly_name: string | null;
    factor_type: string;
    status: string;
    created_at: Date;
    updated_at: Date;
    secret: string | null;
    phone: string | null;
    last_challenged_at: Date | null;
    web_authn_credential: GoWebAuthnCredential | null;
    web_authn_aaguid: string | null;
}

export interface LoadedUser extends UserRecord {
    identities: IdentityRecord[];
    factors: FactorRecord[];
}

type Db = Pick<pg.ClientBase, 'query'>;

async function withRelations(db: Db, user: UserRecord | undefined): Promise<LoadedUser | null> {
    if (!user) return null;
    const [identities, factors] = await Promise.all([
        db.query<IdentityRecord>('select * from auth.identities where user_id = $1 order by created_at, id', [user.id]),
        db.query<FactorRecord>('select * from auth.mfa_factors where user_id = $1 order by created_at, id', [user.id]),
    ]);
    return { ...user, identities: identities.rows, factors: factors.rows };
}

export async function findUserById(db: Db, id: string, forUpdate = false): Promise<LoadedUser | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const { rows } = await db.query<UserRecord>(`select * from auth.users where id = $1${forUpdate ? ' for update' : ''}`, [id]);
    return withRelations(db, rows[0]);
}

/** Email users are looked up case-insensitively among non-SSO users, as GoTrue does. */
export async function findUserByEmail(db: Db, email: string): Promise<LoadedUser | null> {
    const { rows } = await db.query<UserRecord>(
        `select * from auth.users where lower(email) = lower($1) and is_sso_user = false and aud = 'authenticated' limit 1`,
        [email],
    );
    return withRelations(db, rows[0]);
}

/** Phone users (stored without "+"), among non-SSO users. */
export async function findUserByPhone(db: Db, phone: string): Promise<LoadedUser | null> {
    const { rows } = await db.query<UserRecord>(`select * from auth.users where phone = $1 and is_sso_user = false and aud = 'authenticated' limit 1`, [phone]);
    return withRelations(db, rows[0]);
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);

export function identityJson(identity: IdentityRecord): Record<string, unknown> {
    return {
        identity_id: identity.id,
        id: identity.provider_id,
        user_id: identity.user_id,
        identity_data: identity.identity_data,
        provider: identity.provider,
        last_sign_in_at: iso(identity.last_sign_in_at),
        created_at: iso(identity.created_at),
        updated_at: iso(identity.updated_at),
        email: identity.email ?? undefined,
    };
}

export function factorJson(factor: FactorRecord): Record<string, unknown> {
    return {
        id: factor.id,
        friendly_name: factor.friendly_name || undefined,
        factor_type: factor.factor_type,
        status: factor.status,
        created_at: iso(factor.created_at),
        updated_at: iso(factor.updated_at),
        last_challenged_at: iso(factor.last_challenged_at),
        phone: factor.phone || undefined,
        web_authn_aaguid: factor.web_authn_aaguid || undefined,
    };
}

/** The user object of GoTrue's responses (omitempty fields left out when unset). */
export function userJson(user: LoadedUser): Record<string, unknown> {
    const body: Record<string, unknown> = {
        id: user.id,
        aud: user.aud ?? '',
        role: user.role ?? '',
        email: user.email ?? '',
        email_confirmed_at: iso(user.email_confirmed_at),
        invited_at: iso(user.invited_at),
        phone: user.phone ?? '',
        phone_confirmed_at: iso(user.phone_confirmed_at),
        confirmation_sent_at: iso(user.confirmation_sent_at),
        confirmed_at: iso(user.confirmed_at),
        recovery_sent_at: iso(user.recovery_sent_at),
        new_email: user.email_change || undefined,
        email_change_sent_at: iso(user.email_change_sent_at),
        new_phone: user.phone_change || undefined,
        phone_change_sent_at: iso(user.phone_change_sent_at),
        reauthentication_sent_at: iso(user.reauthentication_sent_at),
        last_sign_in_at: iso(user.last_sign_in_at),
        app_metadata: user.raw_app_meta_data ?? {},
        user_metadata: user.raw_user_meta_data ?? {},
        identities: user.identities.map(identityJson),
        factors: user.factors.length ? user.factors.map(factorJson) : undefined,
        banned_until: iso(user.banned_until),
        created_at: iso(user.created_at),
        updated_at: iso(user.updated_at),
        deleted_at: iso(user.deleted_at),
        is_anonymous: user.is_anonymous,
    };
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    return body;
}

export function isConfirmed(user: UserRecord): boolean {
    return user.email_confirmed_at !== null || user.phone_confirmed_at !== null;
}

export function isBanned(user: UserRecord, now: Date): boolean {
    return user.banned_until !== null && user.banned_until.getTime() > now.getTime();
}

/** Providers of the user's identities, the first (sign-up) provider kept first. */
export async function refreshProviders(db: Db, user: LoadedUser): Promise<void> {
    const { rows } = await db.query<{ provider: string }>(
        'select provider from auth.identities where user_id = $1 order by created_at, id',
        [user.id],
    );
    const providers = [...new Set(rows.map((r) => r.provider))];
    const app = { ...(user.raw_app_meta_data ?? {}) };
    if (!providers.length) return;
    if (typeof app.provider !== 'string' || app.provider === 'anonymous' || !providers.includes(app.provider)) app.provider = providers[0];
    app.providers = providers;
    await db.query('update auth.users set raw_app_meta_data = $2 where id = $1', [user.id, app]);
    user.raw_app_meta_data = app;
}
