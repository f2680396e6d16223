// The metrics endpoint in-process: HTTP Basic auth with user service_role and the secret
// key or the service_role JWT; everything else 401. The body is valid exposition format
// with the stack's families, and route labels cannot be blown up by clients.
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { apiKeysFor } from '../../../stack/gateway/keys.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { createMetricsEndpoint, METRICS_PATH } from '../../../stack/metrics/endpoint.js';
import { createStackMetrics } from '../../../stack/metrics/stack-metrics.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import type { ComponentReport } from '../../../stack/supervisor/supervisor.js';
import { parseExposition, sampleValue } from '../../harness/prometheus.js';

const jwt = { secret: LOCAL_JWT_SECRET, signingKeys: [] };
const report = (state: ComponentReport['state'], restarts = 0): ComponentReport => ({ state, restarts, last_error: null, pids: [], since: new Date(0).toISOString() });

async function endpoint(extra?: () => Promise<string>) {
    const keys = await apiKeysFor(jwt);
    const metrics = createStackMetrics({
        components: () => ({ database: report('running', 2), rest: report('unhealthy') }),
        pools: () => ({ rest: { totalCount: 3, idleCount: 1, waitingCount: 0 } }),
    });
    return { metrics, handler: createMetricsEndpoint({ metrics, keys, jwt, extra }) };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const scrape = (handler: Awaited<ReturnType<typeof endpoint>>['handler'], authorization?: string) =>
    handler(new Request(`http://127.0.0.1${METRICS_PATH}`, { headers: authorization ? { authorization } : {} }), { remoteAddr: '127.0.0.1' });

describe('metrics endpoint', () => {
    it('answers 401 without credentials or with wrong ones', async () => {
        const { handler } = await endpoint();
        const forged = await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('another-secret-that-is-at-least-32-chars'));
        const refused = [
            undefined,
            basic('service_role', 'wrong'),
            basic('postgres', LOCAL_SECRET_KEY),
            basic('service_role', LOCAL_PUBLISHABLE_KEY),
            basic('service_role', LOCAL_ANON_KEY),
            basic('service_role', forged),
            `Bearer ${LOCAL_SERVICE_ROLE_KEY}`,
            'Basic !!!',
        ];
        for (const authorization of refused) {
            const response = await scrape(handler, authorization);
            expect(response.status, authorization).toBe(401);
            expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
            expect(await response.text()).not.toContain('stack_');
        }
    });

    it('serves valid exposition format with the secret key or the service_role JWT as password', async () => {
        const { handler, metrics } = await endpoint(async () => '# HELP db_probe_value Column value\n# TYPE db_probe_value gauge\ndb_probe_value{topic="a"} 3\n');
        metrics.observeRequest({ prefix: '/rest/v1', path: '/rest/v1/products', method: 'GET', status: 200, seconds: 0.012 });
        metrics.functionInvocations.inc({ function: 'hello', status: '200' });
        for (const password of [LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY]) {
            const response = await scrape(handler, basic('service_role', password));
            expect(response.status).toBe(200);
            expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
            const families = parseExposition(await response.text());
            expect(families.get('stack_http_request_duration_seconds')?.type).toBe('histogram');
            expect(sampleValue(families, 'stack_http_requests_total', { service: 'rest', route: '/products', status: '200' })).toBe(1);
            expect(sampleValue(families, 'stack_postgres_up')).toBe(1);
            expect(sampleValue(families, 'stack_postgres_restarts_total')).toBe(2);
            expect(sampleValue(families, 'stack_component_up', { component: 'rest' })).toBe(0);
            expect(sampleValue(families, 'stack_db_pool_connections', { pool: 'rest', state: 'total' })).toBe(3);
            expect(sampleValue(families, 'db_probe_value', { topic: 'a' })).toBe(3);
        }
    });

    it('labels routes by their first segment and caps distinct routes per service', async () => {
        const { metrics } = await endpoint();
        for (let i = 0; i < 150; i++) metrics.observeRequest({ prefix: '/rest/v1', path: `/rest/v1/table_${i}`, method: 'GET', status: 200, seconds: 0.001 });
        metrics.observeRequest({ prefix: '/rest/v1', path: '/rest/v1/rpc/place_order', method: 'POST', status: 200, seconds: 0.001 });
        metrics.observeRequest({ prefix: '/auth/v1', path: '/auth/v1/admin/users/0d8c9f', method: 'GET', status: 200, seconds: 0.001 });
        metrics.observeRequest({ prefix: '/rest/v1', path: '/rest/v1/nope', method: 'GET', status: 404, seconds: 0.001 });
        const families = parseExposition(await metrics.registry.metrics());
        const routes = new Set(families.get('stack_http_requests_total')!.samples.filter((s) => s.labels.service === 'rest').map((s) => s.labels.route));
        expect(routes.size).toBe(102); // 100 routes, (other), (unmatched)
        expect(routes.has('(other)')).toBe(true);
        expect(sampleValue(families, 'stack_http_requests_total', { service: 'rest', route: '(other)', method: 'GET' })).toBe(50);
        // rpc/<name> is one route, but it came after the cap
        expect(sampleValue(families, 'stack_http_requests_total', { service: 'rest', route: '(other)', method: 'POST' })).toBe(1);
        expect(sampleValue(families, 'stack_http_requests_total', { service: 'auth', route: '/admin/users' })).toBe(1);
        expect(sampleValue(families, 'stack_http_requests_total', { service: 'rest', route: '(unmatched)', status: '404' })).toBe(1);
    });
});

describe('the Grafana dashboard (docs/grafana/tillbase-stack.json)', () => {
    it('graphs only stack metrics that the stack exports', async () => {
        const dashboard = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'grafana', 'tillbase-stack.json'), 'utf8');
        const expressions = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
        const used = new Set(expressions.flatMap((e) => [...e.matchAll(/\b(stack_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
        const { metrics } = await endpoint();
        const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
        expect(used.size).toBeGreaterThan(10);
        expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    });
});
