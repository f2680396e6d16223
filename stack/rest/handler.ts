// One request end to end: identity → target and schema → plan → one transaction as
// authenticator with the transaction-local settings → PostgREST's response (status,
// Content-Range, Preference-Applied, GUC overrides) or its error object.
import { isConnectionError } from '../db/connect.js';
import type { FetchHandler } from '../http.js';
import { createLogger, type Logger } from '../log.js';
import { checkQueryStringLength, looksLikeFilter, parseQueryParams, parseRangeHeader, parseTarget, type QueryParams, type Target } from './api-request.js';
import type { Identity } from './auth.js';
import {
    ApiError,
    errorResponse,
    httpResponse,
    fromPgError,
    invalidBody,
    invalidContentType,
    invalidRpcMethod,
    singularityError,
    tableNotFound,
    unacceptableSchema,
    unsupportedMethod,
} from './errors.js';
import { findFunction, type RpcBodyKind } from './call-plan.js';
import { contentTypeOf, negotiate, parsePrefer, type MediaType, type Preferences } from './negotiation.js';
import { accessibleFrom, accessibleObjectsStatement, openApiDocument } from './openapi.js';
import { PlanCache } from './plan-cache.js';
import { suggestTable, type PlanContext } from './read-plan.js';
import { relKey, type Relation, type SchemaCache } from './schema-cache.js';
import { ident, literal } from './sql.js';
import {
    deleteStatement,
    insertStatement,
    readStatement,
    rpcStatement,
    updateStatement,
    type JsonRows,
    type RpcCall,
    type Statement,
} from './statements.js';
import { preparedName, type RequestTransaction, type SqlStep, type TextRow, type TransactionPool } from './transaction.js';

export interface HandlerDeps {
    transactions: TransactionPool;
    cache: () => Promise<SchemaCache>;
    /** Reloads the cache when a name is missing (Supabase reloads on DDL through an event trigger); rate-limited. */
    refreshOnMiss?: () => Promise<SchemaCache | undefined>;
    authenticate: (headers: Headers) => Promise<Identity>;
    schemas: string[];
    extraSearchPath: string[];
    maxRows: number | undefined;
    log?: Logger;
    /** A request lost its database connection (Postgres down or restarting): reported once per streak by the service. */
    connectionFailed?: (error: unknown) => void;
}

interface StatementResult {
    total_result_set: string | null;
    page_total: string;
    body: string | null;
    response_headers: string | null;
    response_status: string | null;
    /** Rows an upsert inserted rather than updated (statements with `countsInserted`). */
    inserted?: string | null;
}

export function createHandler(deps: HandlerDeps): FetchHandler {
    const log = deps.log ?? createLogger('rest');
    return async (request) => {
        let response: Response;
        try {
            response = await handle(deps, request);
        } catch (error) {
            if (error instanceof ApiError) response = errorResponse(error);
            else {
                log.error('unexpected error', { request_id: request.headers.get('x-request-id') ?? undefined, error, stack: (error as Error)?.stack });
                response = errorResponse(new ApiError(500, 'PGRST000', 'Internal server error'));
            }
        }
        if (request.headers.has('origin') && !response.headers.has('access-control-allow-origin')) {
            // PostgREST's CORS policy (wai-cors): any origin, these headers readable by scripts.
            response.headers.set('Access-Control-Allow-Origin', '*');
            response.headers.set('Access-Control-Expose-Headers', 'Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit');
        }
        return response;
    };
}

async function handle(deps: HandlerDeps, request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    if (!['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'].includes(method)) throw unsupportedMethod(method);
    const target = parseTarget(url.pathname);
    checkQueryStringLength(url.search);

    if (method === 'OPTIONS') {
        const allow = target.kind === 'table' ? 'OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE' : target.kind === 'rpc' ? 'OPTIONS,GET,HEAD,POST' : 'OPTIONS,GET,HEAD';
        const headers: Record<string, string> = { Allow: allow };
        // CORS preflight, as PostgREST's CORS middleware answers it.
        if (request.headers.get('origin') && request.headers.get('access-control-request-method')) {
            headers['Access-Control-Allow-Origin'] = '*';
            headers['Access-Control-Allow-Methods'] = 'GET, POST, PATCH, PUT, DELETE, OPTIONS';
            headers['Access-Control-Allow-Headers'] = request.headers.get('access-control-request-headers') ?? 'Authorization';
            headers['Access-Control-Max-Age'] = '86400';
        }
        return httpResponse(null, { status: 200, headers });
    }
    const identity = await deps.authenticate(request.headers);

    const schema = pickSchema(deps.schemas, request.headers, method);
    let cache = await deps.cache();
    const missing =
        (target.kind === 'table' && !cache.relations.has(relKey(schema, target.name))) ||
        (target.kind === 'rpc' && !cache.functions.has(relKey(schema, target.name)));
    if (missing && deps.refreshOnMiss) cache = (await deps.refreshOnMiss()) ?? cache;
    const settings = cache.settings.pgrst;
    const ctx: PlanContext = { cache, schema, aggregatesEnabled: settings.get('db-aggregates-enabled') === 'true', exposedSchemas: deps.schemas };
    const prefs = parsePrefer(request.headers);
    if (prefs.handling === 'strict' && prefs.invalid.length) {
        throw new ApiError(400, 'PGRST122', 'Invalid preferences given with handling=strict', `Invalid preferences: ${prefs.invalid.join(', ')}`);
    }
    const txEnd = settings.get('db-tx-end') ?? 'commit';
    const txOverride = txEnd.endsWith('allow-override');
    const rollback = txOverride && prefs.tx ? prefs.tx === 'rollback' : txEnd.startsWith('rollback');
    const appliedTx = txOverride && prefs.tx ? prefs.tx : undefined;

    if (target.kind === 'root') {
        if (method !== 'GET' && method !== 'HEAD') throw unsupportedMethod(method);
        negotiate(request.headers.get('accept'), 'root');
        // Only what the request's role holds privileges on, asked as that role.
        const respond = async (result: StatementResult): Promise<Outcome> => ({
            status: 200,
            headers: new Headers({ 'Content-Type': 'application/openapi+json; charset=utf-8' }),
            body: JSON.stringify(openApiDocument(cache, schema, url, accessibleFrom(result.body))),
        });
        return execute(deps, request, identity, schema, true, false, respond, accessibleObjectsStatement(schema), prefs);
    }

    if (target.kind === 'table') {
        const rel = cache.relations.get(relKey(schema, target.name));
        if (!rel) throw tableNotFound(schema, target.name, suggestTable(cache, schema, target.name));
        return tableRequest(deps, ctx, request, url, method, rel, identity, prefs, rollback, appliedTx);
    }
    return rpcRequest(deps, ctx, request, url, method, target, identity, prefs, rollback, appliedTx);
}

/** max_rows of config.toml, unless the database sets pgrst.db_max_rows for authenticator. */
function maxRowsOf(deps: HandlerDeps, cache: SchemaCache): number | undefined {
    const inDb = cache.settings.pgrst.get('db-max-rows');
    if (inDb !== undefined && /^\d+$/.test(inDb.trim())) return Number(inDb.trim());
    return deps.maxRows;
}

function pickSchema(schemas: string[], headers: Headers, method: string): string {
    const header = method === 'GET' || method === 'HEAD' ? headers.get('accept-profile') : headers.get('content-profile');
    if (header === null) return schemas[0] ?? 'public';
    if (!schemas.includes(header)) throw unacceptableSchema(header, schemas);
    return header;
}

// ── tables ──────────────────────────────────────────────────────────────────────────

async function readBody(request: Request): Promise<string> {
    return await request.text();
}

function parseJsonBody(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        throw invalidBody('Empty or invalid json');
    }
}

function parseCsv(text: string): JsonRows {
    const rows: string[][] = [];
    let row: string[] = [];
    let cell = '';
    let quoted = false;
    let wasQuoted = false;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (quoted) {
            if (ch === '"' && text[i + 1] === '"') {
                cell += '"';
                i++;
            } else if (ch === '"') quoted = false;
            else cell += ch;
        } else if (ch === '"') {
            quoted = true;
            wasQuoted = true;
        } else if (ch === ',') {
            row.push(wasQuoted || cell !== 'NULL' ? cell : '\u0000NULL');
            cell = '';
            wasQuoted = false;
        } else if (ch === '\n' || ch === '\r') {
            if (ch === '\r' && text[i + 1] === '\n') i++;
            row.push(wasQuoted || cell !== 'NULL' ? cell : '\u0000NULL');
            rows.push(row);
            row = [];
            cell = '';
            wasQuoted = false;
        } else cell += ch;
    }
    if (cell !== '' || row.length) {
        row.push(wasQuoted || cell !== 'NULL' ? cell : '\u0000NULL');
        rows.push(row);
    }
    const [header, ...data] = rows;
    if (!header) return [];
    return data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] === '\u0000NULL' || r[i] === undefined ? null : r[i]])));
}

/** Reads are planned once per distinct request shape (statements carry their own parameters). */
interface ReadPlan {
    q: QueryParams;
    media: MediaType;
    stmt: Statement;
    /** Offset of the first row (query string and Range header), for Content-Range. */
    offset: number;
    contentLocation: string;
}

const readPlans = new PlanCache<ReadPlan>();

const TABLE_BODY_TYPES = new Set(['application/json', 'text/csv', 'application/x-www-form-urlencoded', 'application/vnd.pgrst.object+json', 'application/vnd.pgrst.object', 'application/vnd.pgrst.array+json', '*/*', '']);

/** The body as parsed data, plus its JSON text when it was JSON (numbers stay exact in SQL). */
async function payload(request: Request): Promise<{ value: unknown; isArray: boolean; raw?: string }> {
    const raw = request.headers.get('content-type') ?? 'application/json';
    const ct = raw.split(';')[0]!.trim().toLowerCase();
    if (!TABLE_BODY_TYPES.has(ct)) throw invalidContentType(raw);
    const text = await readBody(request);
    if (ct === 'text/csv') {
        return { value: parseCsv(text), isArray: true };
    }
    if (ct === 'application/x-www-form-urlencoded') {
        return { value: Object.fromEntries(new URLSearchParams(text)), isArray: false };
    }
    const value = parseJsonBody(text);
    return { value, isArray: Array.isArray(value), raw: text };
}

function toRows(value: unknown, isArray: boolean): JsonRows {
    if (isArray) {
        const arr = value as unknown[];
        if (!arr.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) throw invalidBody('All object keys must match');
        return arr as JsonRows;
    }
    if (typeof value !== 'object' || value === null) throw invalidBody('Empty or invalid json');
    return [value as Record<string, unknown>];
}

async function tableRequest(
    deps: HandlerDeps,
    ctx: PlanContext,
    request: Request,
    url: URL,
    method: string,
    rel: Relation,
    identity: Identity,
    prefs: Preferences,
    rollback: boolean,
    appliedTx: string | undefined,
): Promise<Response> {
    const accept = request.headers.get('accept');
    const readKey =
        method === 'GET' || method === 'HEAD'
            ? [ctx.schema, url.pathname, url.search, accept, request.headers.get('prefer'), request.headers.get('range')].join('\u0000')
            : undefined;
    const cached = readKey !== undefined ? readPlans.get(ctx.cache, readKey) : undefined;
    const q = cached?.q ?? parseQueryParams(url.searchParams);
    const planEnabled = ctx.cache.settings.pgrst.get('db-plan-enabled') === 'true';
    const media = cached?.media ?? negotiate(accept, 'table', undefined, planEnabled);
    // An EXPLAIN shows the statement of the media type named in its `for=`.
    const shape = media.kind === 'plan' ? negotiate(media.for, 'table') : media;
    const input = { rel, q, prefs, media: shape, body: undefined };
    let stmt: Statement;
    let read: ReadPlan | undefined;
    let readOnly = false;
    let kind: 'read' | 'insert' | 'update' | 'delete' | 'upsert-put';
    switch (method) {
        case 'GET':
        case 'HEAD': {
            readOnly = true;
            kind = 'read';
            if (cached) {
                read = cached;
            } else {
                const range = parseRangeHeader(request.headers);
                stmt = readStatement(ctx, rel, q, prefs, shape, maxRowsOf(deps, ctx.cache), range);
                read = { q, media, stmt, offset: offsetOf(q, request.headers), contentLocation: contentLocation(rel.name, url.searchParams) };
                readPlans.set(ctx.cache, readKey!, read);
            }
            stmt = read.stmt;
            break;
        }
        case 'POST': {
            kind = 'insert';
            const { value, isArray, raw } = await payload(request);
            const rows = toRows(value, isArray);
            stmt = insertStatement(ctx, input, rows, isArray, false, raw);
            break;
        }
        case 'PUT': {
            kind = 'upsert-put';
            const { value, isArray, raw } = await payload(request);
            const rows = toRows(value, isArray);
            if (request.headers.has('range')) {
                throw new ApiError(400, 'PGRST114', 'Range header and limit/offset querystring parameters are not allowed for PUT');
            }
            validatePut(rel, q, rows, isArray);
            stmt = insertStatement(ctx, input, rows, false, true, raw);
            break;
        }
        case 'PATCH': {
            kind = 'update';
            const { value, isArray, raw } = await payload(request);
            if (isArray || typeof value !== 'object' || value === null) {
                const rows = toRows(value, isArray);
                stmt = updateStatement(ctx, input, rows[0] ?? {});
            } else {
                stmt = updateStatement(ctx, input, value as Record<string, unknown>, raw);
            }
            break;
        }
        case 'DELETE':
            kind = 'delete';
            stmt = deleteStatement(ctx, input);
            break;
        default:
            throw unsupportedMethod(method);
    }

    return execute(deps, request, identity, ctx.schema, readOnly, rollback, async (result, planned) => {
        const pageTotal = Number(result.page_total);
        const total = result.total_result_set !== null && result.total_result_set !== '' ? Number(result.total_result_set) : planned;
        if (kind === 'read') {
            if (media.kind === 'object' && pageTotal !== 1) throw singularityError(pageTotal);
            const offset = read!.offset;
            const headers = new Headers({ 'Content-Type': contentTypeOf(media) });
            const status = rangeStatus(offset, pageTotal, total);
            if (status === 416) {
                throw new ApiError(416, 'PGRST103', 'Requested range not satisfiable', `An offset of ${offset} was requested, but there are only ${total} rows.`, null, {
                    'Content-Range': `*/${total}`,
                });
            }
            headers.set('Content-Range', contentRange(offset, pageTotal, total));
            headers.set('Content-Location', read!.contentLocation);
            applyPreferenceApplied(headers, { count: prefs.count ? prefs.count : undefined, tx: appliedTx, handling: prefs.handling === 'strict' ? 'strict' : undefined, timezone: prefs.timezone });
            return { status, headers, body: method === 'HEAD' ? null : result.body };
        }
        if (media.kind === 'object' && pageTotal !== 1) throw singularityError(pageTotal);
        if (prefs.handling === 'strict' && prefs.maxAffected !== undefined && (kind === 'update' || kind === 'delete') && pageTotal > prefs.maxAffected) {
            throw new ApiError(400, 'PGRST124', 'Query result exceeds max-affected preference constraint', `The query affects ${pageTotal} rows`);
        }
        const headers = new Headers();
        const representation = prefs.return === 'representation';
        const count = prefs.count ? Number(result.total_result_set ?? pageTotal) : undefined;
        if (kind === 'insert') {
            headers.set('Content-Range', `*/${count ?? '*'}`);
        } else {
            headers.set('Content-Range', pageTotal > 0 && kind !== 'upsert-put' ? `0-${pageTotal - 1}/${count ?? '*'}` : `*/${count ?? '*'}`);
        }
        if (kind === 'insert' && prefs.return === 'headers-only' && rel.pk.length && pageTotal > 0) {
            const loc = locationHeader(rel, result);
            if (loc) headers.set('Location', loc);
        }
        applyPreferenceApplied(headers, {
            // Applied only where there is a conflict target (a primary key or on_conflict).
            resolution: kind === 'insert' && (rel.pk.length || q.onConflict) ? prefs.resolution : undefined,
            missing: kind === 'insert' || kind === 'upsert-put' ? prefs.missing : undefined,
            return: prefs.return,
            count: prefs.count,
            tx: appliedTx,
            handling: prefs.handling === 'strict' ? 'strict' : undefined,
            timezone: prefs.timezone,
            maxAffected: prefs.handling === 'strict' && (kind === 'update' || kind === 'delete') ? prefs.maxAffected : undefined,
        });
        // PostgREST (v12+): a merging upsert that inserted nothing is 200, not 201; PUT is
        // 201 when it inserted the row, 200 when it replaced it (204 without a body).
        const inserted = result.inserted !== undefined && result.inserted !== null ? Number(result.inserted) : pageTotal;
        let status: number;
        if (kind === 'insert') status = prefs.resolution === 'merge-duplicates' && inserted <= 0 ? 200 : 201;
        else if (kind === 'upsert-put') status = representation ? (inserted > 0 ? 201 : 200) : 204;
        else status = representation ? 200 : 204;
        if (representation) {
            headers.set('Content-Type', contentTypeOf(media));
            return { status, headers, body: result.body };
        }
        return { status, headers, body: null };
    }, stmt, prefs, media, url.pathname);
}

function locationHeader(rel: Relation, result: StatementResult): string | null {
    if (!result.body) return null;
    const row = JSON.parse(result.body) as Record<string, unknown> | null;
    if (!row) return null;
    return `/${rel.name}?` + rel.pk.map((k) => `${k}=eq.${encodeURIComponent(String(row[k]))}`).join('&');
}

function validatePut(rel: Relation, q: QueryParams, rows: JsonRows, isArray: boolean): void {
    if (q.limits.length || q.offsets.length) {
        throw new ApiError(400, 'PGRST114', 'Range header and limit/offset querystring parameters are not allowed for PUT');
    }
    const pk = rel.pk;
    const eqFilters = q.filters.filter((f) => !f.path.length);
    const ok =
        pk.length > 0 &&
        eqFilters.length === pk.length &&
        eqFilters.every((f) => f.filter.expr.kind === 'simple' && f.filter.expr.op === 'eq' && !f.filter.negated && !f.filter.expr.quantifier && pk.includes(f.filter.field.name)) &&
        new Set(eqFilters.map((f) => f.filter.field.name)).size === pk.length;
    if (!ok) throw new ApiError(405, 'PGRST105', "Filters must include all and only primary key columns with 'eq' operators");
    if (isArray && rows.length !== 1) throw invalidBody('Payload values do not match URL in primary key column(s)');
    const row = rows[0] ?? {};
    for (const f of eqFilters) {
        const expr = f.filter.expr as { value: string };
        const v = row[f.filter.field.name];
        if (v === undefined || String(v) !== expr.value) {
            throw new ApiError(400, 'PGRST115', 'Payload values do not match URL in primary key column(s)');
        }
    }
}

function offsetOf(q: QueryParams, headers: Headers): number {
    const off = q.offsets.find((o) => !o.path.length)?.value ?? 0;
    let range = 0;
    try {
        range = parseRangeHeader(headers)?.offset ?? 0;
    } catch {
        range = 0;
    }
    return off + range;
}

/** `/table?<query string sorted by key>`, percent-encoded like http-types' renderSimpleQuery. */
function contentLocation(table: string, search: URLSearchParams): string {
    const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    const pairs = [...search].map(([k, v], i) => ({ k, v, i }));
    pairs.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
    const qs = pairs.map(({ k, v }) => `${enc(k)}=${enc(v)}`).join('&');
    return `/${table}${qs ? `?${qs}` : ''}`;
}

function rangeStatus(lower: number, pageTotal: number, total: number | undefined): number {
    if (total === undefined) return 200;
    const upper = lower + pageTotal - 1;
    if (lower > total) return 416;
    if (1 + upper - lower < total) return 206;
    return 200;
}

function contentRange(lower: number, pageTotal: number, total: number | undefined): string {
    const t = total === undefined ? '*' : String(total);
    if (pageTotal <= 0) return `*/${t}`;
    return `${lower}-${lower + pageTotal - 1}/${t}`;
}

function applyPreferenceApplied(
    headers: Headers,
    p: { resolution?: string; missing?: string; return?: string; count?: string; tx?: string; handling?: string; timezone?: string; maxAffected?: number },
): void {
    const values: string[] = [];
    if (p.resolution) values.push(`resolution=${p.resolution}`);
    if (p.missing) values.push(`missing=${p.missing}`);
    if (p.return) values.push(`return=${p.return}`);
    if (p.count) values.push(`count=${p.count}`);
    if (p.tx) values.push(`tx=${p.tx}`);
    if (p.handling) values.push(`handling=${p.handling}`);
    if (p.timezone) values.push(`timezone=${p.timezone}`);
    if (p.maxAffected !== undefined) values.push(`max-affected=${p.maxAffected}`);
    if (values.length) headers.set('Preference-Applied', values.join(', '));
}

// ── rpc ─────────────────────────────────────────────────────────────────────────────

/** The kind of an /rpc POST body, by Content-Type (PostgREST takes anything else as JSON). */
function rpcBodyKind(contentType: string): RpcBodyKind {
    switch (contentType) {
        case 'text/plain':
            return 'text';
        case 'text/xml':
            return 'xml';
        case 'application/octet-stream':
            return 'octet';
        case 'application/x-www-form-urlencoded':
            return 'form';
        default:
            return 'json';
    }
}

interface RpcArguments {
    /** Argument names (PostgREST's payload keys). */
    keys: Set<string>;
    /** JSON holding the named arguments: an object, or an array whose first object counts. */
    argsJson: string;
    /** The whole body, for a function with a single unnamed parameter. */
    wholeBody: string | Buffer;
}

/**
 * The arguments of a POST: a JSON object's keys (an array of objects with the same keys
 * counts as its first object; any other JSON value as an empty array, as PostgREST
 * processes payloads), form fields, or a raw text/xml/bytes body with no names at all.
 */
async function postArguments(request: Request, kind: RpcBodyKind, columns: string[] | undefined): Promise<RpcArguments> {
    if (kind === 'octet') return { keys: new Set(), argsJson: '{}', wholeBody: Buffer.from(await request.arrayBuffer()) };
    const text = await request.text();
    if (kind === 'text' || kind === 'xml') return { keys: new Set(), argsJson: '{}', wholeBody: text };
    if (kind === 'form') {
        const json = JSON.stringify(Object.fromEntries(new URLSearchParams(text)));
        return { keys: new Set(new URLSearchParams(text).keys()), argsJson: json, wholeBody: json };
    }
    if (text.trim() === '') return { keys: new Set(), argsJson: '{}', wholeBody: '{}' };
    const value = parseJsonBody(text);
    if (columns) return { keys: new Set(columns), argsJson: text, wholeBody: text };
    if (Array.isArray(value)) {
        if (value.length === 0) return { keys: new Set(), argsJson: '[]', wholeBody: '[]' };
        const first = value[0];
        if (typeof first !== 'object' || first === null || Array.isArray(first)) throw invalidBody('All object keys must match');
        const keys = new Set(Object.keys(first));
        const uniform = value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === keys.size && Object.keys(v).every((k) => keys.has(k)));
        if (!uniform) throw invalidBody('All object keys must match');
        return { keys, argsJson: text, wholeBody: text };
    }
    if (typeof value === 'object' && value !== null) return { keys: new Set(Object.keys(value)), argsJson: text, wholeBody: text };
    // A JSON scalar: PostgREST truncates it to an empty array.
    return { keys: new Set(), argsJson: '[]', wholeBody: '[]' };
}

async function rpcRequest(
    deps: HandlerDeps,
    ctx: PlanContext,
    request: Request,
    url: URL,
    method: string,
    target: Extract<Target, { kind: 'rpc' }>,
    identity: Identity,
    prefs: Preferences,
    rollback: boolean,
    appliedTx: string | undefined,
): Promise<Response> {
    if (!['GET', 'HEAD', 'POST'].includes(method)) throw invalidRpcMethod(method);
    const cache = ctx.cache;
    const overloads = cache.functions.get(relKey(ctx.schema, target.name)) ?? [];
    const post = method === 'POST';
    const bodyKind = rpcBodyKind((request.headers.get('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase());
    let q: QueryParams;
    let input: RpcArguments;
    // GET arguments by name, until the function is known (repeated names may become arrays).
    const getArgs: Record<string, string | string[]> = {};
    if (post) {
        q = parseQueryParams(url.searchParams);
        input = await postArguments(request, bodyKind, q.columns);
    } else {
        const argNames = new Set(overloads.flatMap((f) => f.args.map((a) => a.name)));
        q = parseQueryParams(url.searchParams, (key, value) => argNames.has(key) || !looksLikeFilter(value));
        for (const [k, v] of q.rpcArgs) {
            const prev = getArgs[k];
            getArgs[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        input = { keys: new Set(Object.keys(getArgs)), argsJson: '', wholeBody: '' };
    }
    const fn = findFunction(cache, ctx.schema, target.name, { post, body: bodyKind, keys: input.keys });
    if (!post) {
        // Repeated GET arguments: an array literal for an array parameter, else the last one.
        const args: Record<string, string> = {};
        for (const [k, v] of Object.entries(getArgs)) {
            const type = fn.args.find((a) => a.name === k)?.type;
            args[k] = !Array.isArray(v) ? v : type?.endsWith('[]') ? `{${v.map((x) => `"${x.replace(/(["\\])/g, '\\$1')}"`).join(',')}}` : v[v.length - 1]!;
        }
        input.argsJson = input.wholeBody = JSON.stringify(args);
    }
    const scalarType = fn.returnComposite ? undefined : fn.returnType;
    const media = negotiate(request.headers.get('accept'), fn.returnComposite ? 'rpc-composite' : 'rpc-scalar', scalarType, cache.settings.pgrst.get('db-plan-enabled') === 'true');
    if (prefs.handling === 'strict' && prefs.maxAffected !== undefined && !fn.returnsSet) {
        throw new ApiError(400, 'PGRST128', 'Function must return SETOF or TABLE when max-affected preference is used with handling=strict');
    }
    const call: RpcCall = { fn, keys: input.keys, argsJson: input.argsJson, wholeBody: input.wholeBody };
    const range = method === 'POST' ? undefined : parseRangeHeader(request.headers);
    const shape = media.kind === 'plan' ? negotiate(media.for, fn.returnComposite ? 'rpc-composite' : 'rpc-scalar', scalarType) : media;
    const stmt = rpcStatement(ctx, call, q, prefs, shape, maxRowsOf(deps, ctx.cache), range);
    const readOnly = method === 'GET' || method === 'HEAD' || fn.volatility !== 'v';
    return execute(deps, request, identity, ctx.schema, readOnly, rollback, async (result, planned) => {
        const pageTotal = Number(result.page_total);
        const total = result.total_result_set !== null && result.total_result_set !== '' ? Number(result.total_result_set) : planned;
        if (media.kind === 'object' && fn.returnsSet && pageTotal !== 1) throw singularityError(pageTotal);
        if (prefs.handling === 'strict' && prefs.maxAffected !== undefined && pageTotal > prefs.maxAffected) {
            throw new ApiError(400, 'PGRST124', 'Query result exceeds max-affected preference constraint', `The query affects ${pageTotal} rows`);
        }
        const headers = new Headers();
        applyPreferenceApplied(headers, {
            count: prefs.count,
            tx: appliedTx,
            handling: prefs.handling === 'strict' ? 'strict' : undefined,
            timezone: prefs.timezone,
            maxAffected: prefs.handling === 'strict' ? prefs.maxAffected : undefined,
        });
        if (fn.returnsVoid) {
            headers.set('Content-Range', contentRange(0, pageTotal, total));
            return { status: 204, headers, body: null };
        }
        headers.set('Content-Type', contentTypeOf(media));
        const offset = offsetOf(q, request.headers);
        let status = 200;
        if (fn.returnsSet) {
            status = rangeStatus(offset, pageTotal, total);
            if (status === 416) {
                throw new ApiError(416, 'PGRST103', 'Requested range not satisfiable', `An offset of ${offset} was requested, but there are only ${total} rows.`);
            }
            headers.set('Content-Range', contentRange(offset, pageTotal, total));
        } else {
            headers.set('Content-Range', contentRange(0, pageTotal, total));
        }
        const body = media.kind === 'octet' && result.body !== null ? Buffer.from(result.body, 'hex') : result.body;
        return { status, headers, body: method === 'HEAD' ? null : body };
    }, stmt, prefs, media, url.pathname);
}

// ── execution ───────────────────────────────────────────────────────────────────────

interface Outcome {
    status: number;
    headers: Headers;
    body: string | Buffer | null;
}

function lowerHeaders(request: Request): string {
    const obj: Record<string, string> = {};
    request.headers.forEach((v, k) => {
        obj[k.toLowerCase()] = v;
    });
    return JSON.stringify(obj);
}

function cookies(request: Request): string {
    const obj: Record<string, string> = {};
    const raw = request.headers.get('cookie');
    if (raw) {
        for (const part of raw.split(';')) {
            const eq = part.indexOf('=');
            if (eq > 0) obj[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
        }
    }
    return JSON.stringify(obj);
}

/** Settings every request sets, in this order; role settings and the timezone follow. */
const REQUEST_SETTINGS = ['search_path', 'role', 'request.jwt.claims', 'request.method', 'request.path', 'request.headers', 'request.cookies'];

/** The `select set_config(…)` statement for a list of setting names (few distinct lists exist). */
const settingsStatements = new Map<string, SqlStep>();

function settingsStatement(names: string[]): SqlStep {
    const key = names.join('\u0000');
    let step = settingsStatements.get(key);
    if (!step) {
        const text = `select ${names.map((n, i) => `set_config(${literal(n)}, $${i + 1}, true)`).join(', ')}`;
        step = { text, name: preparedName(text) };
        settingsStatements.set(key, step);
    }
    return step;
}

/** `search_path` of a request to `schema`: the schema, then extra_search_path. */
const searchPaths = new Map<string, string>();

function searchPathOf(deps: HandlerDeps, schema: string): string {
    let path = searchPaths.get(schema);
    if (path === undefined) {
        path = [schema, ...deps.extraSearchPath.filter((s) => s !== schema)].map(ident).join(', ');
        searchPaths.set(schema, path);
    }
    return path;
}

/** The transaction-local settings of PostgREST: visible to RLS policies and functions. */
function requestSettings(deps: HandlerDeps, cache: SchemaCache, request: Request, pathname: string, identity: Identity, schema: string, prefs: Preferences): SqlStep {
    const values: unknown[] = [searchPathOf(deps, schema), identity.role, identity.claimsJson, request.method, pathname, lowerHeaders(request), cookies(request)];
    const roleSettings = cache.settings.perRole.get(identity.role);
    let names = REQUEST_SETTINGS;
    if (roleSettings?.length || prefs.timezone) {
        names = [...REQUEST_SETTINGS];
        for (const [name, value] of roleSettings ?? []) {
            names.push(name);
            values.push(value);
        }
        if (prefs.timezone && cache.timezones.has(prefs.timezone)) {
            names.push('timezone');
            values.push(prefs.timezone);
        } else if (prefs.timezone) {
            prefs.timezone = undefined;
        }
    }
    return { ...settingsStatement(names), values };
}

/** The prepared-statement name of a statement, computed once per (cached) statement. */
function mainStep(stmt: Statement): SqlStep {
    stmt.name ??= preparedName(stmt.sql);
    return { text: stmt.sql, values: stmt.params, name: stmt.name };
}

function explainStep(media: Extract<MediaType, { kind: 'plan' }>, stmt: Statement): SqlStep {
    const opts = [`FORMAT ${media.format.toUpperCase()}`, ...media.options.filter((o) => ['analyze', 'verbose', 'settings', 'buffers', 'wal'].includes(o)).map((o) => o.toUpperCase())];
    return { text: `EXPLAIN (${opts.join(', ')}) ${stmt.sql}`, values: stmt.params };
}

/** The one row every statement returns (statements.ts), by column position. */
function statementResult(row: TextRow | undefined): StatementResult {
    if (!row || row.length < 5) throw new Error('the statement returned no result row');
    return { total_result_set: row[0]!, page_total: row[1]!, body: row[2]!, response_headers: row[3]!, response_status: row[4]!, inserted: row[5] };
}

async function execute(
    deps: HandlerDeps,
    request: Request,
    identity: Identity,
    schema: string,
    readOnly: boolean,
    rollback: boolean,
    respond: (result: StatementResult, planned: number | undefined) => Promise<Outcome> | Outcome,
    stmt: Statement,
    prefs: Preferences,
    media?: MediaType,
    pathname = new URL(request.url).pathname,
): Promise<Response> {
    const cache = await deps.cache();
    const setup = [requestSettings(deps, cache, request, pathname, identity, schema, prefs)];
    const preRequest = cache.settings.pgrst.get('db-pre-request');
    if (preRequest) setup.push({ text: `select ${preRequest.split('.').map(ident).join('.')}()` });
    const tx = await deps.transactions.begin(readOnly).catch((error: Error) => {
        deps.connectionFailed?.(error);
        // pg says "timeout exceeded when trying to connect" when no pooled connection freed up in time.
        if (/timeout exceeded when trying to connect/i.test(error.message)) throw new ApiError(504, 'PGRST003', 'Timed out acquiring connection from connection pool.');
        throw new ApiError(503, 'PGRST000', 'Database connection error. Retrying the connection.', error.message);
    });
    try {
        if (media?.kind === 'plan') {
            // EXPLAIN ANALYZE runs the statement, and the transaction ends as the request's
            // would (commit, unless Prefer: tx=rollback), as in PostgREST. The plan as
            // Postgres prints it: one JSON document, or one text line per row.
            const rows = await tx.run(setup, explainStep(media, stmt), rollback ? 'rollback' : 'commit');
            const body = rows.map((r) => r[0]).join('\n');
            return httpResponse(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'Content-Type': contentTypeOf(media) } });
        }
        // The end is known before the response is shaped: send it with the statement.
        const endNow = (readOnly || rollback) && !stmt.explainCountSql ? (rollback ? 'rollback' : 'commit') : undefined;
        const row = statementResult((await tx.run(setup, mainStep(stmt), endNow))[0]);
        let planned: number | undefined;
        if (stmt.explainCountSql) {
            // estimated: the exact count up to max_rows, the planner's estimate beyond it.
            const exact = row.total_result_set !== null ? Number(row.total_result_set) : undefined;
            const maxRows = maxRowsOf(deps, cache);
            if (prefs.count === 'estimated' && exact !== undefined && (maxRows === undefined || exact <= maxRows)) planned = exact;
            else planned = await plannedCount(tx, stmt);
            row.total_result_set = null;
        }
        const outcome = await respond(row, planned);
        applyGucOverrides(outcome, row);
        await tx.end(rollback ? 'rollback' : 'commit');
        if (request.method === 'HEAD') outcome.body = null;
        if (deps.schemas.length > 1) outcome.headers.set('Content-Profile', schema);
        return httpResponse(outcome.body, { status: outcome.status, headers: outcome.headers });
    } catch (error) {
        if (error instanceof ApiError) throw error;
        const pgErr = error as { code?: string; message: string; detail?: string; hint?: string };
        if (isConnectionError(error)) deps.connectionFailed?.(error);
        // A backend that outlives a killed postmaster ends its session with 57P01 "terminating
        // connection due to unexpected postmaster exit": the server is gone, not answering.
        const serverGone = pgErr?.code === '57P01' && /unexpected postmaster exit/i.test(pgErr.message ?? '');
        // A SQLSTATE (even 57P01 on `drop database … with (force)`) is the server's answer, mapped as PostgREST does.
        if (!serverGone && pgErr && typeof pgErr.code === 'string' && /^[0-9A-Z]{5}$/.test(pgErr.code)) throw fromPgError(pgErr, identity.authenticated);
        // The connection broke mid-request (Postgres killed or restarting): PostgREST's client error.
        if (isConnectionError(error)) throw new ApiError(503, 'PGRST001', 'Database client error. Retrying the connection.', pgErr.message);
        throw error;
    } finally {
        await tx.release();
    }
}

async function plannedCount(tx: RequestTransaction, stmt: Statement): Promise<number | undefined> {
    const rows = await tx.query({ text: stmt.explainCountSql!, values: stmt.explainCountParams ?? [] });
    const plan = rows[0]?.['QUERY PLAN'];
    const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan?: { 'Plan Rows'?: number } }[];
    return parsed?.[0]?.Plan?.['Plan Rows'];
}

function applyGucOverrides(outcome: Outcome, row: StatementResult): void {
    if (row.response_headers) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(row.response_headers);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((h) => typeof h === 'object' && h !== null && !Array.isArray(h))) {
            throw new ApiError(500, 'PGRST111', 'response.headers guc must be a JSON array composed of objects with a single key and a string value');
        }
        for (const h of parsed as Record<string, unknown>[]) {
            for (const [k, v] of Object.entries(h)) {
                if (k.toLowerCase() === 'set-cookie') outcome.headers.append(k, String(v));
                else outcome.headers.set(k, String(v));
            }
        }
    }
    if (row.response_status) {
        const status = Number(row.response_status);
        if (!Number.isInteger(status) || status < 100 || status > 599) {
            throw new ApiError(500, 'PGRST112', 'response.status guc must be a valid status code');
        }
        outcome.status = status;
    }
}

export type { MediaType };
