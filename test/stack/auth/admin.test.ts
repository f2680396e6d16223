// The admin API through supabase-js: service_role only; users CRUD with pagination,
// generate_link, invite and MFA factors.
import { describe, expect, it } from 'vitest';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-off');
const PASSWORD = 'admin-pass-1';

describe('admin users', () => {
    it('creates, reads, updates and deletes a user', async () => {
        const admin = auth.admin().auth.admin;
        const address = email('admin');
        const created = await admin.createUser({
            email: address,
            password: PASSWORD,
            email_confirm: true,
            user_metadata: { name: 'Lin' },
            app_metadata: { tier: 'gold' },
        });
        expect(created.error).toBeNull();
        const user = created.data.user!;
        expect(user).toMatchObject({ email: address, app_metadata: { provider: 'email', providers: ['email'], tier: 'gold' } });
        expect(user.email_confirmed_at).toBeTruthy();
        expect((await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();

        const fetched = await admin.getUserById(user.id);
        expect(fetched.data.user?.id).toBe(user.id);

        const updated = await admin.updateUserById(user.id, { user_metadata: { name: 'Lin Q' }, app_metadata: { tier: 'platinum' } });
        expect(updated.error).toBeNull();
        expect(updated.data.user?.user_metadata).toMatchObject({ name: 'Lin Q' });
        expect(updated.data.user?.app_metadata).toMatchObject({ tier: 'platinum', provider: 'email' });

        const banned = await admin.updateUserById(user.id, { ban_duration: '24h' });
        expect(banned.data.user?.banned_until).toBeTruthy();
        const refused = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(refused.error).toMatchObject({ status: 400, code: 'user_banned' });

        const deleted = await admin.deleteUser(user.id);
        expect(deleted.error).toBeNull();
        expect(await auth.db.query('select 1 from auth.users where id = $1', [user.id])).toEqual([]);
        const missing = await admin.getUserById(user.id);
        expect(missing.error).toMatchObject({ status: 404, code: 'user_not_found' });
    });

    it('refuses a duplicate email (email_exists)', async () => {
        const address = email();
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD });
        const { error } = await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD });
        expect(error).toMatchObject({ status: 422, code: 'email_exists' });
    });

    it('lists users a page at a time with X-Total-Count and Link', async () => {
        for (let i = 0; i < 3; i++) await auth.admin().auth.admin.createUser({ email: email('page'), password: PASSWORD });
        const [{ count }] = (await auth.db.query<{ count: string }>('select count(*) from auth.users')) as [{ count: string }];
        const { data, error } = await auth.admin().auth.admin.listUsers({ page: 1, perPage: 2 });
        expect(error).toBeNull();
        expect(data.users).toHaveLength(2);
        expect(data).toMatchObject({ total: Number(count), nextPage: 2, lastPage: Math.ceil(Number(count) / 2) });
        const raw = await auth.fetch('/admin/users?page=1&per_page=2', { headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` } });
        expect(raw.headers.get('x-total-count')).toBe(count);
        expect(raw.headers.get('link')).toContain('rel="next"');
        expect(((await raw.json()) as { aud: string }).aud).toBe('authenticated');
    });

    it('is closed to anon and to signed-in users (403 not_admin)', async () => {
        const anon = await auth.fetch('/admin/users', { headers: { authorization: `Bearer ${LOCAL_ANON_KEY}` } });
        expect(anon.status).toBe(403);
        expect(await anon.json()).toMatchObject({ error_code: 'not_admin', msg: 'User not allowed' });
        const client = auth.client();
        const { data } = await client.auth.signUp({ email: email(), password: PASSWORD });
        const asUser = await auth.fetch('/admin/users', {
            headers: { authorization: `Bearer ${data.session!.access_token}`, 'x-supabase-api-version': '2024-01-01' },
        });
        expect(asUser.status).toBe(403);
        expect(asUser.headers.get('x-supabase-api-version')).toBe('2024-01-01');
        expect(await asUser.json()).toEqual({ code: 'not_admin', message: 'User not allowed' });
    });
});

describe('admin links and invites', () => {
    it('generate_link returns a magic link and its code without sending mail', async () => {
        const address = email('link');
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        const { data, error } = await auth.admin().auth.admin.generateLink({ type: 'magiclink', email: address });
        expect(error).toBeNull();
        expect(data.properties).toMatchObject({ verification_type: 'magiclink', redirect_to: 'http://127.0.0.1:3000' });
        expect(data.properties!.email_otp).toMatch(/^\d{6}$/);
        expect(data.user?.email).toBe(address);
        expect(auth.mail.count(address)).toBe(0);
        const verified = await auth.client().auth.verifyOtp({ token_hash: data.properties!.hashed_token, type: 'magiclink' });
        expect(verified.error).toBeNull();
        expect(verified.data.user?.email).toBe(address);
    });

    it('invite mails a link that signs the invited user in', async () => {
        const address = email('invitee');
        const { data, error } = await auth.admin().auth.admin.inviteUserByEmail(address, { data: { team: 'ops' } });
        expect(error).toBeNull();
        expect(data.user?.invited_at).toBeTruthy();
        const message = auth.mail.latest(address);
        expect(message.subject).toBe('You have been invited');
        const response = await fetch(auth.mail.link(message), { redirect: 'manual' });
        const params = new URLSearchParams(new URL(response.headers.get('location')!).hash.slice(1));
        expect(params.get('type')).toBe('invite');
        expect(params.get('access_token')).toBeTruthy();
    });
});

describe('admin MFA factors', () => {
    it('lists and deletes a user factor', async () => {
        const client = auth.client();
        const { data } = await client.auth.signUp({ email: email('factor'), password: PASSWORD });
        const enrolled = await client.auth.mfa.enroll({ factorType: 'totp' });
        const admin = auth.admin().auth.admin.mfa;
        const listed = await admin.listFactors({ userId: data.user!.id });
        expect(listed.data?.factors.map((f) => f.id)).toEqual([enrolled.data!.id]);
        const removed = await admin.deleteFactor({ userId: data.user!.id, id: enrolled.data!.id });
        expect(removed.error).toBeNull();
        expect((await admin.listFactors({ userId: data.user!.id })).data?.factors).toEqual([]);
    });
});
