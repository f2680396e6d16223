// PostgreSQL as a supervised stack component: started attached to the stack, checked
// with `select 1`, and — when the postmaster dies (killed, crashed) — started again by the
// supervisor on the same data directory, where Postgres runs its own crash recovery.
// Postgres' own output lines become log events of the `database` component.
import type { ComponentRun } from '../supervisor/component.js';
import type { Logger } from '../log.js';
import type { Cluster } from './cluster.js';
import { createPgPool } from './connect.js';

/** The supervised database; `dbUrl` is the superuser URL the health check uses. */
export function databaseComponent(cluster: Cluster, dbUrl: string): ComponentRun {
    return async ({ log, restart }) => {
        if (restart) log.info(`starting PostgreSQL again on port ${cluster.port} with the same data directory (crash recovery)`);
        await cluster.start();
        // One short-lived connection at a time: a check never holds a slot the services need.
        const probe = createPgPool({ connectionString: dbUrl, max: 1, idleTimeoutMillis: 1_000, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
        const crashed = cluster.unexpectedExit();
        return {
            stop: async () => {
                await probe.end().catch(() => {});
                await cluster.stop();
            },
            health: async () => {
                await probe.query('select 1');
            },
            pids: () => {
                const pid = cluster.runningPid();
                return pid ? [pid] : [];
            },
            pools: {},
            ...(crashed ? { exited: crashed.finally(() => void probe.end().catch(() => {})) } : {}),
        };
    };
}

const STARTING = /^the database system is (starting up|not yet accepting connections|shutting down|in recovery mode)/;

/**
 * Postgres' stderr lines as log events: `2026-11-26 10:00:00.000 UTC [42] LOG:  text` →
 * level from the severity (FATAL/PANIC → error, ERROR/WARNING → warn), msg = text.
 */
export function postgresLineLogger(log: Logger): (line: string) => void {
    let skipping = false;
    return (line) => {
        const match = /^\S+ \S+ \S+ \[(\d+)\] (\w+):\s+(.*)$/.exec(line);
        if (!match) return log.info(line.trim());
        const [, pid, severity, text] = match;
        // Refused connections while Postgres starts or recovers are the readiness probes and
        // the pools retrying: the supervisor's own lines say what happens. Their DETAIL goes too.
        if (severity === 'FATAL' && STARTING.test(text!)) return void (skipping = true);
        if (skipping && ['DETAIL', 'HINT', 'CONTEXT'].includes(severity!)) return;
        skipping = false;
        // The statement text of a failed query may hold personal data; the error line itself is kept.
        if (severity === 'STATEMENT') return;
        // A statement's ERROR is a client's failed request (answered 4xx): a warning for the server.
        // Sessions ended on purpose (db:reset's `drop database … with (force)`, a shutdown) are no failure of the server.
        const ended = severity === 'FATAL' && /^terminating connection due to administrator command/.test(text!);
        const level = (severity === 'FATAL' && !ended) || severity === 'PANIC' ? 'error' : severity === 'ERROR' || severity === 'WARNING' || ended ? 'warn' : 'info';
        log.write({ level, msg: text!, pg_pid: Number(pid), severity });
    };
}
