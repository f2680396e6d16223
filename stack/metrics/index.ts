// The metrics endpoint as the stack mounts it: the stack's registry plus the `metrics`
// SQL views of the project database, read through a small pool of their own at each
// scrape (a slow view is cut off; a failing one is counted and logged once per streak).
import type pg from 'pg';
import { createPgPool } from '../db/connect.js';
import type { FetchHandler } from '../http.js';
import type { JwtKeys } from '../jwt.js';
import { createStreak, type Logger } from '../log.js';
import type { ApiKeys } from '../gateway/keys.js';
import { createMetricsEndpoint } from './endpoint.js';
import { collectSqlMetrics } from './sql-views.js';
import type { StackMetrics } from './stack-metrics.js';

export { createStackMetrics, type StackMetrics } from './stack-metrics.js';
export { METRICS_PATH } from './endpoint.js';

/** How long one scrape may spend on one SQL view. */
export const SQL_METRICS_TIMEOUT_MS = 2_000;

export interface MetricsRoute {
    handler: FetchHandler;
    /** The pool reading the `metrics` views. */
    pool: pg.Pool;
    close(): Promise<void>;
}

export function createMetricsRoute(options: { metrics: StackMetrics; keys: ApiKeys; jwt: JwtKeys; dbUrl: string; log: Logger }): MetricsRoute {
    const { metrics, log } = options;
    const pool = createPgPool({ connectionString: options.dbUrl, max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: SQL_METRICS_TIMEOUT_MS }, () =>
        metrics.poolErrors.inc({ pool: 'metrics' }),
    );
    const reading = createStreak(log, 'reading the metrics SQL views');
    const extra = async (): Promise<string> => {
        try {
            const result = await collectSqlMetrics(pool, SQL_METRICS_TIMEOUT_MS);
            for (const failure of result.failures) metrics.sqlMetricsErrors.inc({ view: failure.view });
            if (result.failures.length) reading.fail(result.failures[0]!.error, { views: result.failures.map((f) => f.view) });
            else reading.succeed();
            return result.text;
        } catch (error) {
            // The database is unreachable: the stack's own metrics still answer.
            metrics.sqlMetricsErrors.inc({ view: '*' });
            reading.fail(error);
            return '';
        }
    };
    return {
        handler: createMetricsEndpoint({ metrics, keys: options.keys, jwt: options.jwt, extra }),
        pool,
        close: () => pool.end(),
    };
}
