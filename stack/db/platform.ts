// Applies sql/platform/ (roles, schemas, grants, the auth schema of Supabase) to a
// database of a plain PostgreSQL cluster. Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../paths.js';
import { runSqlFile } from './script.js';

export const PLATFORM_SQL_DIR = path.join(PROJECT_ROOT, 'sql', 'platform');

export function platformFiles(): string[] {
    return fs
        .readdirSync(PLATFORM_SQL_DIR)
        .filter((name) => name.endsWith('.sql'))
        .sort()
        .map((name) => path.join(PLATFORM_SQL_DIR, name));
}

/** Applies the platform to the database at `url` (a superuser connection). */
export async function applyPlatform(url: string): Promise<void> {
    // Roles are cluster-wide, so applying the platform to two databases at once races
    // ("tuple concurrently updated"). Advisory locks are per database: take it in `postgres`.
    const lockUrl = new URL(url);
    lockUrl.pathname = '/postgres';
    const lock = new pg.Client({ connectionString: lockUrl.toString() });
    const client = new pg.Client({ connectionString: url });
    await lock.connect();
    try {
        await lock.query('select pg_advisory_lock(7265)');
        await client.connect();
        for (const file of platformFiles()) await runSqlFile(client, file);
    } finally {
        await client.end().catch(() => {});
        await lock.end();
    }
}
