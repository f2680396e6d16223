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

describe('admin API as Supabase Auth answers it', () => {
    const raw = (path: string) => auth.fetch(path, { headers: { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` } });
    const stored = async (id: string) =>
        (await auth.db.query<{ raw_user_meta_data: unknown; raw_app_meta_data: unknown }>('select raw_user_meta_data, raw_app_meta_data from auth.users where id = $1', [id]))[0]!;

    it('createUser stores and returns user_metadata exactly as given, app_metadata over provider/providers', async () => {
        const admin = auth.admin().auth.admin;
        const user_metadata = { profile_image: 'https://www.example.test/avatar.jpg', tags: ['a', 'b'] };
        const app_metadata = { tier: 'gold', provider: 'email', providers: ['email'] };
        const { data, error } = await admin.createUser({ email: email('meta'), password: PASSWORD, user_metadata, app_metadata });
        expect(error).toBeNull();
        expect(data.user!.user_metadata).toEqual(user_metadata);
        expect(data.user!.app_metadata).toEqual({ provider: 'email', providers: ['email'], tier: 'gold' });
        expect(await stored(data.user!.id)).toEqual({ raw_user_meta_data: user_metadata, raw_app_meta_data: data.user!.app_metadata });
        expect((await admin.getUserById(data.user!.id)).data.user).toMatchObject({ user_metadata, app_metadata: data.user!.app_metadata });
    });

    it('updateUserById merges metadata (null removes a key) and returns what it stored', async () => {
        const admin = auth.admin().auth.admin;
        const { data: created } = await admin.createUser({ email: email('meta-up'), user_metadata: { a: 1, b: 2 }, app_metadata: { plan: 'trial' } });
        const id = created.user!.id;
        const { data, error } = await admin.updateUserById(id, { user_metadata: { b: null, c: 3 }, app_metadata: { plan: null, seats: 5 } });
        expect(error).toBeNull();
        expect(data.user!.user_metadata).toEqual({ a: 1, c: 3 });
        expect(data.user!.app_metadata).toEqual({ provider: 'email', providers: ['email'], seats: 5 });
        expect(await stored(id)).toEqual({ raw_user_meta_data: data.user!.user_metadata, raw_app_meta_data: data.user!.app_metadata });
    });

    it('an invalid email is 400 validation_failed on create and update, and nothing changes', async () => {
        const admin = auth.admin().auth.admin;
        const [{ count: before }] = (await auth.db.query<{ count: string }>('select count(*) from auth.users')) as [{ count: string }];
        for (const bad of ['not-an-email', 'user@', '@example.test', 'a b@example.test', 'user@-bad.example.test']) {
            const { error } = await admin.createUser({ email: bad, password: PASSWORD });
            expect(error, bad).toMatchObject({ status: 400, code: 'validation_failed', message: 'Unable to validate email address: invalid format' });
        }
        const [{ count: after }] = (await auth.db.query<{ count: string }>('select count(*) from auth.users')) as [{ count: string }];
        expect(after).toBe(before);
        const address = email('keep');
        const { data } = await admin.createUser({ email: address });
        const { error } = await admin.updateUserById(data.user!.id, { email: 'still not an email' });
        expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
        expect((await admin.getUserById(data.user!.id)).data.user?.email).toBe(address);
        // checkmail's format, which GoTrue uses, needs no dot in the domain.
        expect((await admin.createUser({ email: `${email('host').split('@')[0]}@localhost` })).error).toBeNull();
    });

    it('page and per_page that are not unsigned integers are 400 "Bad Pagination Parameters"', async () => {
        for (const [query, value] of [
            ['page=abc', 'abc'],
            ['per_page=-1', '-1'],
            ['page=1.5', '1.5'],
        ]) {
            const response = await raw(`/admin/users?${query}`);
            expect(response.status, query).toBe(400);
            expect(await response.json(), query).toEqual({
                code: 400,
                error_code: 'validation_failed',
                msg: `Bad Pagination Parameters: strconv.ParseUint: parsing "${value}": invalid syntax`,
            });
        }
        const huge = await raw('/admin/users?page=99999999999999999999');
        expect(await huge.json()).toMatchObject({ msg: 'Bad Pagination Parameters: strconv.ParseUint: parsing "99999999999999999999": value out of range' });
        expect((await raw('/admin/users?per_page=0')).status).toBe(400);
        const { error } = await auth.admin().auth.admin.listUsers({ page: -2 });
        expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
        const far = await raw('/admin/users?page=900719925474099&per_page=1000');
        expect(far.status).toBe(200);
        expect(((await far.json()) as { users: unknown[] }).users).toEqual([]);
    });

    it('generateLink for a signup creates the user and returns it with the link properties, sending no mail', async () => {
        const address = email('gen-signup');
        const redirectTo = 'https://app.example.test/welcome';
        const { data, error } = await auth.admin().auth.admin.generateLink({
            type: 'signup',
            email: address,
            password: PASSWORD,
            options: { data: { plan: 'alpha' }, redirectTo },
        });
        expect(error).toBeNull();
        const { user, properties } = data;
        expect(user).toMatchObject({ email: address, aud: 'authenticated', role: 'authenticated', user_metadata: { plan: 'alpha' } });
        expect(user!.email_confirmed_at).toBeUndefined();
        expect(user!.confirmation_sent_at).toBeTruthy();
        expect(user!.identities?.map((i) => i.provider)).toEqual(['email']);
        expect(Object.keys(properties!).sort()).toEqual(['action_link', 'email_otp', 'hashed_token', 'redirect_to', 'verification_type']);
        expect(properties).toMatchObject({ verification_type: 'signup', redirect_to: redirectTo });
        expect(properties!.email_otp).toMatch(/^\d{6}$/);
        const link = new URL(properties!.action_link);
        expect(link.pathname).toBe('/auth/v1/verify');
        expect(Object.fromEntries(link.searchParams)).toEqual({ token: properties!.hashed_token, type: 'signup', redirect_to: redirectTo });
        expect(auth.mail.count(address)).toBe(0);
        const followed = await fetch(properties!.action_link, { redirect: 'manual' });
        const fragment = new URLSearchParams(new URL(followed.headers.get('location')!).hash.slice(1));
        expect(fragment.get('type')).toBe('signup');
        expect((await auth.admin().auth.admin.getUserById(user!.id)).data.user?.email_confirmed_at).toBeTruthy();
        expect((await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();
    });

    it('generateLink for a signup needs a password, and refuses a confirmed address', async () => {
        const noPassword = await auth.admin().auth.admin.generateLink({ type: 'signup', email: email('gen-nopw'), password: '' });
        expect(noPassword.error).toMatchObject({ status: 422, code: 'validation_failed' });
        const address = email('gen-taken');
        await auth.admin().auth.admin.createUser({ email: address, email_confirm: true });
        const taken = await auth.admin().auth.admin.generateLink({ type: 'signup', email: address, password: PASSWORD });
        expect(taken.error).toMatchObject({ status: 422, code: 'email_exists' });
    });

    it('createUser with a phone stores it as GoTrue does (no "+"), with a phone identity; duplicates and bad numbers are refused', async () => {
        const admin = auth.admin().auth.admin;
        const { data, error } = await admin.createUser({ phone: '+44 7700 900123', password: PASSWORD, phone_confirm: true });
        expect(error).toBeNull();
        expect(data.user).toMatchObject({ phone: '447700900123', email: '', app_metadata: { provider: 'phone', providers: ['phone'] }, user_metadata: {} });
        expect(data.user!.phone_confirmed_at).toBeTruthy();
        expect(data.user!.identities?.map((i) => [i.provider, i.identity_data?.phone])).toEqual([['phone', '447700900123']]);
        const duplicate = await admin.createUser({ phone: '447700900123' });
        expect(duplicate.error).toMatchObject({ status: 422, code: 'phone_exists', message: 'Phone number already registered by another user' });
        const bad = await admin.createUser({ phone: '07700-900123' });
        expect(bad.error).toMatchObject({ status: 400, code: 'validation_failed', message: 'Invalid phone number format (E.164 required)' });
        // The phone provider is off in this project: the number cannot sign in with its password.
        const signIn = await auth.client().auth.signInWithPassword({ phone: '+447700900123', password: PASSWORD });
        expect(signIn.error).toMatchObject({ status: 400, code: 'phone_provider_disabled' });
    });
});
