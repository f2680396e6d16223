// One request end to end: identity → target and schema → plan → one transaction as
// authenticator with the transaction-local settings → PostgREST's response (status,
// Content-Range, Preference-Applied, GUC overrides) or its error object.
import type pg from 'pg';
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
import { fuzzyBest } from './fuzzy.js';
import { contentTypeOf, negotiate, parsePrefer, type MediaType, type Preferences } from './negotiation.js';
import { accessibleFrom, accessibleObjectsStatement, openApiDocument } from './openapi.js';
import { PlanCache } from './plan-cache.js';
import { suggestTable, type PlanContext } from './read-plan.js';
import { relKey, type PgFunction, type Relation, type SchemaCache } from './schema-cache.js';
import { ident } from './sql.js';
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

export interface HandlerDeps {
    pool: pg.Pool;
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
        const respond = async (_client: pg.PoolClient, result: StatementResult): Promise<Outcome> => ({
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
const readPlans = new PlanCache<{ q: QueryParams; media: MediaType; stmt: Statement }>();

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
    const input = { rel, q, prefs, media, body: undefined };
    let stmt: Statement;
    let readOnly = false;
    let kind: 'read' | 'insert' | 'update' | 'delete' | 'upsert-put';
    switch (method) {
        case 'GET':
        case 'HEAD': {
            readOnly = true;
            kind = 'read';
            if (cached) {
                stmt = cached.stmt;
            } else {
                const range = parseRangeHeader(request.headers);
                stmt = readStatement(ctx, rel, q, prefs, media, maxRowsOf(deps, ctx.cache), range);
                readPlans.set(ctx.cache, readKey!, { q, media, stmt });
            }
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

    return execute(deps, request, identity, ctx.schema, readOnly, rollback, async (client, result, planned) => {
        const pageTotal = Number(result.page_total);
        const total = result.total_result_set !== null && result.total_result_set !== '' ? Number(result.total_result_set) : planned;
        if (kind === 'read') {
            if (media.kind === 'object' && pageTotal !== 1) throw singularityError(pageTotal);
            const offset = offsetOf(q, request.headers);
            const headers = new Headers({ 'Content-Type': contentTypeOf(media) });
            const status = rangeStatus(offset, pageTotal, total);
            if (status === 416) {
                throw new ApiError(416, 'PGRST103', 'Requested range not satisfiable', `An offset of ${offset} was requested, but there are only ${total} rows.`, null, {
                    'Content-Range': `*/${total}`,
                });
            }
            headers.set('Content-Range', contentRange(offset, pageTotal, total));
            headers.set('Content-Location', contentLocation(rel.name, url.searchParams));
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
            const loc = await locationHeader(client, rel, result);
            if (loc) headers.set('Location', loc);
        }
        applyPreferenceApplied(headers, {
            resolution: kind === 'insert' ? prefs.resolution : undefined,
            missing: kind === 'insert' || kind === 'upsert-put' ? prefs.missing : undefined,
            return: prefs.return,
            count: prefs.count,
            tx: appliedTx,
            handling: prefs.handling === 'strict' ? 'strict' : undefined,
            timezone: prefs.timezone,
            maxAffected: prefs.handling === 'strict' && (kind === 'update' || kind === 'delete') ? prefs.maxAffected : undefined,
        });
        let status: number;
        if (kind === 'insert') status = 201;
        else status = representation ? 200 : 204;
        if (representation) {
            headers.set('Content-Type', contentTypeOf(media));
            return { status, headers, body: result.body };
        }
        return { status, headers, body: null };
    }, stmt, prefs, media);
}

async function locationHeader(client: pg.PoolClient, rel: Relation, result: StatementResult): Promise<string | null> {
    void client;
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

function fnSignature(fn: PgFunction): string {
    return `${fn.schema}.${fn.name}(${fn.args.map((a) => `${a.name ? a.name + ' => ' : ''}${a.type}`).join(', ')})`;
}

function resolveFunction(cache: SchemaCache, schema: string, name: string, keys: string[], isPost: boolean, bodyIsObject: boolean, contentType: string): { fn: PgFunction; singleUnnamed: boolean } {
    const overloads = cache.functions.get(relKey(schema, name)) ?? [];
    const keySet = new Set(keys);
    const textLike = contentType === 'text/plain' || contentType === 'text/xml' || contentType === 'application/octet-stream';
    const matches: { fn: PgFunction; singleUnnamed: boolean }[] = [];
    if (!textLike) {
        for (const fn of overloads) {
            const named = fn.args.every((a) => a.name !== '');
            if (!named) continue;
            const argNames = new Set(fn.args.map((a) => a.name));
            if (![...keySet].every((k) => argNames.has(k))) continue;
            if (!fn.args.every((a) => a.hasDefault || keySet.has(a.name))) continue;
            matches.push({ fn, singleUnnamed: false });
        }
    }
    if (!matches.length && isPost) {
        for (const fn of overloads) {
            if (fn.args.length !== 1 || fn.args[0]!.name !== '') continue;
            const t = fn.args[0]!.type;
            const ok = textLike
                ? (contentType === 'text/plain' && t === 'text') || (contentType === 'text/xml' && t === 'xml') || (contentType === 'application/octet-stream' && t === 'bytea')
                : t === 'json' || t === 'jsonb';
            if (ok) matches.push({ fn, singleUnnamed: true });
        }
    }
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
        throw new ApiError(
            300,
            'PGRST203',
            `Could not choose the best candidate function between: ${matches.map((m) => fnSignature(m.fn)).join(', ')}`,
            null,
            'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
        );
    }
    const sorted = [...keys].sort();
    const qualifiedName = `${schema}.${name}`;
    const prmsMsg = sorted.length ? `(${sorted.join(', ')})` : ' without parameters';
    const onlySingle = isPost && textLike;
    const message = `Could not find the function ${qualifiedName}${onlySingle ? `(${contentType === 'text/plain' ? 'text' : contentType === 'text/xml' ? 'xml' : 'bytea'})` : prmsMsg} in the schema cache`;
    let details: string;
    if (onlySingle) {
        details = `Searched for the function ${qualifiedName} with a single unnamed ${contentType === 'text/plain' ? 'text' : contentType === 'text/xml' ? 'xml' : 'bytea'} parameter, but no matches were found in the schema cache.`;
    } else {
        const withParams = sorted.length ? ` with parameter${sorted.length > 1 ? 's' : ''} ${sorted.join(', ')}` : ' without parameters';
        details = `Searched for the function ${qualifiedName}${withParams}${isPost ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`;
    }
    let hint: string | null = null;
    if (overloads.length) {
        const listToText = (names: string[]) => `(${[...names].sort().join(', ')})`;
        const options = overloads.map((f) => listToText(f.args.map((a) => a.name)));
        const best = fuzzyBest(options, listToText(sorted));
        if (best !== null) hint = `Perhaps you meant to call the function ${qualifiedName}${best}`;
    } else {
        const names = [...cache.functions.keys()].map((k) => k.split('\u0000')).filter(([s]) => s === schema).map(([, n]) => n!);
        const best = fuzzyBest(names, name);
        if (best) hint = `Perhaps you meant to call the function ${schema}.${best}`;
    }
    throw new ApiError(404, 'PGRST202', message, details, hint);
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
    const argNames = new Set(overloads.flatMap((f) => f.args.map((a) => a.name)));
    let args: Record<string, unknown> = {};
    let rawBody: unknown;
    let rawJson: string | undefined;
    let bodyIsObject = true;
    const contentType = (request.headers.get('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    let q: QueryParams;
    if (method === 'POST') {
        q = parseQueryParams(url.searchParams);
        const text = await request.text();
        if (contentType === 'text/plain' || contentType === 'text/xml' || contentType === 'application/octet-stream') {
            rawBody = text;
            bodyIsObject = false;
        } else if (contentType === 'application/x-www-form-urlencoded') {
            args = Object.fromEntries(new URLSearchParams(text));
            rawBody = args;
        } else {
            const value = text.trim() === '' ? {} : parseJsonBody(text);
            rawBody = value;
            rawJson = text.trim() === '' ? undefined : text;
            if (typeof value === 'object' && value !== null && !Array.isArray(value)) args = value as Record<string, unknown>;
            else bodyIsObject = false;
        }
    } else {
        q = parseQueryParams(url.searchParams, (key, value) => argNames.has(key) || !looksLikeFilter(value));
        for (const [k, v] of q.rpcArgs) {
            if (k in args) {
                const prev = args[k];
                args[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
            } else args[k] = v;
        }
    }
    const keys = bodyIsObject ? Object.keys(args) : [];
    const { fn, singleUnnamed } = resolveFunction(cache, ctx.schema, target.name, keys, method === 'POST', bodyIsObject, contentType);
    if (!singleUnnamed && !bodyIsObject && method === 'POST') {
        // An array body on a named-argument function
        throw invalidBody('Empty or invalid json');
    }
    // Repeated GET args become arrays for array-typed parameters (`{a,b}` literal).
    if (method !== 'POST') {
        for (const a of fn.args) {
            const v = args[a.name];
            if (Array.isArray(v)) args[a.name] = a.type.endsWith('[]') ? `{${v.map((x) => `"${String(x).replace(/(["\\])/g, '\\$1')}"`).join(',')}}` : v[v.length - 1];
        }
    }
    const scalarType = fn.returnComposite ? undefined : fn.returnType;
    const media = negotiate(request.headers.get('accept'), fn.returnComposite ? 'rpc-composite' : 'rpc-scalar', scalarType, cache.settings.pgrst.get('db-plan-enabled') === 'true');
    if (prefs.handling === 'strict' && prefs.maxAffected !== undefined && !fn.returnsSet) {
        throw new ApiError(400, 'PGRST128', 'Function must return SETOF or TABLE when max-affected preference is used with handling=strict');
    }
    const call: RpcCall = { fn, args, rawBody, ...(rawJson !== undefined ? { rawJson } : {}), singleUnnamed };
    const range = method === 'POST' ? undefined : parseRangeHeader(request.headers);
    const stmt = rpcStatement(ctx, call, q, prefs, media, maxRowsOf(deps, ctx.cache), range);
    const readOnly = method === 'GET' || method === 'HEAD' || fn.volatility !== 'v';
    return execute(deps, request, identity, ctx.schema, readOnly, rollback, async (_client, result, planned) => {
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
        return { status, headers, body: method === 'HEAD' ? null : result.body };
    }, stmt, prefs, media);
}

// ── execution ───────────────────────────────────────────────────────────────────────

interface Outcome {
    status: number;
    headers: Headers;
    body: string | null;
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

async function execute(
    deps: HandlerDeps,
    request: Request,
    identity: Identity,
    schema: string,
    readOnly: boolean,
    rollback: boolean,
    respond: (client: pg.PoolClient, result: StatementResult, planned: number | undefined) => Promise<Outcome>,
    stmt: Statement,
    prefs: Preferences,
    media?: MediaType,
): Promise<Response> {
    const cache = await deps.cache();
    const client = await deps.pool.connect().catch((error: Error) => {
        deps.connectionFailed?.(error);
        // pg says "timeout exceeded when trying to connect" when no pooled connection freed up in time.
        if (/timeout exceeded when trying to connect/i.test(error.message)) throw new ApiError(504, 'PGRST003', 'Timed out acquiring connection from connection pool.');
        throw new ApiError(503, 'PGRST000', 'Database connection error. Retrying the connection.', error.message);
    });
    let released = false;
    const release = (destroy?: boolean) => {
        if (!released) {
            released = true;
            client.release(destroy);
        }
    };
    try {
        await client.query(readOnly ? 'BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY' : 'BEGIN ISOLATION LEVEL READ COMMITTED');
        let outcome: Outcome;
        try {
            const searchPath = [schema, ...deps.extraSearchPath.filter((s) => s !== schema)].map(ident).join(', ');
            const names = ['search_path', 'role', 'request.jwt.claims', 'request.method', 'request.path', 'request.headers', 'request.cookies'];
            const values: unknown[] = [
                searchPath,
                identity.role,
                JSON.stringify(identity.claims),
                request.method,
                new URL(request.url).pathname,
                lowerHeaders(request),
                cookies(request),
            ];
            for (const [name, value] of cache.settings.perRole.get(identity.role) ?? []) {
                names.push(name);
                values.push(value);
            }
            if (prefs.timezone && cache.timezones.has(prefs.timezone)) {
                names.push('timezone');
                values.push(prefs.timezone);
            } else if (prefs.timezone) {
                prefs.timezone = undefined;
            }
            await client.query(`select ${names.map((n, i) => `set_config('${n.replaceAll("'", "''")}', $${i + 1}, true)`).join(', ')}`, values);
            const preRequest = cache.settings.pgrst.get('db-pre-request');
            if (preRequest) {
                const parts = preRequest.split('.');
                await client.query(`select ${parts.map(ident).join('.')}()`);
            }
            if (media?.kind === 'plan') {
                const opts = [`FORMAT ${media.format.toUpperCase()}`, ...media.options.filter((o) => ['analyze', 'verbose', 'settings', 'buffers', 'wal'].includes(o)).map((o) => o.toUpperCase())];
                const res = await client.query({ text: `EXPLAIN (${opts.join(', ')}) ${stmt.sql}`, values: stmt.params });
                const body =
                    media.format === 'json'
                        ? JSON.stringify(typeof res.rows[0]?.['QUERY PLAN'] === 'string' ? JSON.parse(res.rows[0]['QUERY PLAN']) : res.rows[0]?.['QUERY PLAN'])
                        : res.rows.map((r: Record<string, unknown>) => r['QUERY PLAN']).join('\n');
                await client.query('ROLLBACK');
                release();
                return httpResponse(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'Content-Type': contentTypeOf(media) } });
            }
            const res = await client.query<StatementResult>({ text: stmt.sql, values: stmt.params });
            const row = res.rows[0]!;
            let planned: number | undefined;
            if (stmt.explainCountSql) {
                // estimated: the exact count up to max_rows, the planner's estimate beyond it.
                const exact = row.total_result_set !== null ? Number(row.total_result_set) : undefined;
                if (prefs.count === 'estimated' && exact !== undefined && (maxRowsOf(deps, cache) === undefined || exact <= maxRowsOf(deps, cache)!)) planned = exact;
                else planned = await plannedCount(client, stmt);
                row.total_result_set = null;
            }
            outcome = await respond(client, row, planned);
            applyGucOverrides(outcome, row);
            if (readOnly && !rollback) {
                // Nothing to make durable: answer without waiting for the COMMIT round trip.
                // The pool hands the connection out again with the COMMIT queued first.
                client.query('COMMIT').catch(() => {});
            } else if (rollback) await client.query('ROLLBACK');
            else await client.query('COMMIT');
        } catch (error) {
            await client.query('ROLLBACK').catch(() => release(true));
            throw error;
        }
        release();
        if (request.method === 'HEAD') outcome.body = null;
        if (deps.schemas.length > 1) outcome.headers.set('Content-Profile', schema);
        return httpResponse(outcome.body, { status: outcome.status, headers: outcome.headers });
    } catch (error) {
        // A failure without SQLSTATE means the connection itself broke: do not reuse it.
        release(!(error instanceof ApiError) && typeof (error as { code?: unknown })?.code !== 'string');
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
    }
}

async function plannedCount(client: pg.PoolClient, stmt: Statement): Promise<number | undefined> {
    const res = await client.query<{ 'QUERY PLAN': unknown }>({ text: stmt.explainCountSql!, values: stmt.explainCountParams ?? [] });
    const plan = res.rows[0]?.['QUERY PLAN'];
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
