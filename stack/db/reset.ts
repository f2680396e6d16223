// Recreates a database the way `supabase db reset` does, without Docker: drop and
// create it, apply the platform, push supabase/migrations with the real CLI, seed.
import fs from 'node:fs';
import path from 'node:path';
import { applyPlatform } from './platform.js';
import { runSqlFile } from './script.js';
import { cliDatabaseUrl, runSupabaseCli } from './supabase-cli.js';
import { createPgClient } from './connect.js';

export interface ResetOptions {
    /** Superuser URL of the database to recreate. */
    url: string;
    /** The Supabase project directory (holding supabase/). */
    workdir: string;
    /** Load supabase/seed.sql after the migrations (default true). */
    seed?: boolean;
    /** The database was just created by initdb and is empty: nothing to drop. */
    fresh?: boolean;
    log?: (message: string) => void;
}

export async function resetDatabase(options: ResetOptions): Promise<void> {
    const log = options.log ?? (() => {});
    const target = new URL(options.url);
    const database = decodeURIComponent(target.pathname.slice(1));

    if (!options.fresh) {
        log(`recreating database ${database}`);
        await recreateDatabase(options.url, database);
    }

    log('applying the Supabase platform (roles, schemas, auth)');
    await applyPlatform(options.url);

    log('applying supabase/migrations with supabase db push');
    await runSupabaseCli(['db', 'push', `--remote=${cliDatabaseUrl(options.url)}`, '--yes', '--include-all'], {
        workdir: options.workdir,
        // The CLI names the failing migration and statement; stream it as it comes.
        onStderr: (text) => text.split('\n').filter((l) => l.trim()).forEach((l) => log(`  ${l}`)),
    });

    // Loaded here rather than with `db push --include-seed`, whose runtime errors name no line.
    const seedFile = path.join(options.workdir, 'supabase', 'seed.sql');
    const client = createPgClient(options.url);
    await client.connect();
    try {
        if (options.seed !== false && fs.existsSync(seedFile)) {
            log('loading supabase/seed.sql');
            await runSqlFile(client, seedFile);
        }
        // A running REST server reloads its schema cache (as PostgREST does on this notification).
        await client.query(`notify pgrst, 'reload schema'`);
    } finally {
        await client.end();
    }
}

/** Drops (terminating its sessions) and creates `database`, connected through a maintenance database. */
async function recreateDatabase(url: string, database: string): Promise<void> {
    const maintenance = new URL(url);
    maintenance.pathname = database === 'template1' ? '/postgres' : '/template1';
    const client = createPgClient(maintenance.toString());
    await client.connect();
    try {
        const name = client.escapeIdentifier(database);
        // A replication slot on the database (realtime's change stream) makes the drop fail:
        // end the session using it (waiting until it is gone) and drop the slot first. A
        // running stack's change stream reconnects at once and may take or recreate its
        // slot between these statements (55006 object in use): then try again.
        for (let attempt = 1; ; attempt++) {
            try {
                await client.query(`select pg_terminate_backend(active_pid, 5000) from pg_replication_slots where database = $1 and active_pid is not null`, [database]);
                await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1`, [database]);
                await client.query(`drop database if exists ${name} with (force)`);
                break;
            } catch (error) {
                if ((error as { code?: string }).code !== '55006' || attempt === 20) throw error;
                await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
            }
        }
        await client.query(`create database ${name}`);
    } finally {
        await client.end();
    }
}
