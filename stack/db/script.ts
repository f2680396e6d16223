// Runs a SQL file statement by statement in one transaction and, when one fails, names
// the file and the line where that statement starts (or where Postgres points inside it).
import fs from 'node:fs';
import pg from 'pg';

export class ScriptError extends Error {
    constructor(
        readonly file: string,
        readonly line: number,
        override readonly cause: Error,
    ) {
        super(`${file}:${line}: ${cause.message}`);
    }
}

export interface Statement {
    sql: string;
    /** 1-based line of the statement's first character in the file. */
    line: number;
}

/**
 * Splits a script at top-level semicolons, skipping those inside quotes, quoted
 * identifiers, dollar-quoted bodies and comments.
 */
export function splitStatements(script: string): Statement[] {
    const statements: Statement[] = [];
    let start = 0;
    let i = 0;
    const push = (end: number) => {
        const text = script.slice(start, end);
        const noise = leadingNoise(text);
        if (noise < text.length) {
            const first = start + noise;
            statements.push({ sql: script.slice(first, end).trim(), line: script.slice(0, first).split('\n').length });
        }
        start = end + 1;
    };
    while (i < script.length) {
        const c = script[i]!;
        if (c === '-' && script[i + 1] === '-') {
            const nl = script.indexOf('\n', i);
            i = nl < 0 ? script.length : nl + 1;
        } else if (c === '/' && script[i + 1] === '*') {
            const close = script.indexOf('*/', i + 2);
            i = close < 0 ? script.length : close + 2;
        } else if (c === "'" || c === '"') {
            let j = i + 1;
            while (j < script.length && !(script[j] === c && script[j + 1] !== c)) j += script[j] === c ? 2 : 1;
            i = j + 1;
        } else if (c === '$') {
            const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i))?.[0];
            if (tag) {
                const close = script.indexOf(tag, i + tag.length);
                i = close < 0 ? script.length : close + tag.length;
            } else i++;
        } else if (c === ';') {
            push(i);
            i++;
        } else i++;
    }
    push(script.length);
    return statements;
}

/** Length of the comments and white space before a statement's first token. */
function leadingNoise(text: string): number {
    let i = 0;
    for (;;) {
        if (/\s/.test(text[i] ?? '')) i++;
        else if (text.startsWith('--', i)) i = text.includes('\n', i) ? text.indexOf('\n', i) + 1 : text.length;
        else if (text.startsWith('/*', i)) i = text.includes('*/', i + 2) ? text.indexOf('*/', i + 2) + 2 : text.length;
        else return i;
    }
}

/** Runs every statement of `file` in order, in one transaction. */
export async function runSqlFile(client: pg.ClientBase, file: string): Promise<void> {
    const script = fs.readFileSync(file, 'utf8');
    await client.query('begin');
    for (const statement of splitStatements(script)) {
        try {
            await client.query(statement.sql);
        } catch (error) {
            await client.query('rollback').catch(() => {});
            const position = Number((error as { position?: string }).position ?? 0);
            const inside = position > 0 ? statement.sql.slice(0, position).split('\n').length - 1 : 0;
            throw new ScriptError(file, statement.line + inside, error as Error);
        }
    }
    await client.query('commit');
}
