// The auth schema: claim functions read the request's JWT claims; the auth tables have
// Supabase Auth's shape and are closed to the API roles.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../harness/db.js';

const db = useTestDatabase();

describe('auth claim functions', () => {
    it('return what the claims say', async () => {
        const sub = '6f1c1d0e-2b7a-4c55-9a8e-1d5b0f3e7a11';
        const row = await db.asRole('authenticated', { sub, email: 'ada@example.test', aal: 'aal2' }, async (q) => {
            const [r] = await q('select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt');
            return r!;
        });
        expect(row.uid).toBe(sub);
        expect(row.role).toBe('authenticated');
        expect(row.email).toBe('ada@example.test');
        expect(row.jwt).toEqual({ sub, email: 'ada@example.test', aal: 'aal2', role: 'authenticated' });
    });

    it('return null when no claims are set', async () => {
        const [row] = await db.query('select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt');
        expect(row).toEqual({ uid: null, role: null, email: null, jwt: null });
    });

    it('treat empty settings as null', async () => {
        const [row] = await db.query(
            `select set_config('request.jwt.claims', '', false), auth.uid() as uid, auth.jwt() as jwt`,
        );
        expect(row).toMatchObject({ uid: null, jwt: null });
    });

    it('read the legacy per-claim settings', async () => {
        const [row] = await db.query(
            `select set_config('request.jwt.claim.sub', 'a1b2c3d4-0000-4000-8000-000000000001', false),
                    set_config('request.jwt.claim.role', 'anon', false),
                    auth.uid()::text as uid, auth.role() as role`,
        );
        expect(row).toMatchObject({ uid: 'a1b2c3d4-0000-4000-8000-000000000001', role: 'anon' });
    });
});

describe('auth tables', () => {
    const expectedUserColumns: Array<[string, string, string | null]> = [
        ['instance_id', 'uuid', null],
        ['id', 'uuid', null],
        ['aud', 'character varying', null],
        ['role', 'character varying', null],
        ['email', 'character varying', null],
        ['encrypted_password', 'character varying', null],
        ['email_confirmed_at', 'timestamp with time zone', null],
        ['invited_at', 'timestamp with time zone', null],
        ['confirmation_token', 'character varying', null],
        ['confirmation_sent_at', 'timestamp with time zone', null],
        ['recovery_token', 'character varying', null],
        ['recovery_sent_at', 'timestamp with time zone', null],
        ['email_change_token_new', 'character varying', null],
        ['email_change', 'character varying', null],
        ['email_change_sent_at', 'timestamp with time zone', null],
        ['last_sign_in_at', 'timestamp with time zone', null],
        ['raw_app_meta_data', 'jsonb', null],
        ['raw_user_meta_data', 'jsonb', null],
        ['is_super_admin', 'boolean', null],
        ['created_at', 'timestamp with time zone', null],
        ['updated_at', 'timestamp with time zone', null],
        ['phone', 'text', 'NULL::character varying'],
        ['phone_confirmed_at', 'timestamp with time zone', null],
        ['phone_change', 'text', "''::character varying"],
        ['phone_change_token', 'character varying', "''::character varying"],
        ['phone_change_sent_at', 'timestamp with time zone', null],
        ['confirmed_at', 'timestamp with time zone', null],
        ['email_change_token_current', 'character varying', "''::character varying"],
        ['email_change_confirm_status', 'smallint', '0'],
        ['banned_until', 'timestamp with time zone', null],
        ['reauthentication_token', 'character varying', "''::character varying"],
        ['reauthentication_sent_at', 'timestamp with time zone', null],
        ['is_sso_user', 'boolean', 'false'],
        ['deleted_at', 'timestamp with time zone', null],
        ['is_anonymous', 'boolean', 'false'],
    ];

    it('auth.users has every listed column with its type and default', async () => {
        const rows = await db.query<{ column_name: string; data_type: string; column_default: string | null }>(
            `select column_name, data_type, column_default from information_schema.columns
             where table_schema = 'auth' and table_name = 'users'`,
        );
        const actual = new Map(rows.map((r) => [r.column_name, r]));
        for (const [name, type, defaultValue] of expectedUserColumns) {
            expect(actual.get(name), name).toBeDefined();
            expect(actual.get(name)!.data_type, name).toBe(type);
            if (defaultValue !== null) expect(actual.get(name)!.column_default, name).toBe(defaultValue);
        }
    });

    it('auth.users.confirmed_at is generated from the email and phone confirmations', async () => {
        const user = await db.createUser({ email: 'confirmed@example.test' });
        const [row] = await db.query<{ confirmed_at: Date; email_confirmed_at: Date }>(
            'select confirmed_at, email_confirmed_at from auth.users where id = $1',
            [user.id],
        );
        expect(row!.confirmed_at).toEqual(row!.email_confirmed_at);
    });

    it('emails are unique among non-SSO users and deleting a user cascades to identities', async () => {
        const user = await db.createUser({ email: 'unique@example.test' });
        await expect(db.createUser({ email: 'unique@example.test' })).rejects.toMatchObject({ code: '23505' });
        await db.query('delete from auth.users where id = $1', [user.id]);
        expect(await db.query('select 1 from auth.identities where user_id = $1', [user.id])).toHaveLength(0);
    });

    it('every auth table has RLS enabled and is owned by supabase_auth_admin', async () => {
        const rows = await db.query<{ relname: string; relrowsecurity: boolean; owner: string }>(
            `select c.relname, c.relrowsecurity, pg_get_userbyid(c.relowner) as owner from pg_class c
             join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'auth' and c.relkind = 'r'`,
        );
        expect(rows.map((r) => r.relname).sort()).toEqual(
            [
                'audit_log_entries', 'flow_state', 'identities', 'mfa_amr_claims', 'mfa_challenges', 'mfa_factors',
                'oauth_clients', 'one_time_tokens', 'refresh_tokens', 'sessions', 'users', 'webauthn_challenges',
                'webauthn_credentials',
            ],
        );
        for (const row of rows) expect(row, row.relname).toMatchObject({ relrowsecurity: true, owner: 'supabase_auth_admin' });
    });

    it('anon and authenticated cannot read any auth table', async () => {
        const user = await db.createUser();
        const tables = await db.query<{ relname: string }>(
            `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = 'auth' and c.relkind = 'r' order by 1`,
        );
        expect(tables.length).toBeGreaterThanOrEqual(10);
        for (const { relname } of tables) {
            await expect(db.asAnon((q) => q(`select * from auth.${relname}`)), `anon ${relname}`).rejects.toMatchObject({ code: '42501' });
            await expect(db.asUser(user, (q) => q(`select * from auth.${relname}`)), `user ${relname}`).rejects.toMatchObject({
                code: '42501',
            });
        }
    });
});
