// Metrics from SQL: every view (or materialized view) in the `metrics` schema of the
// project's database becomes Prometheus gauges, re-read at each scrape. Each numeric
// column (and boolean: 1/0, timestamp: Unix seconds) of view `v` is a gauge
// `db_<v>_<column>`; every other column is a label of those gauges, one sample per row.
// A project adds its own business metrics with a migration, nothing else.
//
// Each view is read in its own read-only transaction with a statement timeout, so a slow
// or broken view costs its own samples (and a `stack_sql_metrics_errors_total` count),
// never the scrape.
import type pg from 'pg';
import { Gauge, Registry } from 'prom-client';

export const METRICS_SCHEMA = 'metrics';

interface ViewColumn {
    view: string;
    column: string;
    /** pg_type.typcategory: N numeric, B boolean, D date/time, anything else is a label. */
    category: string;
}

export interface SqlMetricsResult {
    /** Prometheus text of the gauges that could be read. */
    text: string;
    /** Views that failed, with the reason. */
    failures: Array<{ view: string; error: Error }>;
}

const VALUE_CATEGORIES = new Set(['N', 'B', 'D']);

/** A Prometheus-safe name part: [a-zA-Z0-9_], never starting with a digit. */
export function metricNamePart(name: string): string {
    const safe = name.replace(/[^a-zA-Z0-9_]/g, '_');
    return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

function labelName(name: string): string {
    const safe = metricNamePart(name);
    return safe.startsWith('__') ? `label${safe}` : safe;
}

function numeric(value: unknown, category: string): number | undefined {
    if (value === null || value === undefined) return undefined;
    if (category === 'B') return value ? 1 : 0;
    if (category === 'D') {
        const time = value instanceof Date ? value.getTime() : Date.parse(String(value));
        return Number.isFinite(time) ? time / 1000 : undefined;
    }
    const number = typeof value === 'number' ? value : Number(value);
    return Number.isNaN(number) ? undefined : number;
}

/** Reads every view of the `metrics` schema through `pool`; each query is cut off after `timeoutMs`. */
export async function collectSqlMetrics(pool: pg.Pool, timeoutMs: number): Promise<SqlMetricsResult> {
    const { rows: columns } = await pool.query<ViewColumn>({
        text: `select c.relname as view, a.attname as column, t.typcategory as category
               from pg_catalog.pg_class c
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace
               join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
               join pg_catalog.pg_type t on t.oid = a.atttypid
               where n.nspname = $1 and c.relkind in ('v', 'm')
               order by c.relname, a.attnum`,
        values: [METRICS_SCHEMA],
        query_timeout: timeoutMs,
    } as pg.QueryConfig);
    const views = new Map<string, ViewColumn[]>();
    for (const column of columns) views.set(column.view, [...(views.get(column.view) ?? []), column]);

    const registry = new Registry();
    const failures: SqlMetricsResult['failures'] = [];
    for (const [view, viewColumns] of views) {
        const values = viewColumns.filter((c) => VALUE_CATEGORIES.has(c.category));
        const labels = viewColumns.filter((c) => !VALUE_CATEGORIES.has(c.category));
        if (!values.length) continue;
        let rows: Array<Record<string, unknown>>;
        try {
            rows = await readView(pool, view, timeoutMs);
        } catch (error) {
            failures.push({ view, error: error as Error });
            continue;
        }
        for (const value of values) {
            const gauge = new Gauge({
                name: `db_${metricNamePart(view)}_${metricNamePart(value.column)}`,
                help: `Column ${value.column} of the view ${METRICS_SCHEMA}.${view}`,
                labelNames: labels.map((l) => labelName(l.column)),
                registers: [registry],
            });
            for (const row of rows) {
                const number = numeric(row[value.column], value.category);
                if (number === undefined) continue;
                const labelValues = Object.fromEntries(labels.map((l) => [labelName(l.column), row[l.column] === null ? '' : String(row[l.column])]));
                gauge.set(labelValues, number);
            }
        }
    }
    return { text: await registry.metrics(), failures };
}

async function readView(pool: pg.Pool, view: string, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
    const client = await pool.connect();
    let broken = false;
    try {
        await client.query('begin read only');
        await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
        const { rows } = await client.query({
            text: `select * from ${client.escapeIdentifier(METRICS_SCHEMA)}.${client.escapeIdentifier(view)}`,
            query_timeout: timeoutMs + 1_000,
        } as pg.QueryConfig);
        await client.query('commit');
        return rows as Array<Record<string, unknown>>;
    } catch (error) {
        broken = typeof (error as { code?: unknown }).code !== 'string';
        await client.query('rollback').catch(() => (broken = true));
        throw error;
    } finally {
        client.release(broken);
    }
}
