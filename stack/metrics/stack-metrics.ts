// The stack's own Prometheus metrics (prom-client), one registry per running stack:
// requests through the gateway, database pools, component health and restarts (Postgres
// included), function boots/invocations/errors/wall time, scheduler runs/failures/
// lateness and mail sent. docs/operations.md explains each family. Values that already
// live somewhere (the supervisor's states, pool counters) are read at scrape time.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolUsage } from '../supervisor/component.js';
import type { ComponentReport } from '../supervisor/supervisor.js';

/** The component whose health `stack_postgres_up` reports. */
export const DATABASE_COMPONENT = 'database';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Most distinct routes kept per service; more are counted as `(other)` (a client cannot blow up the series). */
const MAX_ROUTES_PER_SERVICE = 100;

export interface RequestObservation {
    /** Gateway prefix the request matched ("/rest/v1"), or undefined. */
    prefix: string | undefined;
    path: string;
    method: string;
    status: number;
    seconds: number;
}

export interface StackMetrics {
    registry: Registry;
    observeRequest(request: RequestObservation): void;
    poolErrors: Counter<'pool'>;
    functionBoots: Counter<'function' | 'outcome'>;
    functionInvocations: Counter<'function' | 'status'>;
    functionErrors: Counter<'function' | 'code'>;
    functionWallSeconds: Histogram<'function'>;
    schedulerRuns: Counter<'job' | 'status'>;
    schedulerFailures: Counter<'job'>;
    schedulerLatenessSeconds: Histogram<'job'>;
    mailSent: Counter<string>;
    sqlMetricsErrors: Counter<'view'>;
}

export interface StackMetricsSources {
    /** The supervisor's reports (component up, restarts). */
    components: () => Record<string, ComponentReport>;
    /** Database pools by name. */
    pools: () => Record<string, PoolUsage>;
}

export function createStackMetrics(sources: StackMetricsSources): StackMetrics {
    const registry = new Registry();
    const registers = [registry];
    collectDefaultMetrics({ register: registry });

    const httpRequests = new Counter({
        name: 'stack_http_requests_total',
        help: 'Requests through the API gateway, by service, route, method and status',
        labelNames: ['service', 'route', 'method', 'status'] as const,
        registers,
    });
    const httpDuration = new Histogram({
        name: 'stack_http_request_duration_seconds',
        help: 'Time from request to response headers at the API gateway, by service and route',
        labelNames: ['service', 'route'] as const,
        buckets: LATENCY_BUCKETS,
        registers,
    });
    const routes = new Map<string, Set<string>>();
    const routeOf = (service: string, path: string, status: number): string => {
        if (status === 404) return '(unmatched)';
        const segments = path.split('/').filter(Boolean);
        // rpc/<function> and admin/<resource> are one route each; ids never become labels.
        const depth = segments[0] === 'rpc' || segments[0] === 'admin' ? 2 : 1;
        const route = `/${segments.slice(0, depth).join('/')}`;
        const known = routes.get(service) ?? new Set<string>();
        routes.set(service, known);
        if (!known.has(route) && known.size >= MAX_ROUTES_PER_SERVICE) return '(other)';
        known.add(route);
        return route;
    };

    const componentUp = (report: ComponentReport | undefined) => (report && (report.state === 'running' || report.state === 'degraded') ? 1 : 0);
    new Gauge({
        name: 'stack_component_up',
        help: '1 when the component answers its live check (running or degraded), else 0',
        labelNames: ['component'] as const,
        registers,
        collect() {
            this.reset();
            // A component not run on purpose (disabled, not available locally) is no outage.
            for (const [name, report] of Object.entries(sources.components())) if (report.state !== 'disabled') this.set({ component: name }, componentUp(report));
        },
    });
    new Counter({
        name: 'stack_component_restarts_total',
        help: 'Restarts of a component after its process died',
        labelNames: ['component'] as const,
        registers,
        collect() {
            this.reset();
            for (const [name, report] of Object.entries(sources.components())) this.inc({ component: name }, report.restarts);
        },
    });
    new Gauge({
        name: 'stack_postgres_up',
        help: '1 when PostgreSQL answers `select 1`, else 0',
        registers,
        collect() {
            this.set(componentUp(sources.components()[DATABASE_COMPONENT]));
        },
    });
    new Counter({
        name: 'stack_postgres_restarts_total',
        help: 'Restarts of PostgreSQL after it died (crash recovery on the same data directory)',
        registers,
        collect() {
            this.reset();
            this.inc(sources.components()[DATABASE_COMPONENT]?.restarts ?? 0);
        },
    });
    new Gauge({
        name: 'stack_db_pool_connections',
        help: 'Connections of each database pool: total open, idle, and requests waiting for one',
        labelNames: ['pool', 'state'] as const,
        registers,
        collect() {
            this.reset();
            for (const [pool, usage] of Object.entries(sources.pools())) {
                this.set({ pool, state: 'total' }, usage.totalCount);
                this.set({ pool, state: 'idle' }, usage.idleCount);
                this.set({ pool, state: 'waiting' }, usage.waitingCount);
            }
        },
    });

    return {
        registry,
        observeRequest({ prefix, path, method, status, seconds }) {
            const service = prefix ? (prefix.split('/').filter(Boolean)[0] ?? 'none') : 'none';
            const route = prefix ? routeOf(service, path.slice(prefix.length), status) : '(unmatched)';
            httpRequests.inc({ service, route, method, status: String(status) });
            httpDuration.observe({ service, route }, seconds);
        },
        poolErrors: new Counter({
            name: 'stack_db_pool_errors_total',
            help: 'Pooled database connections lost (terminated by the server, network error)',
            labelNames: ['pool'] as const,
            registers,
        }),
        functionBoots: new Counter({
            name: 'stack_function_boots_total',
            help: 'Deno workers started per function, by outcome (ok, boot_error)',
            labelNames: ['function', 'outcome'] as const,
            registers,
        }),
        functionInvocations: new Counter({
            name: 'stack_function_invocations_total',
            help: 'Requests handled per function, by HTTP status',
            labelNames: ['function', 'status'] as const,
            registers,
        }),
        functionErrors: new Counter({
            name: 'stack_function_errors_total',
            help: 'Failed invocations per function, by runtime error code (BOOT_ERROR, WORKER_ERROR, WORKER_LIMIT, IDLE_TIMEOUT)',
            labelNames: ['function', 'code'] as const,
            registers,
        }),
        functionWallSeconds: new Histogram({
            name: 'stack_function_wall_seconds',
            help: 'Wall-clock time of an invocation until its response headers, per function',
            labelNames: ['function'] as const,
            buckets: LATENCY_BUCKETS,
            registers,
        }),
        schedulerRuns: new Counter({
            name: 'stack_scheduler_runs_total',
            help: 'Scheduled job runs, by job and the HTTP status the function answered ("error" when no answer)',
            labelNames: ['job', 'status'] as const,
            registers,
        }),
        schedulerFailures: new Counter({
            name: 'stack_scheduler_failures_total',
            help: 'Scheduled job runs that failed (no answer, or a status of 400 or more)',
            labelNames: ['job'] as const,
            registers,
        }),
        schedulerLatenessSeconds: new Histogram({
            name: 'stack_scheduler_lateness_seconds',
            help: 'How long after the start of its schedule slot a job run started',
            labelNames: ['job'] as const,
            buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
            registers,
        }),
        mailSent: new Counter({ name: 'stack_mail_sent_total', help: 'Messages delivered to the mail catcher', registers }),
        sqlMetricsErrors: new Counter({
            name: 'stack_sql_metrics_errors_total',
            help: 'Scrapes where a view of the `metrics` schema could not be read (error or timeout)',
            labelNames: ['view'] as const,
            registers,
        }),
    };
}
