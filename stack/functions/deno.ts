// The Deno binary from the `deno` npm package. The platform package (@deno/<os>-<arch>…)
// holds the real executable; `node_modules/.bin/deno` may be a Node wrapper (when install
// scripts did not run), which would cost a Node process per worker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

export class DenoMissingError extends Error {}

export function denoExecutable(): string {
    const exe = os.platform() === 'win32' ? 'deno.exe' : 'deno';
    const modules = path.join(PROJECT_ROOT, 'node_modules');
    const arch = `${os.platform()}-${os.arch()}`;
    const candidates = [
        path.join(modules, '@deno', `${arch}-glibc`, exe),
        path.join(modules, '@deno', `${arch}-musl`, exe),
        path.join(modules, '@deno', arch, exe),
        path.join(modules, 'deno', exe),
        path.join(modules, '.bin', exe),
    ];
    const found = candidates.find((file) => fs.existsSync(file));
    if (!found) throw new DenoMissingError('Deno is not installed: the `deno` npm package is missing (npm install)');
    return found;
}

/** Environment every Deno process gets: offline, quiet, its own cache directory. */
export function denoBaseEnv(denoDir: string): Record<string, string> {
    const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
    const env: Record<string, string> = {};
    for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key]!;
    return { ...env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };
}
