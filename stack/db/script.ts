// Runs a SQL file as one script and, when it fails, names the file and line.
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

/** Runs every statement of `file` in order (simple query protocol, one implicit transaction). */
export async function runSqlFile(client: pg.ClientBase, file: string): Promise<void> {
    const sql = fs.readFileSync(file, 'utf8');
    try {
        await client.query(sql);
    } catch (error) {
        const position = Number((error as { position?: string }).position ?? 0);
        const line = position > 0 ? sql.slice(0, position).split('\n').length : 1;
        throw new ScriptError(file, line, error as Error);
    }
}
