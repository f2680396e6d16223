// Sign-up without confirmation, password sign-in, refresh-token rotation and reuse, logout
// scopes, /user, /settings and /health — through supabase-js.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('confirm-off');
const PASSWORD = 'correct horse 1';

async function signedUp(address = email()) {
    const client = auth.client();
    const { data, error } = await client.auth.signUp({ email: address, password: PASSWORD, options: { data: { name: 'Ada' } } });
    expect(error).toBeNull();
    return { client, address, session: data.session!, user: data.user! };
}

describe('sign-up with confirmations off', () => {
    it('returns a session and a confirmed user', async () => {
        const { session, user, address } = await signedUp();
        expect(session.access_token).toBeTruthy();
        expect(session.token_type).toBe('bearer');
        expect(session.expires_in).toBe(3600);
        expect(user.email).toBe(address);
        expect(user.email_confirmed_at).toBeTruthy();
        expect(user.app_metadata).toEqual({ provider: 'email', providers: ['email'] });
        expect(user.user_metadata).toMatchObject({ name: 'Ada', email: address, email_verified: true, sub: user.id });
        expect(user.identities?.[0]).toMatchObject({ provider: 'email', user_id: user.id, id: user.id });
        const claims = decodeJwt(session.access_token);
        expect(claims).toMatchObject({ sub: user.id, aud: 'authenticated', role: 'authenticated', aal: 'aal1', email: address, is_anonymous: false });
        expect(claims.iss).toBe(`${auth.url}/auth/v1`);
        expect((claims.amr as Array<{ method: string }>)[0]!.method).toBe('password');
    });

    it('writes the rows Supabase Auth writes', async () => {
        const { user } = await signedUp();
        const [row] = await auth.db.query<{ encrypted_password: string; aud: string; instance_id: string }>(
            'select encrypted_password, aud, instance_id from auth.users where id = $1',
            [user.id],
        );
        expect(row!.encrypted_password).toMatch(/^\$2[aby]\$10\$/);
        expect(row!.instance_id).toBe('00000000-0000-0000-0000-000000000000');
        const sessions = await auth.db.query('select aal from auth.sessions where user_id = $1', [user.id]);
        expect(sessions).toEqual([{ aal: 'aal1' }]);
        const audit = await auth.db.query<{ action: string }>(
            `select payload->>'action' as action from auth.audit_log_entries where payload->>'actor_id' = $1 order by created_at`,
            [user.id],
        );
        expect(audit.map((a) => a.action)).toContain('user_signedup');
    });

    it('refuses a second sign-up with the same email (422 user_already_exists)', async () => {
        const { address } = await signedUp();
        const { error } = await auth.client().auth.signUp({ email: address, password: PASSWORD });
        expect(error).toMatchObject({ status: 422, code: 'user_already_exists', message: 'User already registered' });
    });

    it('concurrent sign-ups for one address create one user', async () => {
        const address = email('race');
        const results = await Promise.all(Array.from({ length: 5 }, () => auth.client().auth.signUp({ email: address, password: PASSWORD })));
        expect(results.filter((r) => r.data.session).length).toBe(1);
        for (const r of results.filter((r) => !r.data.session)) expect(r.error).toMatchObject({ status: 422, code: 'user_already_exists' });
        expect(await auth.db.query('select id from auth.users where email = $1', [address])).toHaveLength(1);
    });

    it('rejects a weak password with weak_password reasons', async () => {
        const { error } = await auth.client().auth.signUp({ email: email(), password: 'short' });
        expect(error?.name).toBe('AuthWeakPasswordError');
        expect(error).toMatchObject({ status: 422, code: 'weak_password' });
        expect((error as unknown as { reasons: string[] }).reasons).toEqual(['length', 'characters']);
    });
});

describe('password sign-in', () => {
    it('signs in with the right password', async () => {
        const { address, user } = await signedUp();
        const { data, error } = await auth.client().auth.signInWithPassword({ email: address.toUpperCase(), password: PASSWORD });
        expect(error).toBeNull();
        expect(data.user?.id).toBe(user.id);
        expect(data.session?.refresh_token).toMatch(/^[a-z0-9]{12}$/);
    });

    it('answers a wrong password and an unknown email alike', async () => {
        const { address } = await signedUp();
        const wrong = await auth.client().auth.signInWithPassword({ email: address, password: 'wrong password 1' });
        const unknown = await auth.client().auth.signInWithPassword({ email: email('nobody'), password: PASSWORD });
        for (const { error } of [wrong, unknown]) {
            expect(error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
        }
    });
});

describe('refresh tokens', () => {
    it('rotate: refreshing revokes the old token and returns a new one', async () => {
        const { session } = await signedUp();
        const client = auth.client();
        const { data, error } = await client.auth.refreshSession({ refresh_token: session.refresh_token });
        expect(error).toBeNull();
        expect(data.session!.refresh_token).not.toBe(session.refresh_token);
        const [old] = await auth.db.query<{ revoked: boolean }>('select revoked from auth.refresh_tokens where token = $1', [session.refresh_token]);
        expect(old!.revoked).toBe(true);
        const [child] = await auth.db.query<{ parent: string }>('select parent from auth.refresh_tokens where token = $1', [data.session!.refresh_token]);
        expect(child!.parent).toBe(session.refresh_token);
    });

    it('reuse inside the reuse interval returns the same child', async () => {
        const { session } = await signedUp();
        const first = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
        const again = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
        expect(again.error).toBeNull();
        expect(again.data.session!.refresh_token).toBe(first.data.session!.refresh_token);
    });

    it('concurrent refreshes of one token all get the same child', async () => {
        const { session } = await signedUp();
        const results = await Promise.all(Array.from({ length: 4 }, () => auth.client().auth.refreshSession({ refresh_token: session.refresh_token })));
        const tokens = new Set(results.map((r) => r.data.session?.refresh_token));
        expect(results.every((r) => r.error === null)).toBe(true);
        expect(tokens.size).toBe(1);
    });

    it('reuse after the interval revokes the whole family', async () => {
        const { session } = await signedUp();
        const first = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
        auth.advance(11_000);
        const reused = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
        expect(reused.error).toMatchObject({ status: 400, code: 'refresh_token_already_used', message: 'Invalid Refresh Token: Already Used' });
        const child = await auth.client().auth.refreshSession({ refresh_token: first.data.session!.refresh_token });
        expect(child.error?.code).toBe('refresh_token_already_used');
    });

    it('an unknown refresh token is refresh_token_not_found', async () => {
        const { error } = await auth.client().auth.refreshSession({ refresh_token: 'nosuchtoken1' });
        expect(error).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
    });
});

describe('logout', () => {
    async function threeSessions() {
        const { address } = await signedUp();
        const clients = [auth.client(), auth.client(), auth.client()];
        const sessions = [];
        for (const c of clients) sessions.push((await c.auth.signInWithPassword({ email: address, password: PASSWORD })).data.session!);
        return { clients, sessions };
    }
    const refreshes = async (refreshToken: string) => !(await auth.client().auth.refreshSession({ refresh_token: refreshToken })).error;

    it('local signs out only the current session', async () => {
        const { clients, sessions } = await threeSessions();
        expect((await clients[0]!.auth.signOut({ scope: 'local' })).error).toBeNull();
        expect(await refreshes(sessions[0]!.refresh_token)).toBe(false);
        expect(await refreshes(sessions[1]!.refresh_token)).toBe(true);
    });

    it('others keeps only the current session', async () => {
        const { clients, sessions } = await threeSessions();
        expect((await clients[0]!.auth.signOut({ scope: 'others' })).error).toBeNull();
        expect(await refreshes(sessions[1]!.refresh_token)).toBe(false);
        expect(await refreshes(sessions[2]!.refresh_token)).toBe(false);
        expect(await refreshes(sessions[0]!.refresh_token)).toBe(true);
    });

    it('global signs out every session, and the old access token no longer finds its session', async () => {
        const { clients, sessions } = await threeSessions();
        expect((await clients[1]!.auth.signOut()).error).toBeNull();
        for (const s of sessions) expect(await refreshes(s.refresh_token)).toBe(false);
        const { error } = await auth.client().auth.getUser(sessions[0]!.access_token);
        expect(error?.name).toBe('AuthSessionMissingError');
    });
});

describe('user and public endpoints', () => {
    it('GET /user returns the signed-in user', async () => {
        const { client, user } = await signedUp();
        const { data, error } = await client.auth.getUser();
        expect(error).toBeNull();
        expect(data.user?.id).toBe(user.id);
    });

    it('updates user_metadata but never app_metadata', async () => {
        const { client } = await signedUp();
        const { data, error } = await client.auth.updateUser({ data: { name: 'Grace', plan: 'pro' } });
        expect(error).toBeNull();
        expect(data.user?.user_metadata).toMatchObject({ name: 'Grace', plan: 'pro' });
        const attempt = await client.auth.updateUser({ app_metadata: { role: 'admin' } } as never);
        expect(attempt.error).toMatchObject({ status: 403, code: 'not_admin' });
        const { data: after } = await client.auth.getUser();
        expect(after.user?.app_metadata).toEqual({ provider: 'email', providers: ['email'] });
    });

    it('settings and health describe the server', async () => {
        const settings = await (await auth.fetch('/settings')).json();
        expect(settings).toMatchObject({ disable_signup: false, mailer_autoconfirm: true, external: { email: true, anonymous_users: true } });
        const health = (await (await auth.fetch("/health")).json()) as { name: string };
        expect(health.name).toBe('GoTrue');
        const jwks = await (await auth.fetch('/.well-known/jwks.json')).json();
        expect(jwks).toEqual({ keys: [] });
    });
});
