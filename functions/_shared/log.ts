// Structured logs: one JSON line per event (level, msg, time, and the fields the caller
// adds, such as request id or order id). Errors are reduced to name, message and code.
export type LogFields = Record<string, unknown>;

export interface Logger {
    info(msg: string, fields?: LogFields): void;
    warn(msg: string, fields?: LogFields): void;
    error(msg: string, fields?: LogFields): void;
    with(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

export function createLogger(base: LogFields = {}, sink: LogSink = (line) => console.log(line)): Logger {
    const write = (level: string, msg: string, fields: LogFields = {}) =>
        sink(JSON.stringify({ level, msg, time: new Date().toISOString(), ...base, ...describe(fields) }));
    return {
        info: (msg, fields) => write('info', msg, fields),
        warn: (msg, fields) => write('warn', msg, fields),
        error: (msg, fields) => write('error', msg, fields),
        with: (fields) => createLogger({ ...base, ...fields }, sink),
    };
}

function describe(fields: LogFields): LogFields {
    const out: LogFields = {};
    for (const [key, value] of Object.entries(fields)) {
        out[key] = value instanceof Error
            ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
            : value;
    }
    return out;
}
