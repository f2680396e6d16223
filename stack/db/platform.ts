// Applies sql/platform/ (roles, schemas, grants, the auth schema of Supabase) to a
// database of a plain PostgreSQL cluster. Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { runSqlFile } from './script.js';
import { createPgClient } from './connect.js';

export const PLATFORM_SQL_DIR = path.join(PROJECT_ROOT, 'sql', 'platform');

export function platformFiles(): string[] {
    return fs
        .readdirSync(PLATFORM_SQL_DIR)
        .filter((name) => name.endsWith('.sql'))
        .sort()
        .map((name) => path.join(PLATFORM_SQL_DIR, name));
}

/**
 * Runs `fn` holding the cluster-wide lock under which roles change. Role attributes and
 * role settings are shared catalog rows, so two databases altering the same role at once
 * fail with "tuple concurrently updated". Advisory locks are per database: it is taken in
 * the cluster's `postgres` database.
 */
export async function withRoleLock<T>(url: string, fn: () => Promise<T>): Promise<T> {
    const lockUrl = new URL(url);
    lockUrl.pathname = '/postgres';
    const lock = createPgClient(lockUrl.toString());
    await lock.connect();
    try {
        await lock.query('select pg_advisory_lock(7265)');
        return await fn();
    } finally {
        await lock.end();
    }
}

/** Applies the platform to the database at `url` (a superuser connection). */
export async function applyPlatform(url: string): Promise<void> {
    await withRoleLock(url, async () => {
        const client = createPgClient(url);
        await client.connect();
        try {
            for (const file of platformFiles()) await runSqlFile(client, file);
        } finally {
            await client.end();
        }
    });
}
