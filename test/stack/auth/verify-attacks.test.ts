// Attacks on one-time tokens (/verify POST and GET, the PKCE code exchange, the
// reauthentication nonce) after real uses of every kind of link: an empty, prefix-only,
// blank, already-used, prefixed or truncated token never matches. Each attack must be
// refused with GoTrue's error, hand out no session and change nothing in the auth schema.
import { beforeAll, describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('verify');
const PASSWORD = 'verify-pass-1';
const REDIRECT = 'https://app.example.test/after';
const EMAIL_TYPES = ['signup', 'invite', 'magiclink', 'recovery', 'email_change', 'email'] as const;

/** Follows a /verify link without following the redirect; returns where it points. */
async function follow(link: string): Promise<URL> {
    const response = await fetch(link, { redirect: 'manual' });
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location')!);
}

const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
const latestToken = (address: string) => tokenOf(auth.mail.link(auth.mail.latest(address)));
const step = () => auth.advance(2_000);

/** Everything an attack could change: users, sessions, refresh tokens, one-time tokens, PKCE flows. */
async function snapshot(): Promise<string> {
    const [users, sessions, refresh, tokens, flows, identities] = await Promise.all([
        auth.db.query('select * from auth.users order by id'),
        auth.db.query('select id, aal, factor_id from auth.sessions order by id'),
        auth.db.query('select token, revoked from auth.refresh_tokens order by id'),
        auth.db.query('select user_id, token_type, token_hash from auth.one_time_tokens order by user_id, token_type'),
        auth.db.query('select id, auth_code, auth_code_issued_at from auth.flow_state order by id'),
        auth.db.query('select id, identity_data from auth.identities order by id'),
    ]);
    return JSON.stringify({ users, sessions, refresh, tokens, flows, identities });
}

const world = {
    /** token_hash values of links that were really used. */
    usedHashes: [] as string[],
    /** A user whose magic-link code was used, and that code. */
    usedCode: { email: '', code: '' },
    /** The address that went through a complete email change (its tokens are cleared). */
    changedEmail: '',
    /** Live, unused token hashes (for truncation and cross-type attacks). */
    pendingConfirmation: '',
    pendingRecovery: '',
    usedAuthCode: '',
    issuedAuthCode: '',
};

beforeAll(async () => {
    const admin = auth.admin();
    // signup, then magic link, recovery and an email OTP code for the same user, then an email change.
    const owner = email('owner');
    await auth.client().auth.signUp({ email: owner, password: PASSWORD, options: { emailRedirectTo: REDIRECT } });
    world.usedHashes.push(latestToken(owner));
    await follow(auth.mail.link(auth.mail.latest(owner)));
    step();
    await auth.client().auth.signInWithOtp({ email: owner });
    world.usedHashes.push(latestToken(owner));
    await follow(auth.mail.link(auth.mail.latest(owner)));
    step();
    await auth.client().auth.resetPasswordForEmail(owner);
    world.usedHashes.push(latestToken(owner));
    await follow(auth.mail.link(auth.mail.latest(owner)));
    step();
    await auth.client().auth.signInWithOtp({ email: owner });
    world.usedHashes.push(latestToken(owner));
    world.usedCode = { email: owner, code: auth.mail.otp(auth.mail.latest(owner)) };
    expect((await auth.client().auth.verifyOtp({ email: owner, token: world.usedCode.code, type: 'email' })).error).toBeNull();
    step();
    const signedIn = auth.client();
    expect((await signedIn.auth.signInWithPassword({ email: owner, password: PASSWORD })).error).toBeNull();
    const next = email('changed');
    expect((await signedIn.auth.updateUser({ email: next })).error).toBeNull();
    const toOld = auth.mail.link(auth.mail.latest(owner));
    const toNew = auth.mail.link(auth.mail.latest(next));
    world.usedHashes.push(tokenOf(toOld), tokenOf(toNew));
    await follow(toOld);
    await follow(toNew);
    world.changedEmail = next;
    const [changed] = await auth.db.query<{ email: string }>('select email from auth.users where email = $1', [next]);
    expect(changed?.email).toBe(next);

    // An invitation, accepted.
    const invited = email('invited');
    expect((await admin.auth.admin.inviteUserByEmail(invited)).error).toBeNull();
    world.usedHashes.push(latestToken(invited));
    await follow(auth.mail.link(auth.mail.latest(invited)));

    // PKCE: a code exchanged, and one issued but not yet exchanged.
    const pkce = auth.client({ flowType: 'pkce' });
    const pkceUser = email('pkce');
    await pkce.auth.signUp({ email: pkceUser, password: PASSWORD, options: { emailRedirectTo: REDIRECT } });
    world.usedHashes.push(latestToken(pkceUser));
    world.usedAuthCode = (await follow(auth.mail.link(auth.mail.latest(pkceUser)))).searchParams.get('code')!;
    expect((await pkce.auth.exchangeCodeForSession(world.usedAuthCode)).error).toBeNull();
    step();
    await auth.client({ flowType: 'pkce' }).auth.signInWithOtp({ email: pkceUser });
    world.issuedAuthCode = (await follow(auth.mail.link(auth.mail.latest(pkceUser)))).searchParams.get('code')!;

    // Live tokens nobody used yet: an unconfirmed sign-up and a pending magic link.
    const pending = email('pending');
    await auth.client().auth.signUp({ email: pending, password: PASSWORD });
    world.pendingConfirmation = latestToken(pending);
    const waiting = email('waiting');
    await admin.auth.admin.createUser({ email: waiting, password: PASSWORD, email_confirm: true });
    await auth.client().auth.signInWithOtp({ email: waiting });
    world.pendingRecovery = latestToken(waiting);

    // Every used column is now cleared: the state the attack exploited.
    const [cleared] = await auth.db.query<{ n: number }>(
        `select count(*)::int as n from auth.users where confirmation_token = '' and recovery_token = '' and email_change_token_current = ''`,
    );
    expect(cleared!.n).toBeGreaterThanOrEqual(2);
});

/** Token hashes an attacker tries for `type`. */
function forgedHashes(type: (typeof EMAIL_TYPES)[number]): string[] {
    const live = type === 'signup' || type === 'invite' ? world.pendingConfirmation : world.pendingRecovery;
    const otherType = type === 'signup' || type === 'invite' ? world.pendingRecovery : world.pendingConfirmation;
    const values = [
        'pkce_',
        ' ',
        '   ',
        '\t',
        ' pkce_ ',
        'pkce_ ',
        'pkce_pkce_',
        ...world.usedHashes,
        ...world.usedHashes.map((h) => (h.startsWith('pkce_') ? h.slice(5) : `pkce_${h}`)),
        live.slice(0, 1),
        live.slice(0, 28),
        live.slice(0, -1),
        `pkce_${live.slice(0, 28)}`,
        `${live} `,
        live.toUpperCase(),
    ];
    // A live token of another kind (a confirmation hash is no magic link); `email` accepts both.
    if (type !== 'email') values.push(otherType);
    return values;
}

interface VerifyAnswer {
    status: number;
    body: Record<string, unknown>;
}

async function postVerify(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<VerifyAnswer> {
    const response = await auth.fetch('/verify', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function expectRefused(answer: VerifyAnswer, what: string): void {
    expect(answer.body.access_token, what).toBeUndefined();
    expect(answer.body.refresh_token, what).toBeUndefined();
    expect(answer.body, what).toEqual({ code: 403, error_code: 'otp_expired', msg: 'Token has expired or is invalid' });
    expect(answer.status, what).toBe(403);
}

describe('forged token_hash values after real uses of every link type', () => {
    for (const type of EMAIL_TYPES) {
        it(`POST /verify type=${type}: refused with otp_expired, no session, nothing changed`, async () => {
            const before = await snapshot();
            for (const tokenHash of forgedHashes(type)) {
                expectRefused(await postVerify({ type, token_hash: tokenHash }), `${type} ${JSON.stringify(tokenHash)}`);
            }
            // An empty token_hash is a missing parameter, answered as GoTrue does (400), still no session.
            const empty = await postVerify({ type, token_hash: '' });
            expect(empty.status).toBe(400);
            expect(empty.body.access_token).toBeUndefined();
            expect(await snapshot()).toBe(before);
        });

        it(`GET /verify type=${type}: redirects with the error, no tokens, nothing changed`, async () => {
            const before = await snapshot();
            for (const token of forgedHashes(type)) {
                const what = `${type} ${JSON.stringify(token)}`;
                const query = new URLSearchParams({ token, type, redirect_to: REDIRECT });
                const response = await auth.fetch(`/verify?${query}`, { redirect: 'manual' });
                expect(response.status, what).toBe(303);
                const location = new URL(response.headers.get('location')!);
                expect(`${location.origin}${location.pathname}`, what).toBe(REDIRECT);
                const fragment = new URLSearchParams(location.hash.slice(1));
                expect(fragment.get('error_code'), what).toBe('otp_expired');
                expect(fragment.get('error'), what).toBe('access_denied');
                expect(fragment.get('access_token'), what).toBeNull();
                expect(location.searchParams.get('code'), what).toBeNull();
            }
            expect(await snapshot()).toBe(before);
        });

        it(`POST /verify type=${type} with a blank or used code: refused, nothing changed`, async () => {
            const before = await snapshot();
            for (const address of [world.usedCode.email, world.changedEmail]) {
                for (const token of [' ', '      ', '\t', world.usedCode.code]) {
                    const answer = await postVerify({ type, email: address, token });
                    expectRefused(answer, `${type} ${address} ${JSON.stringify(token)}`);
                }
                const empty = await postVerify({ type, email: address, token: '' });
                expect(empty.status).toBe(400);
                expect(empty.body.access_token).toBeUndefined();
            }
            expect(await snapshot()).toBe(before);
        });
    }

    it('the 2024-01-01 error shape is {code: "otp_expired", message}', async () => {
        const answer = await postVerify({ type: 'magiclink', token_hash: 'pkce_' }, { 'x-supabase-api-version': '2024-01-01' });
        expect(answer).toEqual({ status: 403, body: { code: 'otp_expired', message: 'Token has expired or is invalid' } });
    });

    it('a token past [auth.email] otp_expiry is refused and stays unused', async () => {
        const address = email('late');
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        await auth.client().auth.signInWithOtp({ email: address });
        const hash = latestToken(address);
        auth.advance(3_601_000);
        const before = await snapshot();
        expectRefused(await postVerify({ type: 'magiclink', token_hash: hash }), 'expired magic link');
        expect(await snapshot()).toBe(before);
    });
});

describe('the valid path still works', () => {
    it('each link type verifies with its full token_hash, once', async () => {
        const address = email('valid');
        await auth.client().auth.signUp({ email: address, password: PASSWORD });
        const signup = await postVerify({ type: 'signup', token_hash: latestToken(address) });
        expect(signup.status).toBe(200);
        expect(signup.body.access_token).toEqual(expect.any(String));
        step();
        for (const type of ['magiclink', 'recovery'] as const) {
            if (type === 'magiclink') await auth.client().auth.signInWithOtp({ email: address });
            else await auth.client().auth.resetPasswordForEmail(address);
            const hash = latestToken(address);
            const first = await postVerify({ type, token_hash: hash });
            expect(first.status, type).toBe(200);
            expect(first.body.access_token, type).toEqual(expect.any(String));
            expectRefused(await postVerify({ type, token_hash: hash }), `${type} replay`);
            step();
        }
        await auth.client().auth.signInWithOtp({ email: address });
        const code = auth.mail.otp(auth.mail.latest(address));
        const byCode = await postVerify({ type: 'email', email: address, token: code });
        expect(byCode.status).toBe(200);
        expectRefused(await postVerify({ type: 'email', email: address, token: code }), 'code replay');

        const invited = email('invitee');
        await auth.admin().auth.admin.inviteUserByEmail(invited);
        const invite = await postVerify({ type: 'invite', token_hash: latestToken(invited) });
        expect(invite.status).toBe(200);

        step();
        const client = auth.client();
        await client.auth.signInWithPassword({ email: address, password: PASSWORD });
        const next = email('next');
        await client.auth.updateUser({ email: next });
        const current = await postVerify({ type: 'email_change', token_hash: latestToken(address) });
        expect(current.status).toBe(200);
        const fresh = await postVerify({ type: 'email_change', token_hash: latestToken(next) });
        expect(fresh.status).toBe(200);
        expect((fresh.body.user as { email: string }).email).toBe(next);
    });
});

describe('the PKCE code exchange', () => {
    it('refuses blank, prefix-only, used and truncated codes without a session', async () => {
        const before = await snapshot();
        for (const authCode of [' ', 'pkce_', world.usedAuthCode, world.issuedAuthCode.slice(0, 8), world.issuedAuthCode.slice(0, -1), `${world.issuedAuthCode} `, '00000000-0000-0000-0000-000000000000']) {
            const response = await auth.fetch('/token?grant_type=pkce', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ auth_code: authCode, code_verifier: 'v'.repeat(50) }),
            });
            const body = (await response.json()) as Record<string, unknown>;
            expect(response.status, JSON.stringify(authCode)).toBeGreaterThanOrEqual(400);
            expect(response.status, JSON.stringify(authCode)).toBeLessThan(500);
            expect(body.access_token, JSON.stringify(authCode)).toBeUndefined();
        }
        expect(await snapshot()).toBe(before);
    });

    it('a flow whose code was never issued by /verify cannot be exchanged', async () => {
        const pkce = auth.client({ flowType: 'pkce' });
        const address = email('unissued');
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        await pkce.auth.signInWithOtp({ email: address });
        const [state] = await auth.db.query<{ auth_code: string }>(
            `select f.auth_code from auth.flow_state f join auth.users u on u.id = f.user_id where u.email = $1`,
            [address],
        );
        // Even knowing the stored code, it is not exchangeable before the link was followed.
        const { data, error } = await pkce.auth.exchangeCodeForSession(state!.auth_code);
        expect(error).toBeTruthy();
        expect(data.session).toBeNull();
    });
});

describe('the reauthentication nonce', () => {
    it('a blank or used nonce never changes the password', async () => {
        const address = email('reauth');
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        const client = auth.client();
        await client.auth.signInWithPassword({ email: address, password: PASSWORD });
        // The session is no longer recent: a password change needs the mailed nonce.
        auth.advance(25 * 3600_000);
        expect((await client.auth.reauthenticate()).error).toBeNull();
        const nonce = auth.mail.otp(auth.mail.latest(address));
        expect((await client.auth.updateUser({ password: 'changed-pass-1', nonce })).error).toBeNull();
        const before = await snapshot();
        for (const attempt of ['', ' ', '      ', nonce]) {
            const { error } = await client.auth.updateUser({ password: 'stolen-pass-1', nonce: attempt });
            expect(error?.status, JSON.stringify(attempt)).toBeGreaterThanOrEqual(400);
            expect(error?.status, JSON.stringify(attempt)).toBeLessThan(500);
        }
        expect(await snapshot()).toBe(before);
        expect((await auth.client().auth.signInWithPassword({ email: address, password: 'stolen-pass-1' })).error?.code).toBe('invalid_credentials');
    });
});
