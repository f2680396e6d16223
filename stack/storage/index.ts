// Supabase-Storage-compatible /storage/v1: a fetch handler over a pool of `authenticator`
// connections (every operation runs as the caller's role with the caller's claims, so RLS
// on storage.objects / storage.buckets decides) and a directory of object files.
//
// Starting it sweeps that directory against the database first (temp files and files no
// row points at — what a crash between writing a file and committing its row leaves), then
// applies [storage.buckets.*] from config.toml. Nothing here knows about any application.
import path from 'node:path';
import type { ProjectConfig } from '../config.js';
import { createPgPool } from '../db/connect.js';
import { createLogger } from '../log.js';
import type { FetchHandler } from '../http.js';
import type { JwtKeys } from '../jwt.js';
import { createBlobStore, type BlobStore } from './blobs.js';
import type { LogEntry, StorageContext } from './context.js';
import { createDatabase } from './database.js';
import { createHandler } from './handler.js';
import { createAuthenticator } from './identity.js';
import { referencedVersions } from './rows.js';
import { seedBuckets, type SeedResult } from './seed.js';
import { storageSettings, type StorageSettings } from './settings.js';
import { createUrlSigner, type Clock } from './signing.js';
import { createResumableUploads } from './tus.js';

export interface StorageServiceOptions {
    /** Superuser URL of the project database; the pool connects as `authenticator` on it. */
    dbUrl: string;
    config: ProjectConfig;
    jwt: JwtKeys;
    /** Where object files live (the stack uses <workdir>/.local/storage). */
    dataDir: string;
    clock?: Clock;
    log?: (entry: LogEntry) => void;
    poolSize?: number;
    /** Apply [storage.buckets.*] at start (default true). */
    seed?: boolean;
    /** Overrides of the [storage] settings (tests). */
    settings?: Partial<StorageSettings>;
    /** The file store over dataDir (default createBlobStore; tests wrap it to inject crashes). */
    blobStore?: (root: string) => BlobStore;
}

export interface StorageService {
    handler: FetchHandler;
    settings: StorageSettings;
    /** What the startup sweep removed and the seeding did. */
    startup: { temp: number; orphans: number; resumable: number; seeded: SeedResult | undefined };
    close(): Promise<void>;
}

function authenticatorUrl(dbUrl: string): string {
    const url = new URL(dbUrl);
    url.username = 'authenticator';
    url.password = 'postgres';
    return url.toString();
}

export async function createStorageService(options: StorageServiceOptions): Promise<StorageService> {
    const settings = { ...storageSettings(options.config), ...options.settings };
    const log = options.log ?? createLogger('storage').write;
    const clock = options.clock ?? (() => new Date());
    const pool = createPgPool({ connectionString: authenticatorUrl(options.dbUrl), max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 }, (error) =>
        log({ level: 'warn', msg: 'storage: idle database connection failed', error: error.message }),
    );
    try {
        const db = createDatabase(pool);
        const blobs = (options.blobStore ?? createBlobStore)(path.resolve(options.dataDir));
        const ctx: StorageContext = { db, blobs, signer: createUrlSigner(options.jwt.secret, clock), settings, clock, log };
        const { required, optional } = createAuthenticator(options.jwt);
        const resumable = createResumableUploads(ctx, required);

        const context = { method: 'INIT', path: '/', headers: {}, operation: 'storage.sweep' };
        const keep = await db.superuser(context, (q) => referencedVersions(q));
        const swept = await blobs.sweep(keep);
        const resumableSwept = await resumable.sweep();
        if (swept.temp || swept.orphans || resumableSwept) log({ level: 'info', msg: 'storage: startup sweep', temp_files: swept.temp, orphan_files: swept.orphans, resumable: resumableSwept });
        const seeded = options.seed === false ? undefined : await seedBuckets(ctx, settings.buckets);

        return {
            handler: createHandler({ ctx, authenticate: required, authenticateOptional: optional, resumable: resumable.handler }),
            settings,
            startup: { temp: swept.temp, orphans: swept.orphans, resumable: resumableSwept, seeded },
            close: () => pool.end(),
        };
    } catch (error) {
        await pool.end().catch(() => {});
        throw error;
    }
}
