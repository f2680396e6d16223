// Code that misuses the SDK must not compile: test/sdk/fixtures/should-fail.ts is compiled
// on its own and must fail with exactly the errors it marks (a wrong column, a wrong enum
// value, a missing or conflicting input). The types that must hold are in types.test-d.ts.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../stack/paths.js';

const run = promisify(execFile);
const FIXTURES = path.join(PROJECT_ROOT, 'test/sdk/fixtures');

describe('code that misuses the SDK does not compile', () => {
    it('fails on exactly the lines the should-fail fixture marks, with the marked error codes', async () => {
        const fixture = path.join(FIXTURES, 'should-fail.ts');
        const expected = fs
            .readFileSync(fixture, 'utf8')
            .split('\n')
            .flatMap((line, index) => {
                const marker = /\/\/ error (TS\d+)$/.exec(line);
                return marker ? [`${index + 1} ${marker[1]}`] : [];
            });
        expect(expected.length).toBeGreaterThanOrEqual(18);
        const tsc = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
        const outcome = await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', path.join(FIXTURES, 'tsconfig.json')], { cwd: PROJECT_ROOT }).then(
            () => ({ code: 0, stdout: '' }),
            (error: { code: number; stdout: string }) => error,
        );
        expect(outcome.code).not.toBe(0);
        const actual = outcome.stdout
            .split('\n')
            .flatMap((line) => {
                const match = /should-fail\.ts\((\d+),\d+\): error (TS\d+)/.exec(line);
                return match ? [`${match[1]} ${match[2]}`] : [];
            });
        // Any error elsewhere (another file, an unmarked line) would show up here too.
        expect(outcome.stdout.split('\n').filter((line) => /error TS\d+/.test(line) && !line.includes('should-fail.ts'))).toEqual([]);
        expect(actual.sort()).toEqual(expected.sort());
    }, 120_000);
});
