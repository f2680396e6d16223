// The /storage/v1 service for one test file: a database cloned from the migrated template
// (platform storage schema + the project's migrations), a temporary data directory, the
// service behind the real gateway on a free port, and supabase-js clients per role. The
// clock is injectable (signed URL expiry), the settings overridable (limits, transforms).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll } from 'vitest';
import { createGateway } from '../../stack/gateway/index.js';
import { apiKeysFor } from '../../stack/gateway/keys.js';
import { listen, type Listening } from '../../stack/http.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../../stack/keys.js';
import type { ProjectConfig } from '../../stack/config.js';
import { createStorageService, type StorageService } from '../../stack/storage/index.js';
import type { StorageSettings } from '../../stack/storage/settings.js';
import { testClient } from '../stack/gateway/supabase-client.js';
import { useTestDatabase, type TestDatabase } from './db.js';
import { accessTokenClaims, signJwt } from './rest.js';

export interface StorageTestContext {
    db: TestDatabase;
    /** Gateway base URL (clients append /storage/v1). */
    readonly url: string;
    readonly storageUrl: string;
    readonly dataDir: string;
    service(): StorageService;
    anon(): SupabaseClient;
    serviceRole(): SupabaseClient;
    /** A client with an access token for `userId` (+ extra claims such as user_role). */
    user(userId: string, extra?: Record<string, unknown>): Promise<SupabaseClient>;
    token(userId: string, extra?: Record<string, unknown>): Promise<string>;
    /** Moves the service's clock. */
    advanceClock(seconds: number): void;
    /** Stops and starts the service on the same database and data directory (startup sweep). */
    restart(): Promise<void>;
    /** Files under <data>/objects (versions on disk). */
    filesOnDisk(): string[];
}

export interface StorageTestOptions {
    settings?: Partial<StorageSettings>;
    config?: Record<string, unknown>;
}

export function useStorageService(options: StorageTestOptions = {}): StorageTestContext {
    const db = useTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-storage-'));
    let offset = 0;
    let service: StorageService | undefined;
    let server: Listening | undefined;
    const jwt = { secret: LOCAL_JWT_SECRET, signingKeys: [] };
    const config = { project_id: 'storage-test', workdir: dataDir, raw: { storage: options.config ?? {} }, auth: {} } as unknown as ProjectConfig;
    const routes: Record<string, (r: Request, i: { remoteAddr: string }) => Promise<Response>> = {};

    const startService = async () => {
        service = await createStorageService({
            dbUrl: db.url,
            config,
            jwt,
            dataDir,
            clock: () => new Date(Date.now() + offset * 1000),
            log: () => {},
            seed: false,
            settings: { imageTransformation: true, ...options.settings },
        });
        routes['/storage/v1'] = service.handler;
    };

    beforeAll(async () => {
        await startService();
        const keys = await apiKeysFor(jwt);
        server = await listen(createGateway({ routes: { '/storage/v1': (r, i) => routes['/storage/v1']!(r, i) }, keys, jwt, accessLog: () => {} }), {
            port: 0,
            streamBodies: (p) => p.startsWith('/storage/v1/'),
        });
    });

    afterAll(async () => {
        await server?.close();
        await service?.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const ready = () => {
        if (!server || !service) throw new Error('the storage service is used before beforeAll ran');
        return server;
    };
    const token = (userId: string, extra: Record<string, unknown> = {}) => signJwt(accessTokenClaims(userId, null, extra));

    return {
        db,
        get url() {
            return ready().url;
        },
        get storageUrl() {
            return `${ready().url}/storage/v1`;
        },
        dataDir,
        service: () => service!,
        anon: () => testClient(ready().url, LOCAL_ANON_KEY),
        serviceRole: () => testClient(ready().url, LOCAL_SERVICE_ROLE_KEY),
        async user(userId, extra) {
            return testClient(ready().url, LOCAL_ANON_KEY, await token(userId, extra));
        },
        token,
        advanceClock(seconds) {
            offset += seconds;
        },
        async restart() {
            await service?.close();
            await startService();
        },
        filesOnDisk() {
            const root = path.join(dataDir, 'objects');
            if (!fs.existsSync(root)) return [];
            return fs.readdirSync(root).flatMap((shard) => fs.readdirSync(path.join(root, shard)));
        },
    };
}
