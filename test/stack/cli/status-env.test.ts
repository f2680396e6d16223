// `status -o env` is meant for `eval`: whatever the values hold, a POSIX shell that evals the
// lines ends up with exactly those values, and runs nothing else.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderEnv, type StackStatus } from '../../../stack/cli/status-file.js';

const NAMES = ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL', 'STORAGE_URL', 'STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET'] as const;

/** Evaluates `script` in sh (cwd: a scratch directory) and returns each variable's value. */
function evalInShell(script: string, cwd: string): Record<string, string> {
    const printed = spawnSync('sh', ['-c', `${script}\nfor n in ${NAMES.join(' ')}; do eval "printf '%s\\\\0' \\"\\$$n\\""; done`], { cwd, encoding: 'utf8' });
    expect(printed.status, printed.stderr).toBe(0);
    const values = printed.stdout.split('\0');
    return Object.fromEntries(NAMES.map((name, i) => [name, values[i]!]));
}

describe('status -o env', () => {
    it('quotes every value so that eval sets it exactly and executes nothing', () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-env-'));
        try {
            const hostile = {
                API_URL: 'http://127.0.0.1:54321',
                DB_URL: 'postgresql://postgres:pa$$word@127.0.0.1:54322/postgres',
                ANON_KEY: 'with "double" quotes',
                SERVICE_ROLE_KEY: "with 'single' quotes and a \\ backslash",
                PUBLISHABLE_KEY: 'sb_publishable_$(touch pwned)',
                SECRET_KEY: 'sb_secret_`touch pwned`',
                JWT_SECRET: 'secret with spaces; touch pwned > also-pwned',
                MAILPIT_URL: '$HOME ${PATH}',
                STORAGE_URL: 'http://127.0.0.1:54321/storage/v1',
                STRIPE_API_URL: "it's $(id)",
                STRIPE_WEBHOOK_SECRET: 'whsec_"`x`"',
            };
            const status: StackStatus = { pid: 1, ...hostile, components: {} };
            const rendered = renderEnv(status);
            expect(rendered.split('\n')).toHaveLength(NAMES.length);
            expect(evalInShell(`eval "$(cat <<'LINES'\n${rendered}\nLINES\n)"`, scratch)).toEqual(hostile);
            expect(fs.readdirSync(scratch)).toEqual([]);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it('prints KEY="value" lines as the Supabase CLI does', () => {
        const status = { pid: 1, API_URL: 'http://127.0.0.1:54321', DB_URL: 'd', ANON_KEY: 'a', SERVICE_ROLE_KEY: 's', PUBLISHABLE_KEY: 'p', SECRET_KEY: 'k', JWT_SECRET: 'j', MAILPIT_URL: 'm', STORAGE_URL: '', components: {} };
        expect(renderEnv(status).split('\n')[0]).toBe('API_URL="http://127.0.0.1:54321"');
    });
});
