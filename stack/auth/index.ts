// The Supabase-Auth-compatible /auth/v1 service: settings from [auth], a pool connected as
// supabase_auth_admin, and one fetch handler routing GoTrue's endpoints (the gateway strips
// the /auth/v1 prefix before calling it).
import type { ProjectConfig } from '../config.js';
import type { FetchHandler } from '../http.js';
import { createJwtVerifier, publicJwks, type JwtKeys } from '../jwt.js';
import type { MailSink } from '../mail/index.js';
import * as admin from './admin.js';
import type { AuthContext, RequestFacts } from './context.js';
import { AuthError, errorResponse, requestedApiVersion } from './errors.js';
import * as mfa from './mfa.js';
import { createRateLimits } from './rate-limit.js';
import { json } from './request.js';
import * as external from './external.js';
import * as oauthClients from './oauth-clients.js';
import * as passkeys from './passkeys.js';
import { authSettingsFromConfig, EXTERNAL_PROVIDERS } from './settings.js';
import * as signIn from './sign-in.js';
import * as user from './user.js';
import * as verify from './verify.js';
import type pg from 'pg';
import { createPgPool, isConnectionError, type ConnectionErrorHandler } from '../db/connect.js';
import { createLogger, createStreak, type Logger } from '../log.js';

export interface AuthServiceOptions {
    /** Superuser URL; the service connects as supabase_auth_admin/postgres on the same host, port and database. */
    dbUrl: string;
    config: ProjectConfig;
    jwt: JwtKeys;
    /** External URL of this service, e.g. http://127.0.0.1:54321/auth/v1 (mailed links, `iss`). */
    publicUrl: string;
    mail: MailSink;
    now?: () => Date;
    log?: Logger;
    /** Called for each pooled connection lost while idle (metrics count them). */
    onConnectionError?: ConnectionErrorHandler;
    /** Where the Supabase CLI's config warnings for [auth] go (default stderr). */
    warn?: (message: string) => void;
}

export interface AuthService {
    handler: FetchHandler;
    /** Rejects with the reason when the service cannot reach the database (`select 1` on its pool). */
    health(): Promise<void>;
    /** The supabase_auth_admin pool (its usage is reported by the metrics). */
    pool: pg.Pool;
    close(): Promise<void>;
}

type Route = (ctx: AuthContext, request: Request, facts: RequestFacts, ...params: string[]) => Promise<Response>;

const ID = '([^/]+)';

const ROUTES: Array<[string, RegExp, Route]> = [
    ['GET', /^\/health$/, async () => json(200, HEALTH)],
    ['GET', /^\/settings$/, async (ctx) => json(200, publicSettings(ctx))],
    ['GET', /^\/\.well-known\/jwks\.json$/, async (ctx) => json(200, { keys: publicJwks(ctx.jwt) }, { 'cache-control': 'public, max-age=600' })],
    ['POST', /^\/signup$/, signIn.signup],
    ['POST', /^\/token$/, signIn.token],
    ['POST', /^\/otp$/, signIn.otp],
    ['POST', /^\/magiclink$/, signIn.otp],
    ['POST', /^\/logout$/, signIn.logout],
    ['POST', /^\/verify$/, verify.verifyPost],
    ['GET', /^\/verify$/, verify.verifyGet],
    ['POST', /^\/recover$/, verify.recover],
    ['POST', /^\/resend$/, verify.resend],
    ['GET', /^\/user$/, (ctx, request) => user.getUser(ctx, request)],
    ['PUT', /^\/user$/, user.updateUser],
    ['GET', /^\/reauthenticate$/, user.reauthenticate],
    ['GET', /^\/user\/identities\/authorize$/, external.linkIdentity],
    ['DELETE', new RegExp(`^/user/identities/${ID}$`), user.unlinkIdentity],
    ['POST', /^\/factors$/, mfa.enrollFactor],
    ['POST', new RegExp(`^/factors/${ID}/challenge$`), mfa.challengeFactor],
    ['POST', new RegExp(`^/factors/${ID}/verify$`), mfa.verifyFactor],
    ['DELETE', new RegExp(`^/factors/${ID}$`), mfa.unenrollFactor],
    ['POST', /^\/passkeys\/registration\/options$/, passkeys.registrationOptions],
    ['POST', /^\/passkeys\/registration\/verify$/, passkeys.registrationVerify],
    ['POST', /^\/passkeys\/authentication\/options$/, passkeys.authenticationOptions],
    ['POST', /^\/passkeys\/authentication\/verify$/, passkeys.authenticationVerify],
    ['GET', /^\/passkeys$/, (ctx, request) => passkeys.listPasskeys(ctx, request)],
    ['PATCH', new RegExp(`^/passkeys/${ID}$`), passkeys.updatePasskey],
    ['DELETE', new RegExp(`^/passkeys/${ID}$`), passkeys.deletePasskey],
    ['POST', /^\/sso$/, external.sso],
    ['GET', /^\/sso\/saml\/metadata$/, external.sso],
    ['POST', /^\/sso\/saml\/acs$/, external.sso],
    ['POST', /^\/invite$/, admin.invite],
    ['POST', /^\/admin\/generate_link$/, admin.generateLink],
    ['GET', /^\/admin\/users$/, admin.listUsers],
    ['POST', /^\/admin\/users$/, admin.createUserAdmin],
    ['GET', new RegExp(`^/admin/users/${ID}$`), admin.getUserAdmin],
    ['PUT', new RegExp(`^/admin/users/${ID}$`), admin.updateUserAdmin],
    ['DELETE', new RegExp(`^/admin/users/${ID}$`), admin.deleteUserAdmin],
    ['GET', new RegExp(`^/admin/users/${ID}/factors$`), admin.listFactorsAdmin],
    ['GET', new RegExp(`^/admin/users/${ID}/factors/${ID}$`), admin.factorAdmin],
    ['PUT', new RegExp(`^/admin/users/${ID}/factors/${ID}$`), admin.factorAdmin],
    ['DELETE', new RegExp(`^/admin/users/${ID}/factors/${ID}$`), admin.factorAdmin],
    ['GET', new RegExp(`^/admin/users/${ID}/passkeys$`), passkeys.listPasskeysAdmin],
    ['DELETE', new RegExp(`^/admin/users/${ID}/passkeys/${ID}$`), passkeys.deletePasskeyAdmin],
    ['GET', /^\/admin\/oauth\/clients$/, oauthClients.listClients],
    ['POST', /^\/admin\/oauth\/clients$/, (ctx, request) => oauthClients.createClient(ctx, request)],
    ['GET', new RegExp(`^/admin/oauth/clients/${ID}$`), oauthClients.getClient],
    ['PUT', new RegExp(`^/admin/oauth/clients/${ID}$`), oauthClients.updateClient],
    ['DELETE', new RegExp(`^/admin/oauth/clients/${ID}$`), oauthClients.deleteClient],
    ['POST', new RegExp(`^/admin/oauth/clients/${ID}/regenerate_secret$`), oauthClients.regenerateSecret],
    ...(['GET', 'POST'] as const).map((method): [string, RegExp, Route] => [method, /^\/admin\/sso\/providers$/, external.ssoProvidersAdmin]),
    ...(['GET', 'PUT', 'DELETE'] as const).map((method): [string, RegExp, Route] => [method, new RegExp(`^/admin/sso/providers/${ID}$`), external.ssoProvidersAdmin]),
];

const HEALTH = { version: 'v2.186.0', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' };

function publicSettings(ctx: AuthContext): Record<string, unknown> {
    const { settings } = ctx;
    const external: Record<string, boolean> = { anonymous_users: settings.anonymousSignIns };
    for (const name of EXTERNAL_PROVIDERS) external[name] = settings.externalProviders.has(name);
    external.email = settings.email.enabled;
    external.phone = settings.phoneEnabled;
    external.web3_solana = settings.web3.solana;
    external.web3_ethereum = settings.web3.ethereum;
    return {
        external,
        disable_signup: !settings.enableSignup,
        mailer_autoconfirm: settings.email.autoconfirm,
        phone_autoconfirm: false,
        sms_provider: 'twilio',
        saml_enabled: false,
    };
}

const CORS_HEADERS = {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': 'authorization, apikey, content-type, x-client-info, x-supabase-api-version',
    'access-control-max-age': '86400',
    'access-control-expose-headers': 'x-total-count, link, x-supabase-api-version',
};

export async function createAuthService(options: AuthServiceOptions): Promise<AuthService> {
    const settings = authSettingsFromConfig(options.config);
    for (const warning of settings.warnings) (options.warn ?? console.error)(warning);
    const now = options.now ?? (() => new Date());
    const dbUrl = new URL(options.dbUrl);
    dbUrl.username = 'supabase_auth_admin';
    dbUrl.password = 'postgres';
    const log = options.log ?? createLogger('auth');
    // Lost connections (Postgres restarting, db:reset) are logged once per streak; a success ends it.
    const database = createStreak(log, 'database connection');
    const pool = createPgPool({ connectionString: dbUrl.toString(), max: 10, connectionTimeoutMillis: 10_000 }, (error) => {
        database.fail(error);
        options.onConnectionError?.(error);
    });
    // Fail at start, not on the first request, when the database is unreachable.
    await pool.query('select 1');
    const publicUrl = (settings.externalUrl ?? options.publicUrl).replace(/\/+$/, '');
    const ctx: AuthContext = {
        pool,
        settings,
        jwt: options.jwt,
        verify: createJwtVerifier(options.jwt),
        publicUrl,
        issuer: settings.jwtIssuer ?? publicUrl,
        mail: options.mail,
        now,
        limits: createRateLimits(settings.rateLimit, now),
    };

    const handler: FetchHandler = async (request, info) => {
        const apiVersion = requestedApiVersion(request);
        if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS_HEADERS });
        const url = new URL(request.url);
        const path = url.pathname.replace(/\/+$/, '') || '/';
        const facts: RequestFacts = { ip: info.remoteAddr, userAgent: request.headers.get('user-agent'), referer: request.headers.get('referer'), url };
        try {
            let pathMatched = false;
            for (const [method, pattern, route] of ROUTES) {
                const match = pattern.exec(path);
                if (!match) continue;
                pathMatched = true;
                if (method !== request.method) continue;
                return withCors(await route(ctx, request, facts, ...match.slice(1).map(decodeURIComponent)));
            }
            if (pathMatched) throw new AuthError(405, 'method_not_allowed', 'Method Not Allowed');
            throw new AuthError(404, 'not_found', 'Not Found');
        } catch (error) {
            if (error instanceof AuthError) return withCors(errorResponse(error, apiVersion));
            // Two sign-ups racing for one address: the unique index decides, answered as GoTrue words a duplicate.
            if ((error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === 'users_email_partial_key') {
                return withCors(errorResponse(new AuthError(422, 'user_already_exists', 'User already registered'), apiVersion));
            }
            // GoTrue answers a database outage with its generic 500; the outage is logged once, not per request.
            if (isConnectionError(error)) database.fail(error);
            else log.error('auth request failed', { path, request_id: request.headers.get('x-request-id') ?? undefined, error });
            return withCors(errorResponse(new AuthError(500, 'unexpected_failure', 'Internal Server Error'), apiVersion));
        }
    };

    return {
        handler,
        pool,
        async health() {
            await pool.query('select 1');
            database.succeed();
        },
        close: () => pool.end(),
    };
}

function withCors(response: Response): Response {
    for (const [k, v] of Object.entries(CORS_HEADERS)) if (!response.headers.has(k)) response.headers.set(k, v);
    return response;
}
