// The stack's structured log: one JSON line per event, always with `level`, `time`,
// `component` and `msg`, then the event's own fields (`request_id`, `function`, `job`…)
// and, for failures, `error` with its message, SQLSTATE/errno code and cause chain.
// Lines go to a sink: stdout by default; the running stack tees them into
// <workdir>/.local/stack.log, which `npm run logs` reads back.
//
// A failure that is retried (a reconnect loop, a pool losing its connections while
// Postgres restarts) is logged once per streak with `createStreak`: the first failure
// with its cause, then one line when it recovers, never one line per attempt.
import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Fields of one event besides level, time, component and msg. */
export type LogFields = Record<string, unknown>;

/** One event in the shape components without a Logger already emit: `{level, msg, ...fields}`. */
export type LogEntry = LogFields & { level: LogLevel; msg: string };

/** A written line, parsed: what `npm run logs` reads back. */
export interface LogLine extends LogFields {
    level: LogLevel;
    time: string;
    component: string;
    msg: string;
}

export type LogSink = (line: string) => void;

export interface Logger {
    readonly component: string;
    debug(msg: string, fields?: LogFields): void;
    info(msg: string, fields?: LogFields): void;
    warn(msg: string, fields?: LogFields): void;
    error(msg: string, fields?: LogFields): void;
    /** Writes an entry-shaped event (`{level, msg, ...}`): the callback components take as `log`. */
    write(entry: LogEntry): void;
    /** The same sink under another component name (e.g. `functions` for the workers). */
    child(component: string): Logger;
}

let stdoutBroken: boolean | undefined;
/**
 * JSON lines on stdout. A closed stdout (the reading end went away: EPIPE) silences it
 * instead of raising an error per line, which would itself be logged, and so on.
 */
export const stdoutSink: LogSink = (line) => {
    if (stdoutBroken === undefined) {
        stdoutBroken = false;
        process.stdout.on('error', () => (stdoutBroken = true));
    }
    if (!stdoutBroken) process.stdout.write(`${line}\n`);
};

/** A logger writing JSON lines to `sink` (stdout by default). */
export function createLogger(component: string, sink: LogSink = stdoutSink, now: () => Date = () => new Date()): Logger {
    const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
        const line: Record<string, unknown> = { level, time: now().toISOString(), component, msg };
        for (const [key, value] of Object.entries(fields)) {
            if (value === undefined || key === 'level' || key === 'msg' || key === 'time' || key === 'component') continue;
            line[key] = key === 'error' ? describeError(value) : value;
        }
        try {
            sink(JSON.stringify(line));
        } catch {
            // A log line must never take a request or the stack down (e.g. a closed file).
        }
    };
    return {
        component,
        debug: (msg, fields) => emit('debug', msg, fields),
        info: (msg, fields) => emit('info', msg, fields),
        warn: (msg, fields) => emit('warn', msg, fields),
        error: (msg, fields) => emit('error', msg, fields),
        write: ({ level, msg, ...fields }) => emit(level, msg, fields),
        child: (name) => createLogger(name, sink, now),
    };
}

/** A Logger over an entry callback (`log: (entry) => void` options of components and tests). */
export function entryLogger(component: string, write: (entry: LogEntry) => void): Logger {
    const at = (level: LogLevel) => (msg: string, fields: LogFields = {}) => write({ ...fields, level, msg });
    return { component, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), write, child: (name) => entryLogger(name, write) };
}

/** Every line to each sink. */
export function teeSink(...sinks: LogSink[]): LogSink {
    return (line) => sinks.forEach((sink) => sink(line));
}

export interface FileSink {
    sink: LogSink;
    close(): void;
}

/**
 * Appends lines to `file`; the previous run's file is kept as `<file>.1`. Writes are
 * synchronous so that a crash or `kill -9` loses no line already emitted.
 */
export function fileSink(file: string): FileSink {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (fs.existsSync(file)) fs.renameSync(file, `${file}.1`);
    let fd: number | undefined = fs.openSync(file, 'a', 0o600);
    return {
        sink: (line) => {
            if (fd !== undefined) fs.writeSync(fd, `${line}\n`);
        },
        close: () => {
            if (fd !== undefined) fs.closeSync(fd);
            fd = undefined;
        },
    };
}

/** An error as a log field: message, SQLSTATE/errno code, and the chain of causes. */
export function describeError(error: unknown, depth = 0): unknown {
    if (!(error instanceof Error)) return typeof error === 'object' && error !== null ? error : String(error);
    const described: Record<string, unknown> = { message: error.message };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') described.code = code;
    if (error.cause !== undefined && depth < 4) described.cause = describeError(error.cause, depth + 1);
    return described;
}

/** The one-line reason of an error, for status and log messages. */
export function reasonOf(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown })?.code;
    const first = message.split('\n')[0]!.trim() || 'unknown error';
    return typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first;
}

export interface Streak {
    /** A failed attempt: logged only when it starts a streak. */
    fail(error: unknown, fields?: LogFields): void;
    /** A success: ends a streak, if any, with one line saying how long it lasted. */
    succeed(fields?: LogFields): void;
    /** Whether the last attempt failed. */
    readonly failing: boolean;
}

/**
 * Once-per-streak logging of a retried failure: `what` names the thing that fails
 * ("database connection", "schema listener"). The first failure logs an error with its
 * cause; later ones are counted; the first success after them logs one recovery line.
 */
export function createStreak(log: Logger, what: string, now: () => number = Date.now): Streak {
    let failures = 0;
    let since = 0;
    return {
        fail(error, fields) {
            if (failures++ === 0) {
                since = now();
                log.error(`${what} failed: ${reasonOf(error)}; retrying (logged once until it recovers)`, { ...fields, error });
            }
        },
        succeed(fields) {
            if (failures === 0) return;
            log.info(`${what} recovered after ${failures} failed attempt(s) in ${((now() - since) / 1000).toFixed(1)} s`, fields);
            failures = 0;
        },
        get failing() {
            return failures > 0;
        },
    };
}
