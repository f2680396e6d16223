// GET /rest/v1/ (the OpenAPI root) follows privileges as PostgREST does by default: over the
// product's own schema, anon sees the catalogue but not staff or variant_costs, signed-in
// users see what they are granted, the service role sees its functions too.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../../stack/config.js';
import { jwtKeysFromConfig } from '../../../stack/jwt.js';
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { createRestService, type RestService } from '../../../stack/rest/index.js';
import { cloneTemplate, dropDatabase } from '../../harness/db.js';
import { signJwt } from './engine-harness.js';

const dbName = `rest_openapi_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let service: RestService | undefined;

beforeAll(async () => {
    const url = await cloneTemplate(dbName);
    const config = loadProjectConfig(PROJECT_ROOT);
    service = await createRestService({ dbUrl: url, config, jwt: jwtKeysFromConfig(config), poolSize: 2 });
});
afterAll(async () => {
    await service?.close();
    await dropDatabase(dbName);
});

async function paths(token: string): Promise<string[]> {
    const response = await service!.handler(new Request('http://rest.local/', { headers: { authorization: `Bearer ${token}` } }), { remoteAddr: '127.0.0.1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/openapi+json; charset=utf-8');
    const doc = (await response.json()) as { paths: Record<string, unknown>; definitions: Record<string, unknown> };
    // Every listed table has its definition, and nothing else is defined.
    const tables = Object.keys(doc.paths).filter((p) => p !== '/' && !p.startsWith('/rpc/'));
    expect(Object.keys(doc.definitions).sort()).toEqual(tables.map((p) => p.slice(1)).sort());
    return Object.keys(doc.paths);
}

describe('the OpenAPI root follows privileges', () => {
    it('anon: the public catalogue, not staff, variant_costs or service functions', async () => {
        const listed = await paths(LOCAL_ANON_KEY);
        expect(listed).toEqual(expect.arrayContaining(['/', '/products', '/product_variants', '/categories']));
        for (const hidden of ['/staff', '/variant_costs', '/rpc/place_order', '/rpc/apply_stripe_event', '/rpc/custom_access_token_hook']) {
            expect(listed).not.toContain(hidden);
        }
    });

    it('authenticated: the tables and functions it is granted (RLS still decides the rows)', async () => {
        const token = await signJwt({ role: 'authenticated', sub: randomUUID(), aud: 'authenticated' });
        const listed = await paths(token);
        expect(listed).toEqual(expect.arrayContaining(['/products', '/staff', '/variant_costs', '/rpc/place_order']));
        for (const hidden of ['/rpc/apply_stripe_event', '/rpc/custom_access_token_hook']) expect(listed).not.toContain(hidden);
    });

    it('service_role: the service functions too, never the auth hook', async () => {
        const listed = await paths(LOCAL_SERVICE_ROLE_KEY);
        expect(listed).toEqual(expect.arrayContaining(['/products', '/staff', '/variant_costs', '/rpc/apply_stripe_event']));
        expect(listed).not.toContain('/rpc/custom_access_token_hook');
    });

    it('HEAD answers the same status with no body', async () => {
        const response = await service!.handler(new Request('http://rest.local/', { method: 'HEAD', headers: { authorization: `Bearer ${LOCAL_ANON_KEY}` } }), {
            remoteAddr: '127.0.0.1',
        });
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('');
    });
});
