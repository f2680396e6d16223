// Every config.toml Supabase CLI 3.x accepts starts auth: the one `supabase init` writes,
// one without project_id (the CLI uses the directory's name), and one with the deprecated
// `enable_signup` under [auth.email] / [auth.sms] and a key the CLI does not know — which
// the CLI reads with a warning. The warnings are the CLI's own: the real CLI from
// node_modules is run on the same file and must print the same lines.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSettingsFromConfig } from '../../../stack/auth/settings.js';
import { ConfigError, loadProjectConfig } from '../../../stack/config.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { email, useAuthService } from '../../harness/auth.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'supabase');

const DEPRECATED_EMAIL = 'WARN: auth.email.enable_signup is deprecated and will be removed in v4, use auth.email.enabled instead.';
const DEPRECATED_SMS = 'WARN: auth.sms.enable_signup is deprecated and will be removed in v4, use auth.sms.enabled instead.';
const unknownKeys = (keys: string) =>
    `WARN: supabase/config.toml has keys this version of the Supabase CLI does not recognize and ignores: ${keys}. ` +
    'Check them for typos, remove keys older CLI versions used, or upgrade the CLI if they come from a newer version.';

let root: string;
let initConfig: string;

/** A project directory named `name` whose config.toml is `config`. */
function project(name: string, config: string): string {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'supabase'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'supabase', 'config.toml'), config);
    return dir;
}

/** The WARN lines the real CLI prints when it loads the project's config (`supabase status` needs no Docker for that). */
async function cliWarnings(dir: string): Promise<string[]> {
    const result = await run(CLI, ['status', '--workdir', dir], { timeout: 60_000 }).catch((error: { stdout: string; stderr: string }) => error);
    return `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.startsWith('WARN:'));
}

function warningsOf(dir: string): string[] {
    const config = loadProjectConfig(dir);
    return [...config.warnings, ...authSettingsFromConfig(config).warnings];
}

/** The init config with `edit` applied to its text. */
const edited = (edit: (text: string) => string) => edit(initConfig);

beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-config-'));
    const initDir = path.join(root, 'fresh-shop');
    fs.mkdirSync(initDir);
    await run(CLI, ['init'], { cwd: initDir, timeout: 60_000 });
    initConfig = fs.readFileSync(path.join(initDir, 'supabase', 'config.toml'), 'utf8');
}, 120_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the config `supabase init` writes', () => {
    it('loads with no warning, auth settings as the CLI defaults them', () => {
        const dir = path.join(root, 'fresh-shop');
        const config = loadProjectConfig(dir);
        expect(config.project_id).toBe('fresh-shop');
        const settings = authSettingsFromConfig(config);
        expect(warningsOf(dir)).toEqual([]);
        expect(settings).toMatchObject({
            siteUrl: 'http://127.0.0.1:3000',
            enableSignup: true,
            phoneEnabled: false,
            passkeys: false,
            webauthn: undefined,
            web3: { solana: false, ethereum: false },
            oauthServer: { enabled: false, authorizationUrlPath: '/oauth/consent', allowDynamicRegistration: false },
            mfa: { maxEnrolledFactors: 10, totpEnroll: false, webauthnEnroll: false },
        });
        expect(settings.email).toMatchObject({ enabled: true, autoconfirm: true, otpLength: 6, otpExpirySeconds: 3600 });
    });

    it('without project_id, the project is named after its directory (as the CLI does)', () => {
        const dir = project('no-project-id', edited((t) => t.replace(/^project_id = .*$/m, '')));
        expect(loadProjectConfig(dir).project_id).toBe('no-project-id');
    });
});

describe('deprecated and unknown keys', () => {
    const legacy = (emailSignup: boolean, smsSignup: boolean, extra = '') =>
        edited((t) =>
            t
                .replace('[auth.email]\n', `[auth.email]\nenable_signup = ${emailSignup}\n${extra}`)
                .replace('[auth.sms]\n', `[auth.sms]\nenable_signup = ${smsSignup}\n`)
                // Without the current name of the switch, which is the init config's.
                .replace(/(# To block new signups only, set enable_signup = false under \[auth\] instead\.\n)enabled = (true|false)\n/g, '$1'),
        );

    it('enable_signup under [auth.email] / [auth.sms] is the provider switch, with the CLI warning for each', async () => {
        const dir = project('legacy-keys', legacy(false, true));
        expect(warningsOf(dir)).toEqual([DEPRECATED_EMAIL, DEPRECATED_SMS]);
        const settings = authSettingsFromConfig(loadProjectConfig(dir));
        expect(settings.email.enabled).toBe(false);
        expect(settings.phoneEnabled).toBe(true);
        expect(await cliWarnings(dir)).toEqual([DEPRECATED_EMAIL, DEPRECATED_SMS]);
    });

    it('when both names are set, `enabled` wins and the old name still warns', () => {
        const dir = project('both-names', edited((t) => t.replace('[auth.email]\n', '[auth.email]\nenable_signup = false\n')));
        expect(warningsOf(dir)).toEqual([DEPRECATED_EMAIL]);
        expect(authSettingsFromConfig(loadProjectConfig(dir)).email.enabled).toBe(true);
    });

    it('a key the CLI does not know is ignored with its warning, naming the key like the CLI', async () => {
        const dir = project('unknown-key', legacy(true, false, 'remember_me = true\n').replace('[auth.rate_limit]\n', '[auth.rate_limit]\nsign_ins = 3\n'));
        const expected = [DEPRECATED_EMAIL, DEPRECATED_SMS, unknownKeys('auth.email.remember_me, auth.rate_limit.sign_ins')];
        expect(warningsOf(dir)).toEqual(expected);
        expect(await cliWarnings(dir)).toEqual(expected);
    });
});

describe('what the CLI refuses is refused', () => {
    const refused = (name: string, edit: (t: string) => string) => () => authSettingsFromConfig(loadProjectConfig(project(name, edited(edit))));

    it('a value of the wrong type, naming the key', () => {
        expect(refused('bad-type', (t) => t.replace('jwt_expiry = 3600', 'jwt_expiry = "an hour"'))).toThrow(/\[auth\.jwt_expiry\]/);
        expect(refused('bad-enum', (t) => t.replace('password_requirements = ""', 'password_requirements = "digits"'))).toThrow(/auth\.password_requirements/);
    });

    it('MFA enrolment without verification, in the CLI words', () => {
        expect(refused('mfa-enroll-only', (t) => t.replace('# [auth.mfa.web_authn]\n# enroll_enabled = true', '[auth.mfa.web_authn]\nenroll_enabled = true'))).toThrow(
            new ConfigError('Invalid MFA config: auth.mfa.web_authn.enroll_enabled requires verify_enabled'),
        );
    });

    it('passkeys without [auth.webauthn], in the CLI words', () => {
        expect(refused('passkey-alone', (t) => t.replace('# [auth.passkey]\n# enabled = false', '[auth.passkey]\nenabled = true'))).toThrow(
            new ConfigError('Missing required config section: auth.webauthn (required when auth.passkey.enabled is true)'),
        );
    });
});

describe('values GoTrue replaces by its default', () => {
    it('an OTP length outside 6–10, a password minimum under 6, a JWT expiry past a week and max_enrolled_factors 0 start as GoTrue runs them', () => {
        const dir = project(
            'gotrue-defaults',
            edited((t) =>
                t
                    .replace('otp_length = 6\notp_expiry', 'otp_length = 5\notp_expiry')
                    .replace('minimum_password_length = 6', 'minimum_password_length = 4')
                    .replace('jwt_expiry = 3600', 'jwt_expiry = 700000')
                    .replace('max_enrolled_factors = 10', 'max_enrolled_factors = 0'),
            ),
        );
        const settings = authSettingsFromConfig(loadProjectConfig(dir));
        expect(settings.email.otpLength).toBe(6);
        expect(settings.minimumPasswordLength).toBe(6);
        expect(settings.jwtExpiry).toBe(700000);
        expect(settings.mfa.maxEnrolledFactors).toBe(10);
    });
});

describe('auth started from a config written for an older CLI', () => {
    const auth = useAuthService('deprecated');

    it('starts, warns as the CLI does, and the email provider works', async () => {
        expect(auth.warnings).toEqual([DEPRECATED_EMAIL, DEPRECATED_SMS, unknownKeys('auth.email.remember_me')]);
        const { data, error } = await auth.client().auth.signUp({ email: email('legacy'), password: 'legacy-pass-1' });
        expect(error).toBeNull();
        expect(data.session?.access_token).toBeTruthy();
        const settings = (await (await auth.fetch('/settings')).json()) as { external: Record<string, boolean> };
        expect(settings.external).toMatchObject({ email: true, phone: false });
    });
});
