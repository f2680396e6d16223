// A Supabase project directory as the local stack sees it: its config, where its local
// data lives (<workdir>/.local), and whether its database is up to date with its SQL.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Cluster } from '../db/cluster.js';
import { platformFiles } from '../db/platform.js';
import { resetDatabase } from '../db/reset.js';
import { restoreTemplate, saveTemplate, templateKey } from '../db/template-cache.js';
import { loadProjectConfig, type ProjectConfig } from '../config.js';

export interface LocalProject {
    config: ProjectConfig;
    workdir: string;
    localDir: string;
    cluster: Cluster;
    /** Superuser URL of the project database (`postgres`). */
    dbUrl: string;
}

export function openProject(workdir: string, log?: (line: string) => void): LocalProject {
    const config = loadProjectConfig(workdir);
    const localDir = path.join(config.workdir, '.local');
    const cluster = new Cluster({ dataDir: path.join(localDir, 'db'), port: config.db.port, log });
    return { config, workdir: config.workdir, localDir, cluster, dbUrl: cluster.url() };
}

/** Hash of everything a reset applies: the platform SQL, the migrations and the seed. */
export function schemaFingerprint(workdir: string): string {
    const hash = createHash('sha256');
    const migrations = path.join(workdir, 'supabase', 'migrations');
    const files = [
        ...platformFiles(),
        ...(fs.existsSync(migrations) ? fs.readdirSync(migrations).sort().map((f) => path.join(migrations, f)) : []),
        path.join(workdir, 'supabase', 'seed.sql'),
    ];
    for (const file of files) {
        if (!fs.existsSync(file)) continue;
        hash.update(path.basename(file)).update('\0').update(fs.readFileSync(file)).update('\0');
    }
    return hash.digest('hex');
}

const fingerprintFile = (project: LocalProject) => path.join(project.localDir, 'schema.sha256');

export function isSchemaCurrent(project: LocalProject): boolean {
    try {
        return fs.readFileSync(fingerprintFile(project), 'utf8') === schemaFingerprint(project.workdir);
    } catch {
        return false;
    }
}

export function recordSchema(project: LocalProject, schema = schemaFingerprint(project.workdir)): void {
    fs.mkdirSync(project.localDir, { recursive: true });
    fs.writeFileSync(fingerprintFile(project), schema);
}

/**
 * Makes the missing data directory of a project, migrated and seeded: a copy of the
 * template saved by an earlier start with the same schema (stack/db/template-cache.ts), or
 * else built — initdb, platform, migrations, seed on a cluster started for that alone — and
 * saved as that template. The cluster is stopped afterwards either way.
 */
export async function createMigratedDataDirectory(project: LocalProject, log: (message: string) => void): Promise<void> {
    const schema = schemaFingerprint(project.workdir);
    const key = templateKey(schema);
    if (restoreTemplate(key, project.cluster.dataDirectory)) {
        log('new data directory: copied from the migrated template of these migrations and seed');
        recordSchema(project, schema);
        return;
    }
    log('new data directory: initialising PostgreSQL, then applying the platform, migrations and seed');
    await project.cluster.start();
    try {
        await resetDatabase({ url: project.dbUrl, workdir: project.workdir, log, fresh: true });
    } finally {
        await project.cluster.stop();
    }
    saveTemplate(key, project.cluster.dataDirectory);
    recordSchema(project, schema);
}
