// The Supabase project's settings, read from <workdir>/supabase/config.toml with a real
// TOML parser and validated: a bad value fails at start naming the key. What Supabase CLI
// 3.x accepts is accepted here too: project_id defaults to the directory's name, and the
// deprecated keys the CLI still reads are read the same way, with the CLI's warning.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** The sections every component reads; each component validates its own section further. */
const ProjectConfigSchema = z
    .object({
        /** Defaults to the project directory's name, as the CLI does. */
        project_id: z.string().min(1).optional(),
        api: z
            .object({
                enabled: z.boolean().default(true),
                port: port.default(54321),
                schemas: z.array(z.string()).default(['public', 'graphql_public']),
                extra_search_path: z.array(z.string()).default(['public', 'extensions']),
                max_rows: z.number().int().positive().default(1000),
            })
            .passthrough()
            .default({ enabled: true, port: 54321, schemas: ['public', 'graphql_public'], extra_search_path: ['public', 'extensions'], max_rows: 1000 }),
        db: z
            .object({ port: port.default(54322), major_version: z.number().int().default(17) })
            .passthrough()
            .default({ port: 54322, major_version: 17 }),
        local_smtp: z.object({ port: port.default(54324) }).passthrough().default({ port: 54324 }),
        // The CLI serves Realtime behind the API gateway: no port of its own.
        realtime: z.object({ enabled: z.boolean().default(true) }).passthrough().default({ enabled: true }),
        inbucket: z.object({ port: port.default(54324) }).passthrough().optional(),
        auth: z.record(z.string(), z.unknown()).default({}),
        functions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
        edge_runtime: z.record(z.string(), z.unknown()).default({}),
    })
    .passthrough();

export type ProjectConfig = z.infer<typeof ProjectConfigSchema> & {
    project_id: string;
    workdir: string;
    raw: Record<string, unknown>;
    /** Warnings the Supabase CLI prints for this file (deprecated keys), to print at start. */
    warnings: string[];
};

/**
 * Keys Supabase CLI 3.x still reads under their old name: `enable_signup` under
 * [auth.email] and [auth.sms] is the provider switch now called `enabled` (the new name
 * wins when both are set). The CLI warns once per key, in these words.
 */
const DEPRECATED_KEYS: Array<{ section: [string, string]; legacy: string; preferred: string }> = [
    { section: ['auth', 'email'], legacy: 'enable_signup', preferred: 'enabled' },
    { section: ['auth', 'sms'], legacy: 'enable_signup', preferred: 'enabled' },
];

const isTable = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Renames deprecated keys to their current name; returns the document and the CLI's warnings. */
export function normaliseDeprecatedKeys(document: Record<string, unknown>): { document: Record<string, unknown>; warnings: string[] } {
    const warnings: string[] = [];
    let result = document;
    for (const { section, legacy, preferred } of DEPRECATED_KEYS) {
        const [outer, inner] = section;
        const parent = result[outer];
        const table = isTable(parent) ? parent[inner] : undefined;
        if (!isTable(parent) || !isTable(table) || !(legacy in table)) continue;
        const path = `${outer}.${inner}.${legacy}`;
        warnings.push(`WARN: ${path} is deprecated and will be removed in v4, use ${outer}.${inner}.${preferred} instead.`);
        const { [legacy]: legacyValue, ...rest } = table;
        const renamed = { ...rest, [preferred]: preferred in table ? table[preferred] : legacyValue };
        result = { ...result, [outer]: { ...parent, [inner]: renamed } };
    }
    return { document: result, warnings };
}

export class ConfigError extends Error {}

export function configPath(workdir: string): string {
    return path.join(workdir, 'supabase', 'config.toml');
}

/** Reads and validates supabase/config.toml of a project directory. */
export function loadProjectConfig(workdir: string): ProjectConfig {
    const file = configPath(workdir);
    if (!fs.existsSync(file)) throw new ConfigError(`${file} not found: is ${workdir} a Supabase project (supabase init)?`);
    let raw: Record<string, unknown>;
    try {
        raw = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
        throw new ConfigError(`${file}: ${(error as Error).message}`);
    }
    const { document, warnings } = normaliseDeprecatedKeys(raw);
    const result = ProjectConfigSchema.safeParse(document);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new ConfigError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
    }
    const resolved = path.resolve(workdir);
    return { ...result.data, project_id: result.data.project_id ?? path.basename(resolved), workdir: resolved, raw, warnings };
}
