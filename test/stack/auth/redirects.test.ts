// redirect_to / emailRedirectTo as Supabase Auth allows it: the site URL's origin, or a URL
// matching one of additional_redirect_urls (exact, or a glob in GoTrue's syntax); anything
// else, another port or scheme on the site's host included, falls back to site_url. Checked
// on every endpoint that takes a redirect: signup, otp, recover, resend, invite,
// generate_link, user update and GET /verify.
import { describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

const auth = useAuthService('redirects');
const SITE = 'http://127.0.0.1:3000';
const PASSWORD = 'redirect-pass-1';

const ALLOWED = [
    'http://127.0.0.1:3000',
    'http://127.0.0.1:3000/welcome?next=%2Fcart',
    'https://app.example.test/deep/path?x=1',
    'https://app.example.test/',
    'http://localhost:3000/cb',
    'myapp://callback',
    'https://pr-12.preview.example.test/auth/callback',
    'https://pr-12.preview.example.test/auth/confirm',
    'https://exact.example.test/done',
    'https://v2.example.test/bx/z',
];

const REFUSED = [
    'http://127.0.0.1:6666/steal',
    'javascript://127.0.0.1/%0aalert(1)',
    'javascript://127.0.0.1:3000/%0aalert(1)',
    'https://127.0.0.1:3000/welcome',
    'http://127.0.0.1:3000@evil.test/',
    'http://evil.test/http://127.0.0.1:3000',
    'https://app.example.test.evil.test/',
    'https://evil.test/?https://app.example.test/',
    'http://localhost:3000/a/b',
    'http://localhost:3001/cb',
    'myapp://callback/x',
    'https://a.b.preview.example.test/auth/callback',
    'https://pr-12.preview.example.test/auth/other',
    'https://exact.example.test/done/',
    'https://exact.example.test/done?x',
    'https://v22.example.test/bx/z',
    'https://v2.example.test/dx/z',
    'https://v2.example.test/bx/7',
    'not a url',
    'data:text/html,<script>alert(1)</script>',
];

const linkRedirect = (link: string) => new URL(link).searchParams.get('redirect_to');
const mailedRedirect = (address: string) => linkRedirect(auth.mail.link(auth.mail.latest(address)));

async function generateLink(redirectTo: string): Promise<string> {
    const response = await auth.fetch('/admin/generate_link', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${(await import('../../../stack/keys.js')).LOCAL_SERVICE_ROLE_KEY}` },
        body: JSON.stringify({ type: 'magiclink', email: email('gl'), redirect_to: redirectTo }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { redirect_to: string; action_link: string };
    expect(linkRedirect(body.action_link)).toBe(body.redirect_to);
    return body.redirect_to;
}

describe('which URLs are allowed (admin generate_link)', () => {
    it('the site origin, exact URLs and glob matches are kept', async () => {
        for (const url of ALLOWED) expect(await generateLink(url), url).toBe(url);
    });

    it('anything else falls back to site_url', async () => {
        for (const url of REFUSED) expect(await generateLink(url), url).toBe(SITE);
    });
});

describe('every endpoint that takes a redirect applies the rules', () => {
    const attack = 'http://127.0.0.1:6666/steal';
    const good = 'https://app.example.test/next';

    it('signup', async () => {
        for (const [target, expected] of [
            [attack, SITE],
            [good, good],
        ]) {
            const address = email('signup');
            await auth.client().auth.signUp({ email: address, password: PASSWORD, options: { emailRedirectTo: target } });
            expect(mailedRedirect(address)).toBe(expected);
        }
    });

    it('otp (magic link)', async () => {
        for (const [target, expected] of [
            ['javascript://127.0.0.1/%0aalert(1)', SITE],
            [good, good],
        ]) {
            const address = email('otp');
            await auth.client().auth.signInWithOtp({ email: address, options: { emailRedirectTo: target } });
            expect(mailedRedirect(address)).toBe(expected);
        }
    });

    it('recover, resend, user update and GET /verify', async () => {
        const address = email('owner');
        await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
        await auth.client().auth.resetPasswordForEmail(address, { redirectTo: attack });
        const recovery = auth.mail.link(auth.mail.latest(address));
        expect(linkRedirect(recovery)).toBe(SITE);
        // GET /verify with a redirect_to swapped for the attacker's: the session goes to site_url.
        const swapped = new URL(recovery);
        swapped.searchParams.set('redirect_to', attack);
        const response = await fetch(swapped, { redirect: 'manual' });
        expect(response.status).toBe(303);
        const location = new URL(response.headers.get('location')!);
        expect(location.origin).toBe(SITE);
        expect(new URLSearchParams(location.hash.slice(1)).get('access_token')).toBeTruthy();

        const pending = email('pending');
        await auth.client().auth.signUp({ email: pending, password: PASSWORD });
        auth.advance(2_000);
        await auth.client().auth.resend({ type: 'signup', email: pending, options: { emailRedirectTo: attack } });
        expect(mailedRedirect(pending)).toBe(SITE);
        auth.advance(2_000);
        await auth.client().auth.resend({ type: 'signup', email: pending, options: { emailRedirectTo: good } });
        expect(mailedRedirect(pending)).toBe(good);

        const client = auth.client();
        await client.auth.signInWithPassword({ email: address, password: PASSWORD });
        const next = email('next');
        expect((await client.auth.updateUser({ email: next }, { emailRedirectTo: attack })).error).toBeNull();
        expect(mailedRedirect(next)).toBe(SITE);
    });

    it('invite', async () => {
        const invited = email('invited');
        expect((await auth.admin().auth.admin.inviteUserByEmail(invited, { redirectTo: attack })).error).toBeNull();
        expect(mailedRedirect(invited)).toBe(SITE);
        const welcome = email('welcome');
        expect((await auth.admin().auth.admin.inviteUserByEmail(welcome, { redirectTo: good })).error).toBeNull();
        expect(mailedRedirect(welcome)).toBe(good);
    });

    it('a Referer on the allow list stands in for a missing redirect_to, as GoTrue does', async () => {
        const address = email('referer');
        await auth.fetch('/otp', { method: 'POST', headers: { 'content-type': 'application/json', referer: 'https://app.example.test/login' }, body: JSON.stringify({ email: address }) });
        expect(mailedRedirect(address)).toBe('https://app.example.test/login');
        const other = email('referer');
        await auth.fetch('/otp', { method: 'POST', headers: { 'content-type': 'application/json', referer: 'http://127.0.0.1:6666/' }, body: JSON.stringify({ email: other }) });
        expect(mailedRedirect(other)).toBe(SITE);
    });
});
