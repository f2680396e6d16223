// The [auth] section of supabase/config.toml, validated once at start as Supabase CLI 3.x
// reads it: a value of the wrong type fails naming the key, a key the CLI does not know is
// ignored with the CLI's warning, and the CLI's own consistency rules (MFA enroll needs
// verify, passkeys need [auth.webauthn]) fail with its words. Values GoTrue replaces by a
// default at start (an OTP length outside 6–10, a password minimum under 6, …) are replaced
// the same way. Durations are Go-style strings ("1s", "24h").
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type ProjectConfig } from '../config.js';
import { compileRedirectGlob } from './redirects.js';

const DURATION = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

/** Parses a Go duration ("1h30m", "5s") to milliseconds. */
export function parseDuration(value: string): number {
    if (!DURATION.test(value)) throw new Error(`invalid duration ${JSON.stringify(value)}`);
    const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let total = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * units[unit!]!;
    return total;
}

const duration = z.string().refine((v) => DURATION.test(v), 'expected a duration like "5s", "1h"');
const loose = z.record(z.string(), z.unknown());
/** The CLI's numbers are non-negative integers. */
const count = z.number().int().nonnegative();
const toggle = z.object({ enabled: z.boolean().default(false) }).passthrough();

const RateLimitSchema = z
    .object({
        email_sent: count.default(2),
        sms_sent: count.default(30),
        anonymous_users: count.default(30),
        token_refresh: count.default(150),
        sign_in_sign_ups: count.default(30),
        token_verifications: count.default(30),
        web3: count.default(30),
    })
    .strict();

const EmailSchema = z
    .object({
        /** The email provider (`enable_signup` before CLI 3; stack/config.ts renames it). */
        enabled: z.boolean().default(true),
        double_confirm_changes: z.boolean().default(true),
        enable_confirmations: z.boolean().default(false),
        secure_password_change: z.boolean().default(false),
        require_current_password: z.boolean().optional(),
        max_frequency: duration.default('1s'),
        otp_length: count.default(6),
        otp_expiry: count.default(3600),
        smtp: z
            .object({
                enabled: z.boolean().default(false),
                host: z.string().optional(),
                port: count.optional(),
                user: z.string().optional(),
                pass: z.string().optional(),
                admin_email: z.string().optional(),
                sender_name: z.string().optional(),
            })
            .strict()
            .optional(),
        template: z.record(z.string(), z.object({ subject: z.string().optional(), content_path: z.string().optional() }).strict()).optional(),
        notification: z
            .record(z.string(), z.object({ enabled: z.boolean().optional(), subject: z.string().optional(), content_path: z.string().optional() }).strict())
            .optional(),
    })
    .strict();

const MfaSwitches = z.object({ enroll_enabled: z.boolean().default(false), verify_enabled: z.boolean().default(false) });

const MfaSchema = z
    .object({
        max_enrolled_factors: count.default(10),
        totp: MfaSwitches.strict().default({ enroll_enabled: false, verify_enabled: false }),
        phone: MfaSwitches.extend({ otp_length: count.optional(), template: z.string().optional(), max_frequency: duration.optional() })
            .strict()
            .default({ enroll_enabled: false, verify_enabled: false }),
        web_authn: MfaSwitches.strict().default({ enroll_enabled: false, verify_enabled: false }),
    })
    .strict();

const HookSchema = z
    .object({
        enabled: z.boolean().default(false),
        uri: z.string().default(''),
        secrets: z.string().optional(),
    })
    .strict();

const HOOKS = ['mfa_verification_attempt', 'password_verification_attempt', 'custom_access_token', 'send_sms', 'send_email', 'before_user_created'] as const;

const AuthSchema = z
    .object({
        enabled: z.boolean().default(true),
        site_url: z.string().url().default('http://127.0.0.1:3000'),
        external_url: z.string().optional(),
        additional_redirect_urls: z.array(z.string()).default([]),
        jwt_expiry: count.default(3600),
        jwt_issuer: z.string().optional(),
        jwt_secret: z.string().optional(),
        signing_keys_path: z.string().optional(),
        publishable_key: z.string().optional(),
        secret_key: z.string().optional(),
        anon_key: z.string().optional(),
        service_role_key: z.string().optional(),
        enable_refresh_token_rotation: z.boolean().default(true),
        refresh_token_reuse_interval: count.default(10),
        enable_signup: z.boolean().default(true),
        enable_anonymous_sign_ins: z.boolean().default(false),
        enable_manual_linking: z.boolean().default(false),
        minimum_password_length: count.default(6),
        password_requirements: z
            .enum(['', 'letters_digits', 'lower_upper_letters_digits', 'lower_upper_letters_digits_symbols'])
            .default(''),
        rate_limit: RateLimitSchema.default(RateLimitSchema.parse({})),
        email: EmailSchema.default(EmailSchema.parse({})),
        mfa: MfaSchema.default(MfaSchema.parse({})),
        sessions: z.object({ timebox: duration.optional(), inactivity_timeout: duration.optional() }).strict().optional(),
        hook: z.object(Object.fromEntries(HOOKS.map((name) => [name, HookSchema.optional()])) as Record<(typeof HOOKS)[number], z.ZodOptional<typeof HookSchema>>).strict().optional(),
        passkey: z.object({ enabled: z.boolean().default(false) }).strict().optional(),
        webauthn: z
            .object({ rp_display_name: z.string().optional(), rp_id: z.string().optional(), rp_origins: z.array(z.string()).optional() })
            .strict()
            .optional(),
        web3: z.object({ solana: toggle.optional(), ethereum: toggle.optional() }).strict().optional(),
        oauth_server: z
            .object({
                enabled: z.boolean().default(false),
                authorization_url_path: z.string().default('/oauth/consent'),
                allow_dynamic_registration: z.boolean().default(false),
            })
            .strict()
            .optional(),
        external: z.record(z.string(), toggle).optional(),
        // Sections the local auth server accepts but does not act on (no SMS, captcha or third-party issuers locally).
        captcha: loose.optional(),
        sms: loose.optional(),
        third_party: loose.optional(),
    })
    .strict();

/** The OAuth providers GoTrue knows ([auth.external.<name>], /settings' `external`). */
export const EXTERNAL_PROVIDERS = [
    'apple', 'azure', 'bitbucket', 'discord', 'facebook', 'figma', 'fly', 'github', 'gitlab', 'google', 'keycloak', 'kakao',
    'linkedin', 'linkedin_oidc', 'notion', 'spotify', 'slack', 'slack_oidc', 'workos', 'twitch', 'twitter', 'x', 'zoom',
];

export interface WebAuthnRelyingParty {
    /** [auth.webauthn] rp_id: the domain credentials are scoped to. */
    id: string;
    name: string;
    /** Origins a ceremony may come from. */
    origins: string[];
}

export interface AuthSettings {
    siteUrl: string;
    additionalRedirectUrls: string[];
    /** additional_redirect_urls compiled as GoTrue's globs (stack/auth/redirects.ts). */
    redirectPatterns: RegExp[];
    jwtExpiry: number;
    jwtIssuer: string | undefined;
    /** [auth] external_url: where Auth is reachable from outside (mailed links); default the gateway's /auth/v1. */
    externalUrl: string | undefined;
    refreshTokenRotation: boolean;
    refreshTokenReuseInterval: number;
    enableSignup: boolean;
    anonymousSignIns: boolean;
    manualLinking: boolean;
    minimumPasswordLength: number;
    passwordRequirements: string;
    rateLimit: z.infer<typeof RateLimitSchema>;
    /** Whether email_sent applies: the CLI only enforces it with a custom SMTP server. */
    emailRateLimited: boolean;
    email: {
        enabled: boolean;
        autoconfirm: boolean;
        doubleConfirmChanges: boolean;
        securePasswordChange: boolean;
        maxFrequencyMs: number;
        otpLength: number;
        otpExpirySeconds: number;
        subjects: Record<string, string>;
        /** From header of auth mails ([auth.email.smtp] sender_name and admin_email). */
        from: string;
        /** Custom template bodies ([auth.email.template.<name>] content_path), by template name. */
        templates: Record<string, string>;
    };
    /** [auth.sms] enabled: the phone provider (no SMS is ever sent locally). */
    phoneEnabled: boolean;
    /** Enabled external OAuth providers ([auth.external.<name>] enabled). */
    externalProviders: Set<string>;
    /** [auth.external.keycloak] url: Keycloak's issuer. */
    keycloakUrl: string | undefined;
    web3: { solana: boolean; ethereum: boolean };
    mfa: {
        maxEnrolledFactors: number;
        totpEnroll: boolean;
        totpVerify: boolean;
        webauthnEnroll: boolean;
        webauthnVerify: boolean;
    };
    /** [auth.passkey] enabled: passkey sign-up/sign-in (needs [auth.webauthn]). */
    passkeys: boolean;
    /** [auth.webauthn]: the relying party of passkeys, and of WebAuthn MFA when set. */
    webauthn: WebAuthnRelyingParty | undefined;
    oauthServer: { enabled: boolean; authorizationUrlPath: string; allowDynamicRegistration: boolean };
    sessions: { timeboxMs: number | undefined; inactivityTimeoutMs: number | undefined };
    customAccessTokenHook: { schema: string; fn: string } | undefined;
    /** What the Supabase CLI would warn about in [auth] (keys it ignores), in its words. */
    warnings: string[];
}

/** The CLI's warning for keys it does not know (it ignores them). */
export function unknownKeysWarning(keys: string[]): string {
    return (
        `WARN: supabase/config.toml has keys this version of the Supabase CLI does not recognize and ignores: ${keys.join(', ')}. ` +
        'Check them for typos, remove keys older CLI versions used, or upgrade the CLI if they come from a newer version.'
    );
}

type Issue = z.core.$ZodIssue;

/** Removes `keys` from the table at `at` inside `value` (a copy), like the CLI ignoring them. */
function withoutKeys(value: unknown, at: PropertyKey[], keys: string[]): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const table = value as Record<string, unknown>;
    if (at.length === 0) return Object.fromEntries(Object.entries(table).filter(([k]) => !keys.includes(k)));
    const [head, ...rest] = at;
    return { ...table, [String(head)]: withoutKeys(table[String(head)], rest, keys) };
}

/**
 * Parses [auth]: unknown keys are dropped and reported (the CLI ignores them with a
 * warning); any other problem fails naming the key.
 */
function parseAuthSection(input: unknown): { data: z.infer<typeof AuthSchema>; unknown: string[] } {
    const unknown: string[] = [];
    let value: unknown = input ?? {};
    for (;;) {
        const result = AuthSchema.safeParse(value);
        if (result.success) return { data: result.data, unknown };
        const unrecognised = result.error.issues.filter((i): i is Issue & { code: 'unrecognized_keys'; keys: string[] } => i.code === 'unrecognized_keys');
        const fatal = result.error.issues.find((i) => i.code !== 'unrecognized_keys');
        if (fatal || unrecognised.length === 0) {
            const issue = fatal ?? result.error.issues[0]!;
            const where = ['auth', ...issue.path.map(String)].join('.');
            throw new ConfigError(`supabase/config.toml [${where}]: ${issue.message}`);
        }
        for (const issue of unrecognised) {
            unknown.push(...issue.keys.map((key) => ['auth', ...issue.path.map(String), key].join('.')));
            value = withoutKeys(value, issue.path, issue.keys);
        }
    }
}

/** The CLI's checks that span keys, with its messages. */
function checkConsistency(a: z.infer<typeof AuthSchema>): void {
    for (const [label, mfa] of [['totp', a.mfa.totp], ['phone', a.mfa.phone], ['web_authn', a.mfa.web_authn]] as const) {
        if (mfa.enroll_enabled && !mfa.verify_enabled) throw new ConfigError(`Invalid MFA config: auth.mfa.${label}.enroll_enabled requires verify_enabled`);
    }
    if (a.passkey?.enabled) {
        if (!a.webauthn) throw new ConfigError('Missing required config section: auth.webauthn (required when auth.passkey.enabled is true)');
        if (!a.webauthn.rp_id) throw new ConfigError('Missing required field in config: auth.webauthn.rp_id');
        if (!a.webauthn.rp_origins?.length) throw new ConfigError('Missing required field in config: auth.webauthn.rp_origins');
    }
}

/** Validates `config.auth`; throws ConfigError naming the first bad key. */
export function authSettingsFromConfig(config: ProjectConfig): AuthSettings {
    const { data: a, unknown } = parseAuthSection(config.auth);
    checkConsistency(a);
    const hook = a.hook?.custom_access_token;
    let customAccessTokenHook: AuthSettings['customAccessTokenHook'];
    if (hook?.enabled) {
        const match = /^pg-functions:\/\/[^/]+\/([^/]+)\/([^/]+)$/.exec(hook.uri);
        if (!match) {
            throw new ConfigError(
                `supabase/config.toml [auth.hook.custom_access_token] uri: expected pg-functions://<database>/<schema>/<function>, got ${JSON.stringify(hook.uri)}`,
            );
        }
        customAccessTokenHook = { schema: match[1]!, fn: match[2]! };
    }
    const subjects: Record<string, string> = {};
    const templates: Record<string, string> = {};
    for (const [name, template] of Object.entries(a.email.template ?? {})) {
        if (typeof template.subject === 'string') subjects[name] = template.subject;
        if (typeof template.content_path === 'string' && template.content_path) {
            const file = path.resolve(config.workdir, template.content_path);
            try {
                templates[name] = fs.readFileSync(file, 'utf8');
            } catch (error) {
                throw new ConfigError(`supabase/config.toml [auth.email.template.${name}] content_path: ${(error as Error).message}`);
            }
        }
    }
    const redirectPatterns = a.additional_redirect_urls.map((pattern, index) => {
        try {
            return compileRedirectGlob(pattern);
        } catch (error) {
            throw new ConfigError(`supabase/config.toml [auth.additional_redirect_urls.${index}]: ${(error as Error).message}`);
        }
    });
    const webauthn = a.webauthn?.rp_id && a.webauthn.rp_origins?.length
        ? { id: a.webauthn.rp_id, name: a.webauthn.rp_display_name || a.webauthn.rp_id, origins: a.webauthn.rp_origins }
        : undefined;
    return {
        siteUrl: a.site_url,
        additionalRedirectUrls: a.additional_redirect_urls,
        redirectPatterns,
        // GoTrue's defaults for values it does not accept (config.go ApplyDefaults).
        jwtExpiry: a.jwt_expiry || 3600,
        jwtIssuer: a.jwt_issuer || undefined,
        externalUrl: a.external_url || undefined,
        refreshTokenRotation: a.enable_refresh_token_rotation,
        refreshTokenReuseInterval: a.refresh_token_reuse_interval,
        enableSignup: a.enable_signup,
        anonymousSignIns: a.enable_anonymous_sign_ins,
        manualLinking: a.enable_manual_linking,
        minimumPasswordLength: Math.max(6, a.minimum_password_length),
        passwordRequirements: a.password_requirements,
        rateLimit: a.rate_limit,
        emailRateLimited: a.email.smtp?.enabled === true,
        email: {
            enabled: a.email.enabled,
            autoconfirm: !a.email.enable_confirmations,
            doubleConfirmChanges: a.email.double_confirm_changes,
            securePasswordChange: a.email.secure_password_change,
            maxFrequencyMs: parseDuration(a.email.max_frequency),
            otpLength: a.email.otp_length >= 6 && a.email.otp_length <= 10 ? a.email.otp_length : 6,
            otpExpirySeconds: a.email.otp_expiry || 86400,
            subjects,
            templates,
            from: `${a.email.smtp?.sender_name || 'Admin'} <${a.email.smtp?.admin_email || 'admin@email.com'}>`,
        },
        phoneEnabled: a.sms?.enabled === true,
        externalProviders: new Set(Object.entries(a.external ?? {}).filter(([, p]) => p.enabled).map(([name]) => name)),
        keycloakUrl: typeof a.external?.keycloak?.url === 'string' && a.external.keycloak.url ? a.external.keycloak.url : undefined,
        web3: { solana: a.web3?.solana?.enabled === true, ethereum: a.web3?.ethereum?.enabled === true },
        mfa: {
            maxEnrolledFactors: a.mfa.max_enrolled_factors || 10,
            totpEnroll: a.mfa.totp.enroll_enabled,
            totpVerify: a.mfa.totp.verify_enabled,
            webauthnEnroll: a.mfa.web_authn.enroll_enabled,
            webauthnVerify: a.mfa.web_authn.verify_enabled,
        },
        passkeys: a.passkey?.enabled === true,
        webauthn,
        oauthServer: {
            enabled: a.oauth_server?.enabled === true,
            authorizationUrlPath: a.oauth_server?.authorization_url_path ?? '/oauth/consent',
            allowDynamicRegistration: a.oauth_server?.allow_dynamic_registration === true,
        },
        sessions: {
            timeboxMs: a.sessions?.timebox ? parseDuration(a.sessions.timebox) : undefined,
            inactivityTimeoutMs: a.sessions?.inactivity_timeout ? parseDuration(a.sessions.inactivity_timeout) : undefined,
        },
        customAccessTokenHook,
        warnings: unknown.length ? [unknownKeysWarning(unknown.sort())] : [],
    };
}
