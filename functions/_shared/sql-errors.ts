// A database error raised by the SQL API (stable SQLSTATEs, docs/data-model.md) becomes the
// HttpError clients switch on; its message is the SQL API's own sentence (never SQL text).
// Anything else is rethrown (and answered 500 `internal` by toResponse).
import { codeForSqlState, ERROR_STATUS } from '../../sdk/src/contract/errors.ts';
import { HttpError } from './http.ts';

export function rethrowSqlApiError(error: unknown): never {
    const sqlstate = (error as { code?: unknown }).code;
    const code = typeof sqlstate === 'string' ? codeForSqlState(sqlstate) : undefined;
    if (code) throw new HttpError(ERROR_STATUS[code], code, (error as Error).message);
    throw error;
}
