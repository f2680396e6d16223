// [auth] settings are validated at start, naming the bad key; the product's own config parses.
import { describe, expect, it } from 'vitest';
import { authSettingsFromConfig, parseDuration } from '../../../stack/auth/settings.js';
import { loadProjectConfig, type ProjectConfig } from '../../../stack/config.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';

const withAuth = (auth: Record<string, unknown>) => ({ project_id: 't', workdir: PROJECT_ROOT, raw: {}, warnings: [], auth }) as unknown as ProjectConfig;

describe('auth settings', () => {
    it('read the product config: TOTP on, the commerce hook, autoconfirm', () => {
        const settings = authSettingsFromConfig(loadProjectConfig(PROJECT_ROOT));
        expect(settings.mfa).toMatchObject({ totpEnroll: true, totpVerify: true });
        expect(settings.customAccessTokenHook).toEqual({ schema: 'public', fn: 'custom_access_token_hook' });
        expect(settings.email.autoconfirm).toBe(true);
    });

    it('an unknown key is reported with its name and ignored, as Supabase CLI 3.x does', () => {
        const settings = authSettingsFromConfig(withAuth({ enable_sigup: false, rate_limit: { sign_ins: 3 } }));
        expect(settings.warnings).toHaveLength(1);
        expect(settings.warnings[0]).toMatch(/does not recognize and ignores: auth\.enable_sigup, auth\.rate_limit\.sign_ins\./);
        expect(settings.enableSignup).toBe(true);
        expect(settings.rateLimit.sign_in_sign_ups).toBe(30);
    });

    it('a value of the wrong type is reported with its key', () => {
        expect(() => authSettingsFromConfig(withAuth({ jwt_expiry: 'an hour' }))).toThrow(/auth\.jwt_expiry/);
        expect(() => authSettingsFromConfig(withAuth({ email: { max_frequency: 'soon' } }))).toThrow(/auth\.email\.max_frequency/);
    });

    it('a hook URI that is not pg-functions:// is refused', () => {
        expect(() => authSettingsFromConfig(withAuth({ hook: { custom_access_token: { enabled: true, uri: 'https://example.test/hook' } } }))).toThrow(
            /custom_access_token\] uri/,
        );
    });

    it('a malformed redirect glob is refused at start, naming its index', () => {
        expect(() => authSettingsFromConfig(withAuth({ additional_redirect_urls: ['https://ok.test/**', 'https://{a,b.test/'] }))).toThrow(
            /additional_redirect_urls\.1\].*unclosed "\{"/,
        );
        expect(() => authSettingsFromConfig(withAuth({ additional_redirect_urls: ['https://[a-.test/'] }))).toThrow(/unclosed "\["/);
    });

    it('parses Go durations', () => {
        expect(parseDuration('1s')).toBe(1000);
        expect(parseDuration('1h30m')).toBe(5_400_000);
        expect(() => parseDuration('5 minutes')).toThrow();
    });
});
