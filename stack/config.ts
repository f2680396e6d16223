// The Supabase project's settings, read from <workdir>/supabase/config.toml with a real
// TOML parser and validated: a bad value fails at start naming the key.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** The sections every component reads; each component validates its own section further. */
const ProjectConfigSchema = z
    .object({
        project_id: z.string().min(1),
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

export type ProjectConfig = z.infer<typeof ProjectConfigSchema> & { workdir: string; raw: Record<string, unknown> };

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
    const result = ProjectConfigSchema.safeParse(raw);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new ConfigError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
    }
    return { ...result.data, workdir: path.resolve(workdir), raw };
}
