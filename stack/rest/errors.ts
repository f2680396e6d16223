// PostgREST's error objects: one ApiError type carrying the exact {code, message, details,
// hint} body and HTTP status PostgREST (v14) produces, plus the SQLSTATE → status mapping
// for errors Postgres raises while a request runs.
import { STATUS_CODES } from 'node:http';

/** A Response with the reason phrase Warp sends (supabase-js exposes statusText). */
export function httpResponse(body: string | Buffer | null, init: { status: number; headers: Headers | Record<string, string> }): Response {
    return new Response(body, { status: init.status, statusText: STATUS_CODES[init.status] ?? '', headers: init.headers });
}

export type ErrorDetails = string | null | Record<string, unknown>[] | Record<string, unknown>;

export class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly details: ErrorDetails = null,
        readonly hint: string | null = null,
        readonly headers: Record<string, string> = {},
    ) {
        super(message);
    }

    body(): Record<string, unknown> {
        return { code: this.code, details: this.details, hint: this.hint, message: this.message };
    }
}

export const parseError = (message: string, details: string): ApiError => new ApiError(400, 'PGRST100', message, details);

/** Haskell `show` of a String, as Parsec prints the source name of a parse error. */
export function haskellShow(value: string): string {
    let out = '"';
    for (const ch of value) {
        const code = ch.codePointAt(0)!;
        if (ch === '"') out += '\\"';
        else if (ch === '\\') out += '\\\\';
        else if (ch === '\n') out += '\\n';
        else if (ch === '\t') out += '\\t';
        else if (code < 0x20 || code === 0x7f) out += `\\${code}`;
        else if (code > 0x7f) out += `\\${code}`;
        else out += ch;
    }
    return out + '"';
}

export const invalidBody = (message: string): ApiError => new ApiError(400, 'PGRST102', message);

export const singularityError = (n: number): ApiError =>
    new ApiError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${n} rows`);

export const unacceptableSchema = (schema: string, exposed: string[]): ApiError =>
    new ApiError(406, 'PGRST106', 'Invalid schema: ' + schema, null, `Only the following schemas are exposed: ${exposed.join(', ')}`);

export const tableNotFound = (schema: string, name: string, suggestion: string | null): ApiError =>
    new ApiError(
        404,
        'PGRST205',
        `Could not find the table '${schema}.${name}' in the schema cache`,
        null,
        suggestion ? `Perhaps you meant the table '${schema}.${suggestion}'` : null,
    );

export const columnNotFound = (column: string, table: string): ApiError =>
    new ApiError(400, 'PGRST204', `Could not find the '${column}' column of '${table}' in the schema cache`);

export const notEmbedded = (name: string): ApiError =>
    new ApiError(400, 'PGRST108', `'${name}' is not an embedded resource in this request`, null, `Verify that '${name}' is included in the 'select' query parameter.`);

export const unacceptableEmbedFilter = (name: string): ApiError =>
    new ApiError(400, 'PGRST120', `Bad operator on the '${name}' embedded resource`, null, 'Only is null or not is null filters are allowed on embedded resources');

export const aggregatesNotAllowed = (): ApiError => new ApiError(400, 'PGRST123', 'Use of aggregate functions is not allowed');

export const unsupportedMethod = (method: string): ApiError => new ApiError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);

export const invalidRpcMethod = (method: string): ApiError => new ApiError(405, 'PGRST101', `Cannot use the ${method} method on RPC`);

export const notAcceptable = (accept: string): ApiError =>
    new ApiError(406, 'PGRST107', `None of these media types are available: ${accept}`);

export const invalidContentType = (contentType: string): ApiError =>
    new ApiError(415, 'PGRST107', `Content-Type not acceptable: ${contentType}`);

/** HTTP status for a Postgres error, as PostgREST maps SQLSTATEs. */
export function statusForSqlState(code: string, authenticated: boolean): number {
    if (code === '23503' || code === '23505') return 409;
    if (code === '25006') return 405;
    if (code === '42P01' || code === '42883') return 404;
    if (code === 'P0001') return 400;
    if (code === '42501') return authenticated ? 403 : 401;
    if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
    if (code === '53400') return 500;
    if (code === '42P17') return 500;
    const cls = code.slice(0, 2);
    if (cls === '08') return 503;
    if (cls === '53') return 503;
    if (['0L', '0P', '28'].includes(cls)) return 403;
    if (['09', '25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX'].includes(cls)) return 500;
    return 400;
}

export interface PgErrorLike {
    code?: string;
    message: string;
    detail?: string;
    hint?: string;
}

/** Turns an error raised by Postgres during the request into PostgREST's error response. */
export function fromPgError(error: PgErrorLike, authenticated: boolean): ApiError {
    const code = error.code ?? 'XX000';
    if (code === 'PGRST') return fromRaisedPgrst(error);
    const status = statusForSqlState(code, authenticated);
    const headers: Record<string, string> = {};
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    return new ApiError(status, code, error.message, error.detail ?? null, error.hint ?? null, headers);
}

/** `raise sqlstate 'PGRST' using message = '{"code":…}', detail = '{"status":…,"headers":{…}}'`. */
function fromRaisedPgrst(error: PgErrorLike): ApiError {
    try {
        const msg = JSON.parse(error.message) as Record<string, unknown>;
        const detail = JSON.parse(error.detail ?? '') as { status?: unknown; headers?: unknown };
        if (typeof msg !== 'object' || msg === null || typeof detail !== 'object' || detail === null) throw new Error('bad');
        if (typeof detail.status !== 'number') throw new Error('bad');
        const headers: Record<string, string> = {};
        if (detail.headers && typeof detail.headers === 'object') {
            for (const [k, v] of Object.entries(detail.headers as Record<string, unknown>)) headers[k] = String(v);
        }
        const str = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));
        return new ApiError(detail.status, str(msg.code) ?? '', str(msg.message) ?? '', str(msg.details), str(msg.hint), headers);
    } catch {
        return new ApiError(
            500,
            'PGRST121',
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
            'Invalid JSON value for MESSAGE: \'' + error.message + "'",
            "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
        );
    }
}

export function errorResponse(error: ApiError): Response {
    const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8' });
    for (const [k, v] of Object.entries(error.headers)) headers.set(k, v);
    headers.set('Proxy-Status', `PostgREST; error=${error.code}`);
    return httpResponse(JSON.stringify(error.body()), { status: error.status, headers });
}
