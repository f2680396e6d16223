// Runs the real Supabase CLI (from the `supabase` npm package) for the commands that
// work without Docker against a database URL: db push, gen types, db advisors.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const cliEntry = createRequire(import.meta.url).resolve('supabase/dist/supabase.js');

export class SupabaseCliError extends Error {}

export interface CliResult {
    stdout: string;
    stderr: string;
}

/** The CLI's URL form of a local database: TLS off, or it prints a TLS warning on stdout. */
export function cliDatabaseUrl(url: string): string {
    return url.includes('sslmode=') ? url : `${url}${url.includes('?') ? '&' : '?'}sslmode=disable`;
}

export function runSupabaseCli(
    args: string[],
    options: { workdir: string; onStderr?: (chunk: string) => void },
): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [cliEntry, ...args, '--workdir', options.workdir], {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => {
            const text = chunk.toString('utf8');
            stderr += text;
            options.onStderr?.(text);
        });
        child.once('error', reject);
        child.once('close', (code) => {
            if (code === 0) resolve({ stdout, stderr });
            else
                reject(
                    new SupabaseCliError(
                        `supabase ${args.filter((a) => !a.startsWith('--remote=')).join(' ')} failed (exit ${code})` +
                            // Streamed output was already shown; otherwise show it now.
                            (options.onStderr ? '' : `:\n${(stderr || stdout).trim()}`),
                    ),
                );
        });
    });
}
