// The contract's error codes as HttpErrors, and the mappings into them: invalid input
// (zod) → 400 invalid_argument naming the field; SQL API errors (SQLSTATE) through
// `codeForSqlState`; a database that cannot be reached → 503 unavailable.
import type { z } from 'zod';
import { codeForSqlState, ERROR_STATUS, type ErrorCode } from '../../sdk/src/contract/errors.ts';
import { HttpError, toResponse } from './http.ts';
import type { Logger } from './log.ts';

export function apiError(code: ErrorCode, message: string, details?: unknown): HttpError {
    return new HttpError(ERROR_STATUS[code], code, message, details);
}

/** Parses input with its contract schema; a failure names the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
    throw apiError('invalid_argument', `${issues[0]!.path}: ${issues[0]!.message}`, { issues });
}

/** An error from the SQL API (pg or PostgREST: `{code, message}`) as an API error, when its SQLSTATE is a contract one. */
export function sqlFailure(error: { code?: string; message?: string }): HttpError | undefined {
    const code = codeForSqlState(error.code);
    if (!code) return undefined;
    // The SQL API's messages are written for callers ("place_order: not enough stock for …").
    return apiError(code, (error.message ?? code).replace(/^[a-z_]+: /, ''));
}

/** For `.catch`: an SQL API error becomes its API error; anything else goes on as it is. */
export function rethrowSqlApiError(error: unknown): never {
    throw sqlFailure(error as { code?: string; message?: string }) ?? error;
}

const CONNECTION_LOST = /connection terminated|connection (?:closed|ended)|timeout exceeded when trying to connect|encountered a connection error/i;

/**
 * True when an error means the database could not do the work now (not a bug): no
 * connection (a socket error, a connection lost), shutting down, out of resources, a
 * deadlock or a lock/statement timeout.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return /^(08|53|57)/.test(code) || ['40001', '40P01', '55P03'].includes(code);
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT …
    return typeof message === 'string' && CONNECTION_LOST.test(message);
}

/** The answer to whatever a handler throws: an HttpError as it is, a database outage 503 `unavailable`, anything else 500 `internal` (logged). */
export function errorResponse(error: unknown, log: Logger): Response {
    if (!(error instanceof HttpError) && isDatabaseUnavailable(error)) {
        log.error('database unavailable', { error });
        return toResponse(apiError('unavailable', 'The shop is briefly unavailable; retry the same request'), log);
    }
    return toResponse(error, log);
}
