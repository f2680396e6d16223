// The REST service over a fresh clone of the template plus the engine's own fixture schema,
// called in-process (fetch-style handler, no HTTP server).
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import { loadProjectConfig } from '../../../stack/config.js';
import { jwtKeysFromConfig } from '../../../stack/jwt.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET } from '../../../stack/keys.js';
import { createRestService, type RestService } from '../../../stack/rest/index.js';
import { cloneTemplate, dropDatabase } from '../../harness/db.js';
import { createPgClient } from '../../../stack/db/connect.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENGINE_FIXTURE_DIR = path.join(here, 'fixture');

export interface EngineContext {
    request(pathAndQuery: string, init?: RequestInit): Promise<Response>;
    /** SQL as the superuser on this file's database. */
    sql(text: string): Promise<void>;
    sign(claims: Record<string, unknown>): Promise<string>;
    readonly service: RestService;
    /** Name of this file's database (a clone of the template). */
    readonly database: string;
}

export function signJwt(claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(LOCAL_JWT_SECRET));
}

export function useEngine(options: { poolSize?: number } = {}): EngineContext {
    const dbName = `rest_engine_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    let service: RestService | undefined;
    let dbUrl = '';
    beforeAll(async () => {
        const url = await cloneTemplate(dbName);
        dbUrl = url;
        const client = createPgClient(url);
        await client.connect();
        try {
            await client.query(fs.readFileSync(path.join(ENGINE_FIXTURE_DIR, 'schema.sql'), 'utf8'));
        } finally {
            await client.end();
        }
        const config = loadProjectConfig(ENGINE_FIXTURE_DIR);
        service = await createRestService({ dbUrl: url, config, jwt: jwtKeysFromConfig(config), poolSize: options.poolSize ?? 10 });
    });
    afterAll(async () => {
        await service?.close();
        await dropDatabase(dbName);
    });
    const ready = () => {
        if (!service) throw new Error('the engine is used before beforeAll ran');
        return service;
    };
    return {
        get service() {
            return ready();
        },
        database: dbName,
        sign: signJwt,
        async sql(text) {
            const client = createPgClient(dbUrl);
            await client.connect();
            try {
                await client.query(text);
            } finally {
                await client.end();
            }
        },
        async request(pathAndQuery, init = {}) {
            const headers = new Headers(init.headers);
            if (!headers.has('authorization')) headers.set('authorization', `Bearer ${LOCAL_ANON_KEY}`);
            return ready().handler(new Request(`http://rest.local${pathAndQuery}`, { ...init, headers }), { remoteAddr: '127.0.0.1' });
        },
    };
}
