// Supabase's database linter (splinter) through `supabase db advisors`.
import { z } from 'zod';
import { cliDatabaseUrl, runSupabaseCli } from './supabase-cli.js';

const Finding = z
    .object({ name: z.string(), level: z.string(), title: z.string().optional(), detail: z.string().optional() })
    .passthrough();
export type AdvisorFinding = z.infer<typeof Finding>;

export type AdvisorType = 'security' | 'performance';

/** Every finding of the given advisor, at any level. */
export async function runAdvisors(url: string, workdir: string, type: AdvisorType): Promise<AdvisorFinding[]> {
    const { stdout } = await runSupabaseCli(
        ['db', 'advisors', `--remote=${cliDatabaseUrl(url)}`, '--type', type, '--level', 'info', '--output-format', 'json'],
        { workdir },
    );
    return z.object({ results: z.array(Finding).nullable() }).parse(JSON.parse(stdout)).results ?? [];
}

/** Findings at WARN or above: what blocks a change. */
export function blocking(findings: AdvisorFinding[]): AdvisorFinding[] {
    return findings.filter((f) => ['WARN', 'ERROR'].includes(f.level.toUpperCase()));
}
