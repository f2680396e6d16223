// The custom access token hook: run as the auth server runs it (as supabase_auth_admin,
// `select public.custom_access_token_hook($1::jsonb)`), it adds `user_role` from the
// staff table and nothing else decides a role.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, type TestUser } from '../../harness/db.js';
import { createStaff, type Staff } from '../../harness/commerce-shop.js';
import { createPgClient } from '../../../stack/db/connect.js';

const db = useTestDatabase();

let customer: TestUser;
let schemer: TestUser;
let finance: Staff;

beforeAll(async () => {
    customer = await db.createUser({ email: 'customer@example.test' });
    schemer = await db.createUser({ email: 'schemer@example.test', userMetadata: { user_role: 'admin', role: 'service_role' } });
    finance = await createStaff(db, 'finance');
});

/** Calls the hook exactly as the auth server does, logged in as supabase_auth_admin. */
async function runHook(user: TestUser, claims: Record<string, unknown>): Promise<{ claims: Record<string, unknown> }> {
    const url = new URL(db.url);
    url.username = 'supabase_auth_admin';
    url.password = 'postgres';
    const client = createPgClient(url.toString());
    await client.connect();
    try {
        const { rows } = await client.query('select public.custom_access_token_hook($1::jsonb) as result', [
            JSON.stringify({ user_id: user.id, claims, authentication_method: 'password' }),
        ]);
        return rows[0].result;
    } finally {
        await client.end();
    }
}

describe('custom access token hook', () => {
    it('adds the staff role as user_role and keeps every other claim', async () => {
        const claims = finance.claims();
        const result = await runHook(finance, claims);
        expect(result.claims).toEqual({ ...claims, user_role: 'finance' });
    });

    it('gives a customer no user_role, even when the incoming claims carry one', async () => {
        const result = await runHook(customer, { ...customer.claims(), user_role: 'admin' });
        expect(result.claims).not.toHaveProperty('user_role');
        expect(result.claims.role).toBe('authenticated');
    });

    it('ignores a role a user wrote into their own user metadata', async () => {
        const result = await runHook(schemer, schemer.claims());
        expect(result.claims).not.toHaveProperty('user_role');
        const [stored] = await db.query<{ raw_user_meta_data: object }>('select raw_user_meta_data from auth.users where id = $1', [schemer.id]);
        expect(stored!.raw_user_meta_data).toMatchObject({ user_role: 'admin', role: 'service_role' });
        expect(result.claims.user_metadata).toEqual(stored!.raw_user_meta_data);
    });

    it('follows the staff table: a role change shows in the next token', async () => {
        const member = await createStaff(db, 'support');
        await db.query(`update public.staff set role = 'warehouse' where user_id = $1`, [member.id]);
        expect((await runHook(member, member.claims())).claims.user_role).toBe('warehouse');
        await db.query('delete from public.staff where user_id = $1', [member.id]);
        expect((await runHook(member, member.claims())).claims).not.toHaveProperty('user_role');
    });

    it('is executable by supabase_auth_admin only', async () => {
        const rows = await db.query<{ role: string; allowed: boolean }>(
            `select r as role, has_function_privilege(r, 'public.custom_access_token_hook(jsonb)', 'execute') as allowed
             from unnest(array['supabase_auth_admin', 'anon', 'authenticated', 'service_role']) r`,
        );
        expect(rows).toEqual([
            { role: 'supabase_auth_admin', allowed: true },
            { role: 'anon', allowed: false },
            { role: 'authenticated', allowed: false },
            { role: 'service_role', allowed: false },
        ]);
        const [publicGrant] = await db.query<{ granted: boolean }>(
            `select exists (select 1 from pg_proc p, aclexplode(p.proacl) a
                            where p.oid = 'public.custom_access_token_hook(jsonb)'::regprocedure and a.grantee = 0) as granted`,
        );
        expect(publicGrant!.granted).toBe(false);
    });

    it('a customer whose metadata claims admin still reads only their own orders and cannot add staff', async () => {
        const claims = schemer.claims({ user_metadata: { user_role: 'admin' }, app_metadata: { user_role: 'admin' } });
        await expect(db.asUser(claims, (q) => q(`insert into public.staff (user_id, role) values ($1, 'admin')`, [schemer.id]))).rejects.toMatchObject({
            code: '42501',
        });
        expect(await db.asUser(claims, (q) => q('select * from public.staff'))).toEqual([]);
    });
});
