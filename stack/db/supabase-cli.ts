// Runs the real Supabase CLI (from the `supabase` npm package) for the commands that
// work without Docker against a database URL: db push, gen types, db advisors.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The CLI's binary from its platform package (`@supabase/cli-<os>-<arch>`), run directly: the
 * package's `supabase.js` is a Node wrapper that only spawns it, which would cost a Node start
 * per command. The wrapper is the fallback.
 */
function cliCommand(): { command: string; args: string[] } {
    const suffixes: Record<string, string[]> = {
        'linux-x64': ['linux-x64', 'linux-x64-musl'],
        'linux-arm64': ['linux-arm64', 'linux-arm64-musl'],
        'darwin-x64': ['darwin-x64'],
        'darwin-arm64': ['darwin-arm64'],
        'win32-x64': ['windows-x64'],
        'win32-arm64': ['windows-arm64'],
    };
    for (const suffix of suffixes[`${process.platform}-${process.arch}`] ?? []) {
        try {
            const binary = path.join(path.dirname(require.resolve(`@supabase/cli-${suffix}/package.json`)), 'bin', process.platform === 'win32' ? 'supabase.exe' : 'supabase');
            if (fs.existsSync(binary)) return { command: binary, args: [] };
        } catch {
            // not this platform package
        }
    }
    return { command: process.execPath, args: [require.resolve('supabase/dist/supabase.js')] };
}
const cli = cliCommand();

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
        const child = spawn(cli.command, [...cli.args, ...args, '--workdir', options.workdir], {
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
