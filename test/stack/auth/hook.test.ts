// The custom access token hook: its claims land in every issued token; an error it returns
// blocks the sign-in with its status.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('hook', async (db) => {
    await db.query(`
        create table public.hook_test_roles (user_id uuid primary key, role text not null);
        create function public.test_access_token_hook(event jsonb)
        returns jsonb
        language plpgsql
        stable
        set search_path = ''
        as $$
        declare
            claims jsonb := event -> 'claims';
            staff_role text;
        begin
            if (claims ->> 'email') like 'blocked-%' then
                return jsonb_build_object('error', jsonb_build_object('http_code', 403, 'message', 'This account is blocked'));
            end if;
            select s.role into staff_role from public.hook_test_roles s where s.user_id = (event ->> 'user_id')::uuid;
            claims := jsonb_set(claims, '{user_role}', to_jsonb(coalesce(staff_role, 'customer')));
            claims := jsonb_set(claims, '{auth_method}', to_jsonb(event ->> 'authentication_method'));
            return jsonb_build_object('claims', claims);
        end
        $$;
        grant usage on schema public to supabase_auth_admin;
        grant select on public.hook_test_roles to supabase_auth_admin;
        grant execute on function public.test_access_token_hook(jsonb) to supabase_auth_admin;
        revoke execute on function public.test_access_token_hook(jsonb) from authenticated, anon, public;
    `);
});

const PASSWORD = 'hook-password-1';

describe('custom access token hook', () => {
    it('adds user_role to the token at sign-up, sign-in and refresh', async () => {
        const client = auth.client();
        const address = email();
        const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
        expect(decodeJwt(data.session!.access_token)).toMatchObject({ user_role: 'customer', auth_method: 'password' });
        await auth.db.query(`insert into public.hook_test_roles values ($1, 'admin')`, [data.user!.id]);
        const signIn = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(decodeJwt(signIn.data.session!.access_token).user_role).toBe('admin');
        const refreshed = await auth.client().auth.refreshSession({ refresh_token: signIn.data.session!.refresh_token });
        expect(decodeJwt(refreshed.data.session!.access_token)).toMatchObject({ user_role: 'admin', auth_method: 'token_refresh' });
    });

    it('an error from the hook blocks the sign-in with its status', async () => {
        const address = email('blocked');
        const created = await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        expect(created.error).toBeNull();
        const { data, error } = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(data.session).toBeNull();
        expect(error).toMatchObject({ status: 403, message: 'This account is blocked' });
        expect(await auth.db.query('select 1 from auth.sessions where user_id = $1', [created.data.user!.id])).toEqual([]);
    });
});
