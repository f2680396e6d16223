// Flows that go through the mail catcher with confirmations on: sign-up confirmation link,
// unconfirmed sign-in, recovery, email change with double confirmation, magic link / OTP,
// anonymous users linking an email, and PKCE.
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-on');
const PASSWORD = 'secret-pass-1';

/** Follows a mailed /verify link without following the redirect; returns where it points. */
async function follow(link: string): Promise<URL> {
    const response = await fetch(link, { redirect: 'manual' });
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location')!);
}

function fragment(url: URL): URLSearchParams {
    return new URLSearchParams(url.hash.slice(1));
}

async function confirmedUser(address = email()) {
    const client = auth.client();
    await client.auth.signUp({ email: address, password: PASSWORD });
    await follow(auth.mail.link(auth.mail.latest(address)));
    auth.advance(2_000);
    const { data } = await client.auth.signInWithPassword({ email: address, password: PASSWORD });
    return { client, address, session: data.session!, user: data.user! };
}

describe('sign-up with confirmations on', () => {
    it('returns the user without a session and mails a confirmation link', async () => {
        const address = email();
        const { data, error } = await auth.client().auth.signUp({ email: address, password: PASSWORD });
        expect(error).toBeNull();
        expect(data.session).toBeNull();
        expect(data.user?.email).toBe(address);
        expect(data.user?.confirmation_sent_at).toBeTruthy();
        expect(data.user?.email_confirmed_at).toBeUndefined();
        const message = auth.mail.latest(address);
        expect(message.subject).toBe('Confirm Your Email');
        expect(auth.mail.link(message)).toContain('/auth/v1/verify?token=');
    });

    it('stores only a hash of the mailed token', async () => {
        const address = email();
        const { data } = await auth.client().auth.signUp({ email: address, password: PASSWORD });
        const otp = auth.mail.otp(auth.mail.latest(address));
        const [row] = await auth.db.query<{ confirmation_token: string }>('select confirmation_token from auth.users where id = $1', [data.user!.id]);
        expect(row!.confirmation_token).not.toContain(otp);
        expect(row!.confirmation_token).toMatch(/^[0-9a-f]{56}$/);
        const tokens = await auth.db.query<{ token_type: string; token_hash: string }>('select token_type, token_hash from auth.one_time_tokens where user_id = $1', [
            data.user!.id,
        ]);
        expect(tokens).toEqual([{ token_type: 'confirmation_token', token_hash: row!.confirmation_token }]);
    });

    it('refuses to sign in before confirmation (email_not_confirmed)', async () => {
        const address = email();
        await auth.client().auth.signUp({ email: address, password: PASSWORD });
        const { error } = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(error).toMatchObject({ status: 400, code: 'email_not_confirmed', message: 'Email not confirmed' });
    });

    it('following the mailed link confirms and redirects with tokens in the fragment', async () => {
        const address = email();
        await auth.client().auth.signUp({ email: address, password: PASSWORD, options: { emailRedirectTo: 'https://app.example.test/welcome' } });
        const target = await follow(auth.mail.link(auth.mail.latest(address)));
        expect(`${target.origin}${target.pathname}`).toBe('https://app.example.test/welcome');
        const params = fragment(target);
        expect(params.get('type')).toBe('signup');
        expect(params.get('token_type')).toBe('bearer');
        const client = auth.client();
        const { data, error } = await client.auth.setSession({ access_token: params.get('access_token')!, refresh_token: params.get('refresh_token')! });
        expect(error).toBeNull();
        expect(data.user?.email_confirmed_at).toBeTruthy();
        const again = await follow(auth.mail.link(auth.mail.latest(address)));
        expect(fragment(again).get('error_code')).toBe('otp_expired');
    });

    it('a repeated sign-up does not reveal that the email exists', async () => {
        const { address, user } = await confirmedUser();
        const { data, error } = await auth.client().auth.signUp({ email: address, password: 'another-pass-1' });
        expect(error).toBeNull();
        expect(data.session).toBeNull();
        expect(data.user?.id).not.toBe(user.id);
        expect(data.user?.identities).toEqual([]);
    });

    it('the emailed code verifies with verifyOtp', async () => {
        const address = email();
        await auth.client().auth.signUp({ email: address, password: PASSWORD });
        const code = auth.mail.otp(auth.mail.latest(address));
        const client = auth.client();
        const wrong = await client.auth.verifyOtp({ email: address, token: '000000', type: 'signup' });
        expect(wrong.error).toMatchObject({ status: 403, code: 'otp_expired', message: 'Token has expired or is invalid' });
        const { data, error } = await client.auth.verifyOtp({ email: address, token: code, type: 'signup' });
        expect(error).toBeNull();
        expect(data.session?.user.email).toBe(address);
    });
});

describe('password recovery', () => {
    it('the mailed link signs in, and a new password can then be set', async () => {
        const { address } = await confirmedUser();
        const client = auth.client();
        expect((await client.auth.resetPasswordForEmail(address)).error).toBeNull();
        const message = auth.mail.latest(address);
        expect(message.subject).toBe('Reset Your Password');
        const target = await follow(auth.mail.link(message));
        const params = fragment(target);
        expect(params.get('type')).toBe('recovery');
        await client.auth.setSession({ access_token: params.get('access_token')!, refresh_token: params.get('refresh_token')! });
        expect((await client.auth.updateUser({ password: 'brand-new-pass-2' })).error).toBeNull();
        const old = await auth.client().auth.signInWithPassword({ email: address, password: PASSWORD });
        expect(old.error?.code).toBe('invalid_credentials');
        const fresh = await auth.client().auth.signInWithPassword({ email: address, password: 'brand-new-pass-2' });
        expect(fresh.error).toBeNull();
    });

    it('answers 200 for an unknown address and sends nothing', async () => {
        const address = email('ghost');
        const { error } = await auth.client().auth.resetPasswordForEmail(address);
        expect(error).toBeNull();
        expect(auth.mail.count(address)).toBe(0);
    });

    it('a second request within max_frequency is refused (429)', async () => {
        const { address } = await confirmedUser();
        await auth.client().auth.resetPasswordForEmail(address);
        const { error } = await auth.client().auth.resetPasswordForEmail(address);
        expect(error).toMatchObject({ status: 429, code: 'over_email_send_rate_limit' });
    });
});

describe('email change with double confirmation', () => {
    it('needs both the old and the new address to confirm', async () => {
        const { client, address } = await confirmedUser();
        const next = email('next');
        const { data, error } = await client.auth.updateUser({ email: next });
        expect(error).toBeNull();
        expect(data.user?.new_email).toBe(next);
        expect(data.user?.email).toBe(address);
        const toOld = auth.mail.latest(address);
        const toNew = auth.mail.latest(next);
        expect(toOld.subject).toBe('Confirm Email Change');
        const first = await follow(auth.mail.link(toOld));
        expect(fragment(first).get('message')).toBe('Confirmation link accepted. Please proceed to confirm link sent to the other email');
        const [between] = await auth.db.query<{ email: string }>('select email from auth.users where email = $1', [address]);
        expect(between?.email).toBe(address);
        const second = await follow(auth.mail.link(toNew));
        expect(fragment(second).get('type')).toBe('email_change');
        const { data: after } = await client.auth.getUser();
        expect(after.user?.email).toBe(next);
        expect(after.user?.new_email).toBeUndefined();
    });

    it('also confirms with the two mailed codes through verifyOtp', async () => {
        const { client, address } = await confirmedUser();
        const next = email('next');
        await client.auth.updateUser({ email: next });
        const first = await auth.client().auth.verifyOtp({ email: address, token: auth.mail.otp(auth.mail.latest(address)), type: 'email_change' });
        expect(first.error).toBeNull();
        expect(first.data).toEqual({ user: null, session: null });
        const second = await auth.client().auth.verifyOtp({ email: next, token: auth.mail.otp(auth.mail.latest(next)), type: 'email_change' });
        expect(second.error).toBeNull();
        expect(second.data.user?.email).toBe(next);
    });

    it('refuses an address another user has (email_exists)', async () => {
        const { client } = await confirmedUser();
        const { address: taken } = await confirmedUser();
        const { error } = await client.auth.updateUser({ email: taken });
        expect(error).toMatchObject({ status: 422, code: 'email_exists' });
    });
});

describe('magic link and email OTP', () => {
    it('signs an existing user in with the mailed code', async () => {
        const { address, user } = await confirmedUser();
        const client = auth.client();
        expect((await client.auth.signInWithOtp({ email: address })).error).toBeNull();
        const message = auth.mail.latest(address);
        expect(message.subject).toBe('Your Magic Link');
        const { data, error } = await client.auth.verifyOtp({ email: address, token: auth.mail.otp(message), type: 'email' });
        expect(error).toBeNull();
        expect(data.user?.id).toBe(user.id);
    });

    it('with shouldCreateUser false does not create users (otp_disabled)', async () => {
        const { error } = await auth.client().auth.signInWithOtp({ email: email(), options: { shouldCreateUser: false } });
        expect(error).toMatchObject({ status: 422, code: 'otp_disabled' });
    });

    it('verifies a token_hash', async () => {
        const { address } = await confirmedUser();
        await auth.client().auth.signInWithOtp({ email: address });
        const hash = new URL(auth.mail.link(auth.mail.latest(address))).searchParams.get('token')!;
        const { data, error } = await auth.client().auth.verifyOtp({ token_hash: hash, type: 'magiclink' });
        expect(error).toBeNull();
        expect(data.session).toBeTruthy();
    });
});

describe('anonymous users', () => {
    it('sign in anonymously, then link an email confirmed through the mail', async () => {
        const client = auth.client();
        const { data, error } = await client.auth.signInAnonymously();
        expect(error).toBeNull();
        expect(data.user?.is_anonymous).toBe(true);
        expect(data.user?.email).toBe('');
        const address = email('linked');
        const update = await client.auth.updateUser({ email: address });
        expect(update.error).toBeNull();
        const target = await follow(auth.mail.link(auth.mail.latest(address)));
        const params = fragment(target);
        expect(params.get('type')).toBe('email_change');
        await client.auth.setSession({ access_token: params.get('access_token')!, refresh_token: params.get('refresh_token')! });
        const { data: after } = await client.auth.getUser();
        expect(after.user?.email).toBe(address);
        expect(after.user?.is_anonymous).toBe(false);
        expect(after.user?.identities?.map((i) => i.provider)).toEqual(['email']);
        expect((await client.auth.updateUser({ password: 'linked-pass-1' })).error).toBeNull();
        expect((await auth.client().auth.signInWithPassword({ email: address, password: 'linked-pass-1' })).error).toBeNull();
    });
});

describe('PKCE', () => {
    it('sign-up confirmation redirects with a code that exchanges for a session', async () => {
        const client = auth.client({ flowType: 'pkce' });
        const address = email('pkce');
        const { error } = await client.auth.signUp({ email: address, password: PASSWORD, options: { emailRedirectTo: 'https://app.example.test/cb' } });
        expect(error).toBeNull();
        const link = auth.mail.link(auth.mail.latest(address));
        expect(new URL(link).searchParams.get('token')).toMatch(/^pkce_/);
        const target = await follow(link);
        const code = target.searchParams.get('code')!;
        expect(code).toBeTruthy();
        const { data, error: exchangeError } = await client.auth.exchangeCodeForSession(code);
        expect(exchangeError).toBeNull();
        expect(data.session?.user.email).toBe(address);
        const replay = await client.auth.exchangeCodeForSession(code);
        expect(replay.error).toBeTruthy();
    });

    it('magic link and password recovery exchange their codes for sessions', async () => {
        const { address, user } = await confirmedUser();
        const client = auth.client({ flowType: 'pkce' });
        expect((await client.auth.signInWithOtp({ email: address })).error).toBeNull();
        const magic = await follow(auth.mail.link(auth.mail.latest(address)));
        const signedIn = await client.auth.exchangeCodeForSession(magic.searchParams.get('code')!);
        expect(signedIn.error).toBeNull();
        expect(signedIn.data.user?.id).toBe(user.id);

        auth.advance(2_000);
        const recovering = auth.client({ flowType: 'pkce' });
        expect((await recovering.auth.resetPasswordForEmail(address)).error).toBeNull();
        const recovery = await follow(auth.mail.link(auth.mail.latest(address)));
        const { data, error } = await recovering.auth.exchangeCodeForSession(recovery.searchParams.get('code')!);
        expect(error).toBeNull();
        expect((data as { redirectType?: string | null }).redirectType).toBe('recovery');
        expect((await recovering.auth.updateUser({ password: 'after-recovery-1' })).error).toBeNull();
    });

    it('a wrong verifier is bad_code_verifier', async () => {
        const client = auth.client({ flowType: 'pkce' });
        const address = email('pkce');
        await client.auth.signUp({ email: address, password: PASSWORD });
        const code = (await follow(auth.mail.link(auth.mail.latest(address)))).searchParams.get('code')!;
        const response = await auth.fetch('/token?grant_type=pkce', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' },
            body: JSON.stringify({ auth_code: code, code_verifier: 'x'.repeat(50) }),
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({ code: 'bad_code_verifier', message: 'code challenge does not match previously saved code verifier' });
    });
});
