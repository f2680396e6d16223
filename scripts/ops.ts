// `npm run ops -- outbox`: the outbox at a glance, per topic — lag (age of the oldest
// unfinished message), due, waiting for a retry, in flight, dead, done. Reads the running
// stack's database (or --db-url / DB_URL) as the superuser.
//   npm run ops -- outbox [--db-url postgresql://…] [--workdir <dir>]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { withClient } from '../stack/db/connect.js';
import { PROJECT_ROOT } from '../stack/paths.js';

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { 'db-url': { type: 'string' }, workdir: { type: 'string', default: PROJECT_ROOT } },
});

export interface OutboxTopicStats {
    topic: string;
    lag_seconds: number | null;
    due: number;
    waiting: number;
    in_flight: number;
    dead: number;
    done: number;
}

export const OUTBOX_STATS_SQL = `
    select topic,
           round(extract(epoch from now() - min(created_at) filter (where status in ('pending', 'processing'))), 1)::float8 as lag_seconds,
           count(*) filter (where status = 'pending' and next_attempt_at <= now())::int as due,
           count(*) filter (where status = 'pending' and next_attempt_at > now())::int as waiting,
           count(*) filter (where status = 'processing')::int as in_flight,
           count(*) filter (where status = 'dead')::int as dead,
           count(*) filter (where status = 'done')::int as done
    from private.outbox
    group by topic
    order by topic`;

function dbUrl(): string {
    if (values['db-url']) return values['db-url'];
    if (process.env.DB_URL) return process.env.DB_URL;
    try {
        const status = JSON.parse(fs.readFileSync(path.join(values.workdir, '.local', 'stack.json'), 'utf8')) as { DB_URL?: string };
        if (status.DB_URL) return status.DB_URL;
    } catch {
        // no running stack
    }
    throw new Error('no database: start the stack (npm start) or pass --db-url');
}

export function renderOutboxStats(rows: OutboxTopicStats[]): string {
    const header = ['topic', 'lag', 'due', 'waiting', 'in flight', 'dead', 'done'];
    const body = rows.map((r) => [r.topic, r.lag_seconds === null ? '-' : `${r.lag_seconds}s`, r.due, r.waiting, r.in_flight, r.dead, r.done].map(String));
    if (!body.length) return 'the outbox is empty';
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return [line(header), ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
    if (positionals[0] !== 'outbox') {
        console.error('usage: npm run ops -- outbox [--db-url <url>]');
        return 2;
    }
    const rows = await withClient(dbUrl(), async (client) => (await client.query<OutboxTopicStats>(OUTBOX_STATS_SQL)).rows);
    console.log(renderOutboxStats(rows));
    return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
    main().then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            console.error(`error: ${error.message}`);
            process.exitCode = 1;
        },
    );
}
