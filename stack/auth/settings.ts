// The [auth] section of supabase/config.toml, validated once at start: a bad value or an
// unknown key fails naming the key. Durations are Go-style strings ("1s", "24h").
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

const RateLimitSchema = z
    .object({
        email_sent: z.number().int().nonnegative().default(2),
        sms_sent: z.number().int().nonnegative().default(30),
        anonymous_users: z.number().int().nonnegative().default(30),
        token_refresh: z.number().int().nonnegative().default(150),
        sign_in_sign_ups: z.number().int().nonnegative().default(30),
        token_verifications: z.number().int().nonnegative().default(30),
        web3: z.number().int().nonnegative().default(30),
    })
    .strict();

const EmailSchema = z
    .object({
        enabled: z.boolean().default(true),
        double_confirm_changes: z.boolean().default(true),
        enable_confirmations: z.boolean().default(false),
        secure_password_change: z.boolean().default(false),
        require_current_password: z.boolean().optional(),
        max_frequency: duration.default('1s'),
        otp_length: z.number().int().min(6).max(10).default(6),
        otp_expiry: z.number().int().positive().max(86400).default(3600),
        smtp: z
            .object({ enabled: z.boolean().default(true), admin_email: z.string().optional(), sender_name: z.string().optional() })
            .passthrough()
            .optional(),
        template: z.record(z.string(), loose).optional(),
        notification: z.record(z.string(), loose).optional(),
    })
    .strict();

const MfaSchema = z
    .object({
        max_enrolled_factors: z.number().int().positive().default(10),
        totp: z
            .object({ enroll_enabled: z.boolean().default(false), verify_enabled: z.boolean().default(false) })
            .strict()
            .default({ enroll_enabled: false, verify_enabled: false }),
        phone: loose.optional(),
        web_authn: loose.optional(),
    })
    .strict();

const HookSchema = z
    .object({
        enabled: z.boolean().default(false),
        uri: z.string().default(''),
        secrets: z.string().optional(),
    })
    .strict();

const AuthSchema = z
    .object({
        enabled: z.boolean().default(true),
        site_url: z.string().url().default('http://127.0.0.1:3000'),
        external_url: z.string().optional(),
        additional_redirect_urls: z.array(z.string()).default([]),
        jwt_expiry: z.number().int().positive().max(604800).default(3600),
        jwt_issuer: z.string().optional(),
        jwt_secret: z.string().optional(),
        signing_keys_path: z.string().optional(),
        enable_refresh_token_rotation: z.boolean().default(true),
        refresh_token_reuse_interval: z.number().int().nonnegative().default(10),
        enable_signup: z.boolean().default(true),
        enable_anonymous_sign_ins: z.boolean().default(false),
        enable_manual_linking: z.boolean().default(false),
        minimum_password_length: z.number().int().min(6).default(6),
        password_requirements: z
            .enum(['', 'letters_digits', 'lower_upper_letters_digits', 'lower_upper_letters_digits_symbols'])
            .default(''),
        rate_limit: RateLimitSchema.default(RateLimitSchema.parse({})),
        email: EmailSchema.default(EmailSchema.parse({})),
        mfa: MfaSchema.default(MfaSchema.parse({})),
        sessions: z.object({ timebox: duration.optional(), inactivity_timeout: duration.optional() }).strict().optional(),
        hook: z
            .object({ custom_access_token: HookSchema.optional() })
            .catchall(loose)
            .optional(),
        // Sections the local auth server accepts but does not act on (no providers, SMS or captcha locally).
        captcha: loose.optional(),
        sms: loose.optional(),
        external: loose.optional(),
        web3: loose.optional(),
        third_party: loose.optional(),
        oauth_server: loose.optional(),
        passkey: loose.optional(),
        webauthn: loose.optional(),
    })
    .strict();

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
    mfa: { maxEnrolledFactors: number; totpEnroll: boolean; totpVerify: boolean };
    sessions: { timeboxMs: number | undefined; inactivityTimeoutMs: number | undefined };
    customAccessTokenHook: { schema: string; fn: string } | undefined;
}

/** Validates `config.auth`; throws ConfigError naming the first bad key. */
export function authSettingsFromConfig(config: ProjectConfig): AuthSettings {
    const result = AuthSchema.safeParse(config.auth);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        const where = ['auth', ...issue.path].join('.');
        const keys = issue.code === 'unrecognized_keys' ? ` (${(issue as { keys: string[] }).keys.join(', ')})` : '';
        throw new ConfigError(`supabase/config.toml [${where}]: ${issue.message}${keys}`);
    }
    const a = result.data;
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
    return {
        siteUrl: a.site_url,
        additionalRedirectUrls: a.additional_redirect_urls,
        redirectPatterns,
        jwtExpiry: a.jwt_expiry,
        jwtIssuer: a.jwt_issuer || undefined,
        externalUrl: a.external_url || undefined,
        refreshTokenRotation: a.enable_refresh_token_rotation,
        refreshTokenReuseInterval: a.refresh_token_reuse_interval,
        enableSignup: a.enable_signup,
        anonymousSignIns: a.enable_anonymous_sign_ins,
        manualLinking: a.enable_manual_linking,
        minimumPasswordLength: a.minimum_password_length,
        passwordRequirements: a.password_requirements,
        rateLimit: a.rate_limit,
        emailRateLimited: a.email.smtp?.enabled === true,
        email: {
            enabled: a.email.enabled,
            autoconfirm: !a.email.enable_confirmations,
            doubleConfirmChanges: a.email.double_confirm_changes,
            securePasswordChange: a.email.secure_password_change,
            maxFrequencyMs: parseDuration(a.email.max_frequency),
            otpLength: a.email.otp_length,
            otpExpirySeconds: a.email.otp_expiry,
            subjects,
            templates,
            from: `${a.email.smtp?.sender_name || 'Admin'} <${a.email.smtp?.admin_email || 'admin@email.com'}>`,
        },
        mfa: { maxEnrolledFactors: a.mfa.max_enrolled_factors, totpEnroll: a.mfa.totp.enroll_enabled, totpVerify: a.mfa.totp.verify_enabled },
        sessions: {
            timeboxMs: a.sessions?.timebox ? parseDuration(a.sessions.timebox) : undefined,
            inactivityTimeoutMs: a.sessions?.inactivity_timeout ? parseDuration(a.sessions.inactivity_timeout) : undefined,
        },
        customAccessTokenHook,
    };
}
