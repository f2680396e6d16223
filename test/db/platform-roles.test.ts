// The Supabase roles exist with docs/platform.md's attributes, and authenticator (the REST
// server's login) can become exactly the three API roles.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../harness/db.js';
import { createPgClient } from '../../stack/db/connect.js';

const db = useTestDatabase();

async function asAuthenticator<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const url = new URL(db.url);
    url.username = 'authenticator';
    url.password = 'postgres';
    const client = createPgClient(url.toString());
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end();
    }
}

describe('platform roles', () => {
    it.each([
        ['anon', { rolcanlogin: false, rolinherit: true, rolbypassrls: false, rolsuper: false }],
        ['authenticated', { rolcanlogin: false, rolinherit: true, rolbypassrls: false, rolsuper: false }],
        ['service_role', { rolcanlogin: false, rolinherit: true, rolbypassrls: true, rolsuper: false }],
        ['authenticator', { rolcanlogin: true, rolinherit: false, rolbypassrls: false, rolsuper: false }],
        ['supabase_auth_admin', { rolcanlogin: true, rolinherit: false, rolcreaterole: true, rolsuper: false }],
        ['supabase_admin', { rolsuper: true }],
    ])('%s has the attributes of docs/platform.md', async (role, attributes) => {
        const [row] = await db.query('select * from pg_roles where rolname = $1', [role]);
        expect(row).toMatchObject(attributes);
    });

    it.each([
        ['anon', 'statement_timeout=3s'],
        ['authenticated', 'statement_timeout=8s'],
        ['authenticator', 'statement_timeout=8s'],
        ['authenticator', 'lock_timeout=8s'],
        ['supabase_auth_admin', 'search_path=auth'],
    ])('%s has the role setting %s', async (role, setting) => {
        const rows = await db.query<{ setting: string }>(
            `select unnest(s.setconfig) as setting from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
             where r.rolname = $1 and s.setdatabase = 0`,
            [role],
        );
        expect(rows.map((r) => r.setting)).toContain(setting);
    });

    it('postgres and authenticator are members of the three API roles', async () => {
        const rows = await db.query<{ member: string; role: string }>(
            `select m.rolname as member, r.rolname as role from pg_auth_members am
             join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member
             where m.rolname in ('postgres', 'authenticator') and r.rolname in ('anon', 'authenticated', 'service_role')`,
        );
        expect(rows).toHaveLength(6);
    });

    it.each(['anon', 'authenticated', 'service_role'])('authenticator can switch to %s', async (role) => {
        const current = await asAuthenticator(async (client) => {
            await client.query(`set role ${role}`);
            return (await client.query('select current_user as u')).rows[0].u;
        });
        expect(current).toBe(role);
    });

    it.each(['postgres', 'supabase_admin', 'supabase_auth_admin', 'dashboard_user'])(
        'authenticator cannot switch to %s',
        async (role) => {
            await expect(asAuthenticator((client) => client.query(`set role ${role}`))).rejects.toMatchObject({ code: '42501' });
        },
    );

    it('authenticator alone reads no table in public (NOINHERIT)', async () => {
        await db.query('create table public.secret_probe (id int)');
        await expect(asAuthenticator((client) => client.query('select * from public.secret_probe'))).rejects.toMatchObject({
            code: '42501',
        });
    });

    it('public and extensions are usable by the API roles; pgcrypto and uuid-ossp live in extensions', async () => {
        const [row] = await db.query(
            `select bool_and(has_schema_privilege(r, 'public', 'usage') and has_schema_privilege(r, 'extensions', 'usage')) as ok
             from unnest(array['anon', 'authenticated', 'service_role']) r`,
        );
        expect(row!.ok).toBe(true);
        const extensions = await db.query(
            `select e.extname, n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
             where e.extname in ('pgcrypto', 'uuid-ossp') order by 1`,
        );
        expect(extensions).toEqual([
            { extname: 'pgcrypto', nspname: 'extensions' },
            { extname: 'uuid-ossp', nspname: 'extensions' },
        ]);
    });

    it('a table postgres creates in public is granted to the API roles by default privileges', async () => {
        await db.query('create table public.default_grant_probe (id int)');
        const rows = await db.query<{ grantee: string }>(
            `select distinct grantee from information_schema.role_table_grants
             where table_schema = 'public' and table_name = 'default_grant_probe' order by 1`,
        );
        expect(rows.map((r) => r.grantee)).toEqual(expect.arrayContaining(['anon', 'authenticated', 'service_role']));
    });
});
