// SQL scripts (platform, seed) run statement by statement and a failure names the line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSqlFile, ScriptError, splitStatements } from '../../stack/db/script.js';
import { useTestDatabase } from '../harness/db.js';
import { createPgClient } from '../../stack/db/connect.js';

const db = useTestDatabase();

describe('splitStatements', () => {
    it('splits at top-level semicolons only, with each statement’s first line', () => {
        const script = [
            '-- ---------------------------------------------------------------',
            '-- banner; with a semicolon',
            '-- ---------------------------------------------------------------',
            "insert into t values ('a;b', \"x;y\", 'it''s;');",
            '/* block; comment */ create function f() returns int language sql as $$ select 1; $$;',
            'do $body$ begin perform 1; end $body$;',
            '-- trailing comment only',
        ].join('\n');
        expect(splitStatements(script)).toEqual([
            { sql: "insert into t values ('a;b', \"x;y\", 'it''s;')", line: 4 },
            { sql: 'create function f() returns int language sql as $$ select 1; $$', line: 5 },
            { sql: 'do $body$ begin perform 1; end $body$', line: 6 },
        ]);
    });
});

describe('runSqlFile', () => {
    it('names the file and line of the failing statement and applies nothing', async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'script-')), 'seed.sql');
        fs.writeFileSync(file, 'create table public.script_probe (id int);\n\n-- then\nselect 1 / 0;\n');
        const client = createPgClient(db.url);
        await client.connect();
        try {
            const error = await runSqlFile(client, file).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(ScriptError);
            expect((error as ScriptError).message).toBe(`${file}:4: division by zero`);
        } finally {
            await client.end();
        }
        expect(await db.query(`select to_regclass('public.script_probe') as t`)).toEqual([{ t: null }]);
    });
});
