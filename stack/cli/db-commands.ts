// Database commands of the CLI: reset, lint (advisors) and type generation.
import fs from 'node:fs';
import path from 'node:path';
import { blocking, runAdvisors } from '../db/advisors.js';
import { resetDatabase } from '../db/reset.js';
import { generateTypes, TYPES_FILE } from '../db/types.js';
import { openProject, recordSchema, type LocalProject } from './project.js';
import { createPgClient } from '../db/connect.js';

const say = (message: string) => console.error(`• ${message}`);

/** Runs `fn` with the project database up: the running one, or one started for the duration. */
async function withDatabase<T>(project: LocalProject, fn: () => Promise<T>): Promise<T> {
    if (project.cluster.runningPid()) return fn();
    say(`starting PostgreSQL on port ${project.cluster.port}`);
    await project.cluster.start();
    try {
        return await fn();
    } finally {
        await project.cluster.stop();
    }
}

/** Recreates the project database. Leaves PostgreSQL running (detached) so it can be used right after. */
export async function dbReset(workdir: string): Promise<number> {
    const project = openProject(workdir);
    if (!project.cluster.runningPid()) {
        say(`starting PostgreSQL on port ${project.cluster.port} (left running; \`npm run stop\` stops it)`);
        await project.cluster.start({ detached: true });
    }
    await resetDatabase({ url: project.dbUrl, workdir: project.workdir, log: say });
    recordSchema(project);
    say(`done: ${project.dbUrl}`);
    return 0;
}

/** Both advisors on the migrated database; exit 1 on any finding at WARN or above. */
export async function dbLint(workdir: string): Promise<number> {
    const project = openProject(workdir);
    return withDatabase(project, async () => {
        let failed = 0;
        for (const type of ['security', 'performance'] as const) {
            const findings = await runAdvisors(project.dbUrl, project.workdir, type);
            for (const f of findings) console.log(`${f.level.padEnd(5)} ${type} ${f.name}: ${f.detail ?? f.title ?? ''}`);
            failed += blocking(findings).length;
            say(`${type}: ${findings.length} finding(s), ${blocking(findings).length} at WARN or above`);
        }
        return failed > 0 ? 1 : 0;
    });
}

/**
 * Writes sdk/database.types.ts from a scratch database built from the migrations alone,
 * so the file never reflects local hand edits of the development database.
 */
export async function genTypes(workdir: string): Promise<number> {
    const project = openProject(workdir);
    return withDatabase(project, async () => {
        const scratch = new URL(project.dbUrl);
        scratch.pathname = '/tillbase_types';
        say('building a scratch database from the migrations');
        await resetDatabase({ url: scratch.toString(), workdir: project.workdir, seed: false });
        try {
            say('running supabase gen types');
            const types = await generateTypes(scratch.toString(), project.workdir);
            const file = path.join(project.workdir, TYPES_FILE);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, types);
            say(`wrote ${TYPES_FILE}`);
        } finally {
            const admin = createPgClient(project.dbUrl);
            await admin.connect();
            await admin.query('drop database if exists tillbase_types with (force)');
            await admin.end();
        }
        return 0;
    });
}
