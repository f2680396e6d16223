// What a stack component is to the supervisor: something started by a `run` function that
// returns a handle. Every component — Postgres, the services behind the gateway, the
// function workers, a fake third party — plugs in the same way:
//
//     await supervisor.component('rest', async ({ log }) => {
//         const rest = await createRestService({ ..., log });
//         routes['/rest/v1'] = rest.handler;
//         return { stop: () => rest.close(), health: () => rest.health(), pools: { rest: rest.pool } };
//     });
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { Logger } from '../log.js';

/** What a live check found, when the component serves but not everything it should. */
export interface HealthReport {
    /** Serving, but part of it is broken: said in status as `degraded: <this>`. */
    degraded?: string;
    /** Extra facts for `status -o json` (e.g. the state of each function). */
    detail?: unknown;
}

/** Connection counts of a database pool (a pg.Pool has them), read at scrape time. */
export interface PoolUsage {
    totalCount: number;
    idleCount: number;
    waitingCount: number;
}

export interface ComponentHandle {
    /** Stops the component for good (Ctrl-C, `npm run stop`). */
    stop(): Promise<void>;
    /**
     * Live check, run by `npm run status` and every few seconds: resolves when the component
     * serves (with a report when degraded), rejects with the reason when it does not.
     */
    health?(): Promise<HealthReport | void>;
    /** Operating-system processes the component runs (shown by status). */
    pids?(): number[];
    /**
     * Resolves, with the cause, when the component died on its own (its process exited):
     * the supervisor then starts it again by calling `run` once more, with backoff.
     */
    exited?: Promise<string>;
    /** Database pools whose usage the metrics report, by name. */
    pools?: Record<string, PoolUsage>;
}

export interface ComponentContext {
    /** The component's logger (component = its name). */
    log: Logger;
    /** 0 on the first start, n on the n-th restart after a crash. */
    restart: number;
}

/** Starts (or, after a crash, restarts) one component. */
export type ComponentRun = (context: ComponentContext) => Promise<ComponentHandle>;

/** A child process's exit as a cause: "killed by SIGKILL", "exited with code 1". */
export function exitCause(child: ChildProcess, what: string): Promise<string> {
    return new Promise((resolve) =>
        child.once('exit', (code, signal) => resolve(signal ? `${what} was killed by ${signal}` : `${what} exited with code ${code}`)),
    );
}

/**
 * A health check for an HTTP server: any HTTP answer within `timeoutMs` counts (a 404 too).
 * (node:http rather than fetch: the first fetch loads Node's whole HTTP client, which would
 * cost every start of the stack more than its own checks.)
 */
export function httpAnswers(url: string, timeoutMs = 2_000): Promise<void> {
    return new Promise((resolve, reject) => {
        const request = http.get(url, { timeout: timeoutMs }, (response) => {
            response.resume();
            response.once('end', () => resolve());
            response.once('error', reject);
        });
        request.once('timeout', () => request.destroy(new Error(`${url} gave no answer within ${timeoutMs} ms`)));
        request.once('error', reject);
    });
}

/** A health check for a listening server: a TCP connection to 127.0.0.1:port is accepted within `timeoutMs`. */
export function portAccepts(port: number, timeoutMs = 2_000): Promise<void> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ port, host: '127.0.0.1' });
        const fail = (error: Error) => {
            socket.destroy();
            reject(error);
        };
        socket.setTimeout(timeoutMs, () => fail(new Error(`port ${port} accepted no connection within ${timeoutMs} ms`)));
        socket.once('error', fail);
        socket.once('connect', () => {
            socket.end();
            resolve();
        });
    });
}
