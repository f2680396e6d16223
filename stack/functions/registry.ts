// Which edge functions a project has and how each one runs: from supabase/config.toml
// `[functions.<name>]` (entrypoint, import_map, verify_jwt, enabled) plus, as the Supabase
// CLI does, every `supabase/functions/<name>/index.ts` not declared there. Also the
// environment every function gets (platform variables + the functions env file).
//
// A function whose own configuration is broken (missing entrypoint or import map, a
// wrong type) is still listed, with its `problem`: the service answers it 503
// BOOT_ERROR with that reason and serves every other function.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type ProjectConfig } from '../config.js';

export interface FunctionSpec {
    name: string;
    /** Absolute path of the module Deno loads. */
    entrypoint: string;
    /** deno.json (passed as --config) or import map (--import-map), absolute; undefined = none. */
    denoConfig?: { kind: 'config' | 'import-map'; file: string };
    verifyJwt: boolean;
    /** Directories whose content, when changed, reloads the function. */
    watch: string[];
    /** Why this function cannot run (its config is broken); undefined when it can. */
    problem?: string;
}

const NAME = /^[A-Za-z0-9_-]+$/;

export function resolveFunctions(config: ProjectConfig): Map<string, FunctionSpec> {
    const supabaseDir = path.join(config.workdir, 'supabase');
    const specs = new Map<string, FunctionSpec>();
    const defaultDir = path.join(supabaseDir, 'functions');
    if (fs.existsSync(defaultDir)) {
        for (const entry of fs.readdirSync(defaultDir, { withFileTypes: true })) {
            if (!entry.isDirectory() || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
            const entrypoint = path.join(defaultDir, entry.name, 'index.ts');
            if (fs.existsSync(entrypoint)) specs.set(entry.name, spec(config, entry.name, {}));
        }
    }
    for (const [name, table] of Object.entries(config.functions)) {
        if (table.enabled === false) {
            specs.delete(name);
            continue;
        }
        specs.set(name, isolatedSpec(config, name, table));
    }
    return specs;
}

/** The function's spec, or a broken one carrying the reason: one bad entry never hides the others. */
function isolatedSpec(config: ProjectConfig, name: string, table: Record<string, unknown>): FunctionSpec {
    try {
        if (!NAME.test(name)) throw new ConfigError(`[functions.${name}]: a function name may only hold letters, digits, - and _`);
        return spec(config, name, table);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        const supabaseDir = path.join(config.workdir, 'supabase');
        const entrypoint = typeof table.entrypoint === 'string' ? path.resolve(supabaseDir, table.entrypoint) : path.join(supabaseDir, 'functions', name, 'index.ts');
        return { name, entrypoint, verifyJwt: table.verify_jwt !== false, watch: [path.dirname(entrypoint)], problem: error.message };
    }
}

function spec(config: ProjectConfig, name: string, table: Record<string, unknown>): FunctionSpec {
    const supabaseDir = path.join(config.workdir, 'supabase');
    const key = (k: string) => `[functions.${name}] ${k}`;
    for (const k of ['entrypoint', 'import_map'] as const) {
        if (table[k] !== undefined && typeof table[k] !== 'string') throw new ConfigError(`${key(k)} must be a path string`);
    }
    if (table.verify_jwt !== undefined && typeof table.verify_jwt !== 'boolean') throw new ConfigError(`${key('verify_jwt')} must be true or false`);
    const entrypoint = path.resolve(supabaseDir, (table.entrypoint as string | undefined) ?? path.join('functions', name, 'index.ts'));
    if (!fs.existsSync(entrypoint)) throw new ConfigError(`${key('entrypoint')}: ${entrypoint} does not exist`);
    let denoConfig: FunctionSpec['denoConfig'];
    if (typeof table.import_map === 'string') {
        const file = path.resolve(supabaseDir, table.import_map);
        if (!fs.existsSync(file)) throw new ConfigError(`${key('import_map')}: ${file} does not exist`);
        denoConfig = { kind: /deno\.jsonc?$/.test(file) ? 'config' : 'import-map', file };
    } else {
        const found = findDenoConfig(path.dirname(entrypoint));
        // The CLI's older convention: one import map for all functions.
        const shared = path.join(supabaseDir, 'functions', 'import_map.json');
        if (found) denoConfig = { kind: 'config', file: found };
        else if (fs.existsSync(shared)) denoConfig = { kind: 'import-map', file: shared };
    }
    // The function's folder and its siblings (shared code such as ../_shared lives there),
    // unless that would be the project directory itself or above it.
    const folder = path.dirname(entrypoint);
    const parent = path.dirname(folder);
    const holdsProject = !path.relative(parent, config.workdir).startsWith('..');
    const watch = [holdsProject ? folder : parent];
    if (denoConfig) watch.push(denoConfig.file);
    return { name, entrypoint, denoConfig, verifyJwt: table.verify_jwt !== false, watch };
}

/** The nearest deno.json(c) from the function's folder upwards, not beyond the package root (package.json). */
function findDenoConfig(from: string): string | undefined {
    let dir = from;
    for (;;) {
        for (const file of ['deno.json', 'deno.jsonc']) if (fs.existsSync(path.join(dir, file))) return path.join(dir, file);
        const parent = path.dirname(dir);
        if (parent === dir || fs.existsSync(path.join(dir, 'package.json'))) return undefined;
        dir = parent;
    }
}

/** Hash of names, sizes and mtimes of every file under `roots` (node_modules skipped). */
export function fingerprint(roots: string[]): string {
    const hash = createHash('sha1');
    const visit = (target: string, depth: number) => {
        let stat: fs.Stats;
        try {
            stat = fs.statSync(target);
        } catch {
            hash.update(`${target}:missing\0`);
            return;
        }
        if (stat.isDirectory()) {
            if (depth > 8) return;
            for (const entry of fs.readdirSync(target, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
                // Dependencies and hidden folders (.git, .local data) are not function code; .env files are.
                if (entry.isDirectory() && (entry.name === 'node_modules' || entry.name.startsWith('.'))) continue;
                visit(path.join(target, entry.name), depth + 1);
            }
        } else {
            hash.update(`${target}:${stat.size}:${stat.mtimeMs}\0`);
        }
    };
    for (const root of roots) visit(root, 0);
    return hash.digest('hex');
}

/** The functions env file: [edge_runtime] env_file (relative to supabase/), else supabase/functions/.env. */
export function envFilePath(config: ProjectConfig): string {
    const configured = config.edge_runtime.env_file;
    if (configured !== undefined && typeof configured !== 'string') throw new ConfigError('[edge_runtime] env_file must be a path string');
    return path.resolve(config.workdir, 'supabase', configured ?? path.join('functions', '.env'));
}

/** Parses a dotenv file (KEY=value, # comments, optional quotes, `export ` prefix). */
export function parseDotenv(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) continue;
        const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
        if (!match) continue;
        let value = match[2]!;
        const quote = value[0];
        if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
            value = value.slice(1, -1);
            if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
        } else {
            value = value.replace(/\s+#.*$/, '');
        }
        env[match[1]!] = value;
    }
    return env;
}

/**
 * User secrets: the env file plus [edge_runtime.secrets] (values may be `env(NAME)`).
 * Names starting with SUPABASE_ are reserved for the platform and skipped, with a warning,
 * as the Supabase CLI does.
 */
export function userSecrets(config: ProjectConfig, warn: (message: string) => void): Record<string, string> {
    const file = envFilePath(config);
    const secrets: Record<string, string> = fs.existsSync(file) ? parseDotenv(fs.readFileSync(file, 'utf8')) : {};
    const table = config.edge_runtime.secrets;
    if (table && typeof table === 'object') {
        for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
            if (typeof value !== 'string') continue;
            const ref = /^env\((\w+)\)$/.exec(value);
            const resolved = ref ? process.env[ref[1]!] : value;
            if (resolved !== undefined) secrets[key] = resolved;
        }
    }
    for (const key of Object.keys(secrets)) {
        if (key.startsWith('SUPABASE_')) {
            warn(`functions env: ${key} is reserved for the platform (names may not start with SUPABASE_); skipped`);
            delete secrets[key];
        }
    }
    return secrets;
}
