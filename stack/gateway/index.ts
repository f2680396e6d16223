// The API gateway on :54321, as Supabase's (Kong locally, the platform gateway hosted):
// routes /rest/v1, /auth/v1, /functions/v1, /storage/v1 (prefix stripped) to the services, turns API
// keys into the JWT the services expect, answers CORS, tags each request with an id and
// writes one JSON access-log line per request.
//
// Key handling (docs/platform.md): the key comes in the `apikey` header (or `?apikey=`): a
// legacy anon/service_role JWT signed by the project, or an opaque `sb_publishable_…` /
// `sb_secret_…` key. `Authorization: Bearer <jwt>` decides the role when present (the
// service verifies it); `Authorization: Bearer sb_…` is replaced by the JWT of the role
// the opaque key stands for; with no Authorization the key's JWT is sent. A key that is
// not the project's is refused here with 401, except on /functions/v1: there, as on Supabase
// (no key-auth on that route), a key the gateway does not know reaches the function
// unchanged, and JWT checks are the function's `verify_jwt` (or its own code's) job.
//
// Like Kong's key-auth plugin on Supabase's routes, a request without a key is refused with
// 401 {"message":"No API key found in request"} on /rest/v1, /auth/v1, /realtime/v1,
// /graphql/v1 and /pg, except the open Auth paths a browser reaches from a mail or an OAuth
// provider (/auth/v1/verify, /callback, /authorize, /.well-known/jwks.json). /functions/v1
// (functions check JWTs themselves) and /storage/v1 need no key. CORS preflights never do.
// On /rest/v1 the key is removed from the forwarded request (Kong's hide_credentials), so an
// `?apikey=` is never read as a filter.
import { randomUUID } from 'node:crypto';
import type { FetchHandler, UpgradeHandler } from '../http.js';
import { createJwtVerifier, type JwtKeys } from '../jwt.js';
import { createLogger, type Logger } from '../log.js';
import type { ApiKeys } from './keys.js';

export interface AccessLogEntry {
    level: 'info';
    msg: 'request';
    request_id: string;
    method: string;
    path: string;
    status: number;
    duration_ms: number;
    remote_addr: string;
    role: string;
    /** The route prefix that served the request ("/rest/v1"), or the own-auth path; absent when nothing matched. */
    prefix?: string;
}

export interface GatewayOptions {
    /** Path prefix (e.g. "/rest/v1") → service handler, which receives the path without the prefix. */
    routes: Record<string, FetchHandler>;
    keys: ApiKeys;
    jwt: JwtKeys;
    /** Prefixes whose CORS the services handle themselves (hosted functions answer their own preflights). */
    selfCorsPrefixes?: string[];
    /** Which paths need an API key (default: Supabase's, KONG_KEY_AUTH). */
    keyAuth?: KeyAuthRoutes;
    /** Prefixes where an unknown key is passed through instead of refused (default: KEY_PASSTHROUGH). */
    keyPassthrough?: string[];
    /**
     * Exact paths served as they come, without API-key handling or CORS: the handler
     * authenticates the caller itself (the Basic-auth metrics endpoint).
     */
    ownAuthRoutes?: Record<string, FetchHandler>;
    accessLog?: (entry: AccessLogEntry) => void;
    log?: Logger;
}

/** Headers supabase-js and PostgREST clients send; always allowed on preflight. */
export const CORS_ALLOW_HEADERS = [
    'authorization',
    'apikey',
    'x-client-info',
    'content-type',
    'x-supabase-api-version',
    'prefer',
    'range',
    'range-unit',
    'accept-profile',
    'content-profile',
    'x-upsert',
    'x-retry-count',
    'accept',
    'accept-encoding',
];

export const CORS_EXPOSE_HEADERS = [
    'Content-Range',
    'Content-Location',
    'Content-Profile',
    'Preference-Applied',
    'Range-Unit',
    'Location',
    'X-Total-Count',
    'X-Supabase-Api-Version',
    'sb-request-id',
    'x-request-id',
].join(', ');

const CORS_METHODS = 'GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export interface KeyAuthRoutes {
    /** Prefixes behind key-auth. */
    required: string[];
    /** Path prefixes inside them that stay open (Kong matches route paths by prefix). */
    open: string[];
}

/** Supabase's gateway (the CLI's and self-hosted Kong config): where key-auth applies. */
export const KONG_KEY_AUTH: KeyAuthRoutes = {
    required: ['/rest/v1', '/auth/v1', '/realtime/v1', '/graphql/v1', '/pg'],
    open: ['/auth/v1/verify', '/auth/v1/callback', '/auth/v1/authorize', '/auth/v1/.well-known/jwks.json'],
};

/**
 * Routes that neither need nor check a key (Supabase's gateway runs no key-auth there): a
 * key the gateway does not know — in `apikey` or as `Authorization: Bearer sb_…` — goes to
 * the service untouched. Known keys are still turned into their role's JWT.
 */
export const KEY_PASSTHROUGH = ['/functions/v1'];

/** Kong key-auth's answer to a request without a key: body, status and its WWW-Authenticate header. */
export const NO_API_KEY = { message: 'No API key found in request' };
const noApiKey = () =>
    new Response(JSON.stringify(NO_API_KEY), {
        status: 401,
        headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Key realm="kong"' },
    });

/** Prefixes whose upstream never sees the key (Kong's hide_credentials on the REST route). */
const HIDE_CREDENTIALS = ['/rest/v1'];

export const INVALID_API_KEY = { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' };
const NO_ROUTE = { message: 'no Route matched with those values' };
const BAD_UPSTREAM = { message: 'An invalid response was received from the upstream server' };

export function createGateway(options: GatewayOptions): FetchHandler {
    const verify = createJwtVerifier(options.jwt);
    const prefixes = Object.keys(options.routes).sort((a, b) => b.length - a.length);
    const selfCors = options.selfCorsPrefixes ?? ['/functions/v1'];
    const log = options.log ?? createLogger('gateway');
    const accessLog = options.accessLog ?? (({ level, msg, ...fields }: AccessLogEntry) => log.write({ level, msg, ...fields }));
    const ownAuth = options.ownAuthRoutes ?? {};
    const opaque: Record<string, string> = { [options.keys.publishable]: options.keys.anon, [options.keys.secret]: options.keys.serviceRole };
    const keyAuth = options.keyAuth ?? KONG_KEY_AUTH;
    const needsKey = (pathname: string, prefix: string) => keyAuth.required.includes(prefix) && !keyAuth.open.some((open) => pathname.startsWith(open));
    const passthrough = options.keyPassthrough ?? KEY_PASSTHROUGH;

    /** The JWT an API key stands for, or undefined when the key is not the project's. */
    const jwtForKey = async (key: string): Promise<string | undefined> => {
        if (key.startsWith('sb_')) return opaque[key];
        try {
            await verify(key);
            return key;
        } catch {
            return undefined;
        }
    };

    return async (request, info) => {
        const started = performance.now();
        const url = new URL(request.url);
        const requestId = request.headers.get('x-request-id') || randomUUID();
        let role = 'anon';
        let response: Response;
        const prefix = prefixes.find((p) => url.pathname === p || url.pathname.startsWith(`${p}/`));
        const corsByGateway = prefix !== undefined && !selfCors.includes(prefix);
        const own = ownAuth[url.pathname];
        try {
            if (own) {
                response = await own(request, info);
            } else if (!prefix) {
                response = json(404, NO_ROUTE);
            } else if (corsByGateway && request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
                response = preflight(request);
            } else {
                const headers = new Headers(request.headers);
                const apikey = headers.get('apikey') ?? url.searchParams.get('apikey');
                const keyJwt = apikey ? await jwtForKey(apikey) : undefined;
                const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
                const checksKeys = !passthrough.includes(prefix);
                if (!apikey && needsKey(url.pathname, prefix)) {
                    response = noApiKey();
                } else if (apikey && !keyJwt && checksKeys) {
                    response = json(401, INVALID_API_KEY);
                } else if (bearer?.startsWith('sb_') && !opaque[bearer] && checksKeys) {
                    response = json(401, INVALID_API_KEY);
                } else {
                    if (bearer?.startsWith('sb_') && opaque[bearer]) headers.set('authorization', `Bearer ${opaque[bearer]}`);
                    else if (!headers.has('authorization') && keyJwt) headers.set('authorization', `Bearer ${keyJwt}`);
                    role = roleOf(headers.get('authorization')) ?? 'anon';
                    headers.set('x-request-id', requestId);
                    if (!headers.has('x-forwarded-for')) headers.set('x-forwarded-for', info.remoteAddr);
                    headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
                    headers.set('x-forwarded-host', url.host);
                    headers.set('x-forwarded-prefix', prefix);
                    const target = new URL(url);
                    target.pathname = url.pathname.slice(prefix.length) || '/';
                    if (HIDE_CREDENTIALS.includes(prefix)) {
                        headers.delete('apikey');
                        if (target.searchParams.has('apikey')) target.searchParams.delete('apikey');
                    }
                    // The body passes through as a stream (uploads may be larger than memory should hold).
                    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body;
                    response = await options.routes[prefix]!(new Request(target, { method: request.method, headers, body, duplex: 'half' } as RequestInit), info);
                }
            }
        } catch (error) {
            log.error('upstream failed', { request_id: requestId, error });
            response = json(502, BAD_UPSTREAM);
        }
        const headers = new Headers(response.headers);
        headers.set('sb-request-id', requestId);
        headers.set('x-request-id', requestId);
        if (!own && (corsByGateway || !prefix)) {
            if (!headers.has('access-control-allow-origin')) headers.set('access-control-allow-origin', '*');
            if (!headers.has('access-control-expose-headers')) headers.set('access-control-expose-headers', CORS_EXPOSE_HEADERS);
        }
        accessLog({
            level: 'info',
            msg: 'request',
            request_id: requestId,
            method: request.method,
            path: url.pathname,
            status: response.status,
            duration_ms: Math.round((performance.now() - started) * 10) / 10,
            remote_addr: info.remoteAddr,
            role,
            ...(own ? { prefix: url.pathname } : prefix ? { prefix } : {}),
        });
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    };
}

export interface GatewayUpgradeOptions {
    /** Path prefix (e.g. "/realtime/v1") → upgrade handler, which receives the URL without the prefix. */
    routes: Record<string, UpgradeHandler>;
    keys: ApiKeys;
    jwt: JwtKeys;
    accessLog?: (entry: AccessLogEntry) => void;
    log?: Logger;
}

/**
 * WebSocket upgrades through the gateway: the API key comes in the `apikey` query
 * parameter (as supabase-js sends it) or header. A key that is not the project's is
 * refused with 401; an opaque `sb_…` key is replaced by the JWT it stands for, handed to
 * the service as `x-api-key` (the header Realtime reads before the query parameter).
 */
export function createGatewayUpgrade(options: GatewayUpgradeOptions): UpgradeHandler {
    const verify = createJwtVerifier(options.jwt);
    const prefixes = Object.keys(options.routes).sort((a, b) => b.length - a.length);
    const log = options.log ?? createLogger('gateway');
    const accessLog = options.accessLog ?? (({ level, msg, ...fields }: AccessLogEntry) => log.write({ level, msg, ...fields }));
    const opaque: Record<string, string> = { [options.keys.publishable]: options.keys.anon, [options.keys.secret]: options.keys.serviceRole };
    const refuse = (socket: import('node:stream').Duplex, status: number, body: unknown) => {
        const text = JSON.stringify(body);
        socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    };
    return (request, socket, head, info) => {
        socket.on('error', () => {});
        const url = new URL(request.url ?? '/', 'http://gateway');
        const requestId = randomUUID();
        const logRequest = (status: number, role: string) =>
            accessLog({ level: 'info', msg: 'request', request_id: requestId, method: 'GET', path: url.pathname, status, duration_ms: 0, remote_addr: info.remoteAddr, role, ...(prefix ? { prefix } : {}) });
        const prefix = prefixes.find((p) => url.pathname === p || url.pathname.startsWith(`${p}/`));
        if (!prefix) {
            logRequest(404, 'anon');
            return refuse(socket, 404, NO_ROUTE);
        }
        void (async () => {
            const header = request.headers.apikey;
            const apikey = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('apikey');
            let jwt: string | undefined;
            if (apikey) {
                if (apikey.startsWith('sb_')) jwt = opaque[apikey];
                else jwt = await verify(apikey).then(() => apikey, () => undefined);
                if (!jwt) {
                    logRequest(401, 'anon');
                    return refuse(socket, 401, INVALID_API_KEY);
                }
                request.headers['x-api-key'] = jwt;
            }
            const target = new URL(url);
            target.pathname = url.pathname.slice(prefix.length) || '/';
            request.url = `${target.pathname}${target.search}`;
            request.headers['x-request-id'] = requestId;
            logRequest(101, roleOf(jwt ? `Bearer ${jwt}` : null) ?? 'anon');
            options.routes[prefix]!(request, socket, head, info);
        })().catch(() => socket.destroy());
    };
}

/** Kong's cors plugin: 200, any origin, the usual methods, the requested headers plus the clients' ones. */
function preflight(request: Request): Response {
    const requested = (request.headers.get('access-control-request-headers') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
    const allowed = [...new Set([...CORS_ALLOW_HEADERS, ...requested])].join(', ');
    return new Response(null, {
        status: 200,
        headers: {
            'access-control-allow-origin': '*',
            'access-control-allow-methods': CORS_METHODS,
            'access-control-allow-headers': allowed,
            'access-control-max-age': '3600',
            'content-length': '0',
        },
    });
}

/** Role claim of a bearer JWT, unverified (logging only: the services verify). */
function roleOf(authorization: string | null): string | undefined {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const payload = token?.split('.')[1];
    if (!payload) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { role?: unknown };
        return typeof claims.role === 'string' ? claims.role : undefined;
    } catch {
        return 'invalid';
    }
}
