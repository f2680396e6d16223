// GET /customer/v1/privileged/metrics on the API port, as hosted Supabase serves its
// Prometheus endpoint: HTTP Basic auth with user `service_role` and the project's secret
// key (or the service_role JWT) as password; anything else is 401. The body is the
// stack's registry followed by the gauges of the `metrics` SQL views.
import { timingSafeEqual } from 'node:crypto';
import type { FetchHandler } from '../http.js';
import { createJwtVerifier, type JwtKeys } from '../jwt.js';
import type { ApiKeys } from '../gateway/keys.js';
import type { StackMetrics } from './stack-metrics.js';

export const METRICS_PATH = '/customer/v1/privileged/metrics';
export const METRICS_USER = 'service_role';

export interface MetricsEndpointOptions {
    metrics: StackMetrics;
    keys: ApiKeys;
    jwt: JwtKeys;
    /** Prometheus text appended after the stack's own metrics (the SQL views); may fail. */
    extra?: () => Promise<string>;
}

const unauthorized = () =>
    new Response(JSON.stringify({ message: 'Unauthorized' }), {
        status: 401,
        headers: { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="metrics", charset="UTF-8"' },
    });

function sameSecret(given: string, expected: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

export function createMetricsEndpoint(options: MetricsEndpointOptions): FetchHandler {
    const verify = createJwtVerifier(options.jwt);

    /** Whether the password is the secret key, or a JWT of the project for the service_role. */
    const isServiceRole = async (password: string): Promise<boolean> => {
        if (sameSecret(password, options.keys.secret)) return true;
        if (password.startsWith('sb_')) return false;
        try {
            const claims = (await verify(password)) as { role?: unknown };
            return claims.role === 'service_role';
        } catch {
            return false;
        }
    };

    return async (request) => {
        if (request.method !== 'GET' && request.method !== 'HEAD') {
            return new Response(JSON.stringify({ message: 'Method Not Allowed' }), { status: 405, headers: { 'content-type': 'application/json', allow: 'GET, HEAD' } });
        }
        const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        if (!basic) return unauthorized();
        const decoded = Buffer.from(basic, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0 || decoded.slice(0, colon) !== METRICS_USER || !(await isServiceRole(decoded.slice(colon + 1)))) return unauthorized();

        const own = await options.metrics.registry.metrics();
        const extra = options.extra ? await options.extra() : '';
        const body = extra ? `${own.trimEnd()}\n${extra}` : own;
        return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'content-type': options.metrics.registry.contentType } });
    };
}
