// Builds the one SQL statement of a request (read, insert/upsert, update, delete, rpc call)
// from the parsed request and the schema cache. The statement always returns one row:
// total_result_set, page_total, body, response_headers, response_status.
import type { QueryParams } from './api-request.js';
import { ApiError, columnNotFound, invalidBody } from './errors.js';
import type { MediaType, Preferences } from './negotiation.js';
import {
    addFilter,
    buildReadTree,
    countQuery,
    nodeAt,
    nodeQuery,
    orderSql,
    whereConditions,
    type PlanContext,
    type ReadNode,
    type RootSource,
} from './read-plan.js';
import { takesWholeBody } from './call-plan.js';
import type { PgFunction, Relation } from './schema-cache.js';
import { ident, literal, Params } from './sql.js';

export interface Statement {
    sql: string;
    params: unknown[];
    /** Separate statement for planned/estimated counts (EXPLAIN of the count query). */
    explainCountSql?: string;
    explainCountParams?: unknown[];
    singleScalar?: boolean;
    /** Prepared-statement name of `sql`, set when first run (cached statements keep it). */
    name?: string;
    /** The statement returns a sixth column, `inserted`: rows an upsert inserted rather than updated. */
    countsInserted?: boolean;
}

const RESPONSE_GUCS = `nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status`;

export function bodyExpression(media: MediaType, kind: 'rows' | 'scalar' | 'single-scalar' | 'single-row'): string {
    if (kind === 'scalar' || kind === 'single-scalar') {
        if (media.kind === 'text' || media.kind === 'xml') return `coalesce(string_agg(_postgrest_t.pgrst_scalar::text, ''), '')`;
        // Bytes leave Postgres as hex (the body is text) and are decoded before they are sent.
        if (media.kind === 'octet') return `coalesce(string_agg(encode(_postgrest_t.pgrst_scalar::bytea, 'hex'), ''), '')`;
        if (kind === 'single-scalar' && media.kind !== 'object') return `coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, 'null')`;
        if (media.kind === 'object') return `coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, 'null')`;
        return `coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text`;
    }
    switch (media.kind) {
        case 'object':
            return media.stripNulls
                ? `coalesce((json_agg(json_strip_nulls(row_to_json(_postgrest_t)))->0)::text, 'null')`
                : `coalesce((json_agg(_postgrest_t)->0)::text, 'null')`;
        case 'array-stripped':
            return kind === 'single-row'
                ? `coalesce((json_agg(json_strip_nulls(row_to_json(_postgrest_t)))->0)::text, 'null')`
                : `coalesce(json_agg(json_strip_nulls(row_to_json(_postgrest_t))), '[]')::text`;
        case 'csv':
            return (
                `(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r)::text as k FROM (SELECT row_to_json(hh) as r from pgrst_source as hh limit 1) s) a)` +
                ` || chr(10) || coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), chr(10)), '')`
            );
        case 'geojson':
            return `json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(_postgrest_t)::json), '[]'))::text`;
        default:
            return kind === 'single-row' ? `coalesce((json_agg(_postgrest_t)->0)::text, 'null')` : `coalesce(json_agg(_postgrest_t), '[]')::text`;
    }
}

function wrap(source: string, total: string, body: string, inner = 'SELECT * FROM pgrst_source'): string {
    return `WITH pgrst_source AS ( ${source} ) SELECT ${total} AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ${body} AS body, ${RESPONSE_GUCS} FROM ( ${inner} ) _postgrest_t`;
}

/**
 * `wrap` for an upsert that also answers how many rows it inserted (a sixth column,
 * `inserted`): the mutation's rows carry `pgrst_inserted`, the source drops it.
 */
function wrapCountingInserts(mutation: string, sourceColumns: string, total: string, body: string, inner: string): string {
    return (
        `WITH pgrst_mutation AS ( ${mutation} ), pgrst_source AS ( SELECT ${sourceColumns} FROM pgrst_mutation ) ` +
        `SELECT ${total} AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ${body} AS body, ${RESPONSE_GUCS}, ` +
        `(SELECT pg_catalog.count(*) FROM pgrst_mutation WHERE pgrst_inserted) AS inserted FROM ( ${inner} ) _postgrest_t`
    );
}

/** Applies filters/logic/order/limit/offset of the query string to the tree. */
export function applyQueryParams(root: ReadNode, q: QueryParams, maxRows: number | undefined, range: { offset: number; limit?: number } | undefined): void {
    for (const { path, filter } of q.filters) addFilter(root, path, filter);
    for (const { path, tree } of q.logic) nodeAt(root, path).logic.push(tree);
    for (const { path, terms } of q.order) nodeAt(root, path).order.push(...terms);
    for (const { path, value } of q.limits) nodeAt(root, path).limit = value;
    for (const { path, value } of q.offsets) nodeAt(root, path).offset = value;
    if (range) {
        const off = root.offset ?? 0;
        root.offset = off + range.offset;
        if (range.limit !== undefined) root.limit = root.limit === undefined ? range.limit : Math.min(root.limit, Math.max(0, range.limit));
    }
    if (maxRows !== undefined && (root.limit === undefined || root.limit > maxRows)) root.limit = maxRows;
}

export function countExpression(root: ReadNode, params: Params, prefs: Preferences, from?: string): string {
    if (prefs.count === 'exact' || prefs.count === 'estimated') return `(SELECT pg_catalog.count(*) FROM (${countQuery(root, params, from)}) pgrst_source_count)`;
    return 'null::bigint';
}

/** A table as the root of a read tree: by default the table itself, or a CTE standing for its rows. */
function tableSource(rel: Relation, as?: { from: string; ref: string }): RootSource {
    const qualified = `${ident(rel.schema)}.${ident(rel.name)}`;
    return { rel, columnNames: rel.columns.map((c) => c.name), name: rel.name, from: as?.from ?? qualified, ref: as?.ref ?? qualified };
}

// ── read ────────────────────────────────────────────────────────────────────────────

export function readStatement(ctx: PlanContext, rel: Relation, q: QueryParams, prefs: Preferences, media: MediaType, maxRows: number | undefined, range: { offset: number; limit?: number } | undefined): Statement {
    const source = tableSource(rel);
    const root = buildReadTree(ctx, source, q.select);
    applyQueryParams(root, q, maxRows, range);
    const params = new Params();
    const main = nodeQuery(root, params, true);
    const total = countExpression(root, params, prefs);
    const stmt: Statement = { sql: wrap(main, total, bodyExpression(media, 'rows')), params: params.values };
    if (prefs.count === 'planned' || prefs.count === 'estimated') {
        const p2 = new Params();
        stmt.explainCountSql = `EXPLAIN (FORMAT JSON) ${countQuery(root, p2)}`;
        stmt.explainCountParams = p2.values;
    }
    return stmt;
}

// ── mutations ───────────────────────────────────────────────────────────────────────

export type JsonRows = Record<string, unknown>[];

export interface MutationInput {
    rel: Relation;
    q: QueryParams;
    prefs: Preferences;
    media: MediaType;
    body: unknown;
    /** Whether the body was an array (affects nothing but validation). */
}

function ensureColumns(rel: Relation, columns: string[]): void {
    for (const c of columns) if (!rel.columnsByName.has(c)) throw columnNotFound(c, rel.name);
}

/** Keys of the payload: `columns=` if given, else keys of the first object (all must match). */
export function payloadColumns(rel: Relation, q: QueryParams, rows: JsonRows, isArray: boolean): string[] {
    if (q.columns) {
        ensureColumns(rel, q.columns);
        return q.columns;
    }
    if (!rows.length) return [];
    const first = Object.keys(rows[0]!);
    if (isArray) {
        const set = new Set(first);
        for (const r of rows) {
            const keys = Object.keys(r);
            if (keys.length !== set.size || keys.some((k) => !set.has(k))) throw invalidBody('All object keys must match');
        }
    }
    ensureColumns(rel, first);
    return first;
}

function returningClause(rel: Relation, representation: boolean): string {
    return representation ? `RETURNING ${ident(rel.schema)}.${ident(rel.name)}.*` : 'RETURNING 1';
}

function outputSelect(ctx: PlanContext, rel: Relation, q: QueryParams, representation: boolean, params: Params): { inner: string; root: ReadNode | undefined } {
    if (!representation) return { inner: 'SELECT 1 FROM pgrst_source', root: undefined };
    const source = tableSource(rel, { from: `pgrst_source AS ${ident(rel.name)}`, ref: ident(rel.name) });
    const root = buildReadTree(ctx, source, q.select);
    // Filters on embedded levels still apply to the representation.
    for (const { path, filter } of q.filters) if (path.length) addFilter(root, path, filter);
    for (const { path, tree } of q.logic) if (path.length) nodeAt(root, path).logic.push(tree);
    for (const { path, terms } of q.order) nodeAt(root, path).order.push(...terms);
    for (const { path, value } of q.limits) if (path.length) nodeAt(root, path).limit = value;
    for (const { path, value } of q.offsets) if (path.length) nodeAt(root, path).offset = value;
    return { inner: nodeQuery(root, params, true), root };
}

export function insertStatement(ctx: PlanContext, input: MutationInput, rows: JsonRows, isArray: boolean, put: boolean, rawJson?: string): Statement {
    const { rel, q, prefs, media } = input;
    const representation = prefs.return === 'representation' || (prefs.return === 'headers-only' && !!rel.pk.length);
    const params = new Params();
    const columns = payloadColumns(rel, q, rows, isArray);
    const table = `${ident(rel.schema)}.${ident(rel.name)}`;
    const b = params.add(rawJson ?? JSON.stringify(rows));
    // A single object is inserted as a one-element array, like PostgREST's pgrst_uniform_json.
    const body = `(CASE WHEN json_typeof(${b}::json) = 'array' THEN ${b}::json ELSE json_build_array(${b}::json) END)`;
    let values: string;
    if (prefs.missing === 'default' && columns.length) {
        values = columns
            .map((c) => {
                const col = rel.columnsByName.get(c)!;
                const dflt = col.insertDefault ?? 'NULL';
                return `CASE WHEN pgrst_el.j ? ${literal(c)} THEN pgrst_body.${ident(c)} ELSE ${dflt} END`;
            })
            .join(', ');
        values = `SELECT ${values} FROM jsonb_array_elements(${body}::jsonb) AS pgrst_el(j), LATERAL jsonb_populate_record(null::${table}, pgrst_el.j) AS pgrst_body`;
    } else {
        values = `SELECT ${columns.map((c) => `pgrst_body.${ident(c)}`).join(', ')} FROM json_populate_recordset(null::${table}, ${body}::json) AS pgrst_body`;
    }
    let sql = `INSERT INTO ${table}${columns.length ? `(${columns.map(ident).join(', ')})` : ''} ${values}`;
    const resolution = put ? 'merge-duplicates' : prefs.resolution;
    let countInserted = false;
    if (resolution) {
        const conflict = q.onConflict ?? rel.pk;
        if (conflict.length) {
            countInserted = resolution === 'merge-duplicates';
            ensureColumns(rel, conflict);
            if (resolution === 'ignore-duplicates') {
                sql += ` ON CONFLICT(${conflict.map(ident).join(', ')}) DO NOTHING`;
            } else {
                const set = columns.filter((c) => !conflict.includes(c) || true);
                sql += set.length
                    ? ` ON CONFLICT(${conflict.map(ident).join(', ')}) DO UPDATE SET ${set.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(', ')}`
                    : ` ON CONFLICT(${conflict.map(ident).join(', ')}) DO NOTHING`;
            }
        }
    } else if (q.onConflict) {
        ensureColumns(rel, q.onConflict);
    }
    // A merging upsert answers 200 instead of 201 when it inserted nothing: a row it
    // inserted (rather than updated) has no xmax yet.
    sql += ' ' + returningClause(rel, representation) + (countInserted ? `, (${table}.xmax = 0) AS pgrst_inserted` : '');
    const out = outputSelect(ctx, rel, q, prefs.return === 'representation', params);
    let bodyExpr = prefs.return === 'representation' ? bodyExpression(media, 'rows') : `''`;
    if (prefs.return === 'headers-only' && rel.pk.length) {
        // The Location header names the first inserted row by its primary key.
        out.inner = `SELECT ${rel.pk.map(ident).join(', ')} FROM pgrst_source`;
        bodyExpr = `coalesce((json_agg(_postgrest_t)->0)::text, 'null')`;
    }
    const total = prefs.count ? `(SELECT pg_catalog.count(*) FROM pgrst_source)` : `null::bigint`;
    if (!countInserted) return { sql: wrap(sql, total, bodyExpr, out.inner), params: params.values };
    const sourceColumns = representation ? rel.columns.map((c) => ident(c.name)).join(', ') : '1';
    return { sql: wrapCountingInserts(sql, sourceColumns, total, bodyExpr, out.inner), params: params.values, countsInserted: true };
}

/**
 * WHERE clause of PATCH/DELETE (ctid-restricted when a limit is given). Supabase loads
 * pg-safeupdate for the API's connections, so a statement without WHERE fails with 21000.
 */
function mutationWhere(ctx: PlanContext, rel: Relation, q: QueryParams, params: Params, verb: 'UPDATE' | 'DELETE'): string {
    const source = tableSource(rel);
    const node = buildReadTree(ctx, source, [{ kind: 'star' }]);
    for (const { path, filter } of q.filters) if (!path.length) addFilter(node, path, filter);
    for (const { path, tree } of q.logic) if (!path.length) node.logic.push(tree);
    for (const { path, terms } of q.order) if (!path.length) node.order.push(...terms);
    const rootLimit = q.limits.find((l) => !l.path.length)?.value;
    const rootOffset = q.offsets.find((l) => !l.path.length)?.value;
    const conds = whereConditions(node, params, (n, c) => n.rel?.columnsByName.get(c)?.typeName);
    if (rootLimit !== undefined || rootOffset !== undefined) {
        let sub = `SELECT ${source.ref}.ctid FROM ${source.from}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}${orderSql(node)}`;
        if (rootLimit !== undefined) sub += ` LIMIT ${rootLimit}`;
        if (rootOffset) sub += ` OFFSET ${rootOffset}`;
        return ` WHERE ${source.ref}.ctid = ANY(ARRAY(${sub}))`;
    }
    if (!conds.length) throw new ApiError(400, '21000', `${verb} requires a WHERE clause`);
    return ` WHERE ${conds.join(' AND ')}`;
}

export function updateStatement(ctx: PlanContext, input: MutationInput, row: Record<string, unknown>, rawJson?: string): Statement {
    const { rel, q, prefs, media } = input;
    const representation = prefs.return === 'representation';
    const params = new Params();
    const columns = q.columns ?? Object.keys(row);
    ensureColumns(rel, columns);
    const table = `${ident(rel.schema)}.${ident(rel.name)}`;
    const bodyExpr = representation ? bodyExpression(media, 'rows') : `''`;
    const total = prefs.count ? `(SELECT pg_catalog.count(*) FROM pgrst_source)` : `null::bigint`;
    if (!columns.length) {
        // Nothing to set: PostgREST answers as if no row matched.
        const out = outputSelect(ctx, rel, q, representation, params);
        const sql = `SELECT ${table}.* FROM ${table} WHERE false`;
        return { sql: wrap(sql, total, bodyExpr, out.inner), params: params.values };
    }
    const body = params.add(rawJson ?? JSON.stringify(row));
    const where = mutationWhere(ctx, rel, q, params, 'UPDATE');
    const set = columns.map((c) => `${ident(c)} = pgrst_body.${ident(c)}`).join(', ');
    const sql = `UPDATE ${table} SET ${set} FROM (SELECT * FROM json_populate_record(null::${table}, ${body}::json)) AS pgrst_body${where} ${returningClause(rel, representation)}`;
    const out = outputSelect(ctx, rel, q, representation, params);
    return { sql: wrap(sql, total, bodyExpr, out.inner), params: params.values };
}

export function deleteStatement(ctx: PlanContext, input: MutationInput): Statement {
    const { rel, q, prefs, media } = input;
    const representation = prefs.return === 'representation';
    const params = new Params();
    const table = `${ident(rel.schema)}.${ident(rel.name)}`;
    const where = mutationWhere(ctx, rel, q, params, 'DELETE');
    const sql = `DELETE FROM ${table}${where} ${returningClause(rel, representation)}`;
    const out = outputSelect(ctx, rel, q, representation, params);
    const bodyExpr = representation ? bodyExpression(media, 'rows') : `''`;
    const total = prefs.count ? `(SELECT pg_catalog.count(*) FROM pgrst_source)` : `null::bigint`;
    return { sql: wrap(sql, total, bodyExpr, out.inner), params: params.values };
}

// ── rpc ─────────────────────────────────────────────────────────────────────────────

export interface RpcCall {
    fn: PgFunction;
    /** Names of the arguments given: the parameters with these names are passed by name. */
    keys: ReadonlySet<string>;
    /** JSON text of the named arguments: an object, or an array whose first object counts. */
    argsJson: string;
    /** The whole body, for a function with a single unnamed parameter (PostgREST's OnePosParam). */
    wholeBody: string | Buffer;
}

export function rpcStatement(
    ctx: PlanContext,
    call: RpcCall,
    q: QueryParams,
    prefs: Preferences,
    media: MediaType,
    maxRows: number | undefined,
    range: { offset: number; limit?: number } | undefined,
): Statement {
    const { fn } = call;
    const params = new Params();
    const fnName = `${ident(fn.schema)}.${ident(fn.name)}`;
    let argsSql = '';
    let fromArgs = '';
    if (takesWholeBody(fn)) {
        // Bytes travel as a binary parameter; everything else as text cast to the parameter's type.
        argsSql = `${params.add(call.wholeBody)}::${fn.args[0]!.type}`;
    } else {
        const provided = fn.args.filter((a) => call.keys.has(a.name));
        if (provided.length) {
            const b = params.add(call.argsJson);
            const columns = provided.map((a) => `${ident(a.name)} ${a.type}`).join(', ');
            // An array of argument objects: the first one is the call (as PostgREST's LIMIT 1).
            fromArgs = call.argsJson.trimStart().startsWith('[')
                ? `(SELECT * FROM json_to_recordset(${b}::json) AS pgrst_args(${columns}) LIMIT 1) AS pgrst_args`
                : `json_to_record(${b}::json) AS pgrst_args(${columns})`;
            argsSql = provided.map((a) => `${a.variadic ? 'VARIADIC ' : ''}${ident(a.name)} := pgrst_args.${ident(a.name)}`).join(', ');
        }
    }
    const call_ = `${fnName}(${argsSql})`;
    const composite = fn.returnComposite && !fn.returnsVoid;
    if (!composite) {
        const from = fromArgs ? ` FROM ${fromArgs}` : '';
        const source = `SELECT ${call_} AS pgrst_scalar${from}`;
        const kind = fn.returnsSet ? 'scalar' : 'single-scalar';
        let total = 'null::bigint';
        if (prefs.count === 'exact') total = `(SELECT pg_catalog.count(*) FROM pgrst_source)`;
        let inner = 'SELECT * FROM pgrst_source';
        if (fn.returnsSet) {
            const lim = q.limits.find((l) => !l.path.length)?.value ?? range?.limit;
            const off = (q.offsets.find((l) => !l.path.length)?.value ?? 0) + (range?.offset ?? 0);
            let effective = lim;
            if (maxRows !== undefined && (effective === undefined || effective > maxRows)) effective = maxRows;
            if (effective !== undefined) inner += ` LIMIT ${effective}`;
            if (off) inner += ` OFFSET ${off}`;
        }
        return { sql: wrap(source, total, bodyExpression(media, kind), inner), params: params.values, singleScalar: !fn.returnsSet };
    }
    const alias = ident(fn.name);
    const columnNames = fn.returnRelation ? fn.returnRelation.columns.map((c) => c.name) : fn.outColumns.map((c) => c.name);
    const from = fromArgs ? `${fromArgs} CROSS JOIN LATERAL ${call_} AS ${alias}` : `${call_} AS ${alias}`;
    const rootSource: RootSource = { rel: fn.returnRelation, columnNames, name: fn.returnRelation?.name ?? fn.name, from, ref: alias };
    const root = buildReadTree(ctx, rootSource, q.select);
    applyQueryParams(root, q, fn.returnsSet ? maxRows : undefined, fn.returnsSet ? range : undefined);
    const main = nodeQuery(root, params, true);
    const total = countExpression(root, params, prefs);
    const kind = fn.returnsSet ? 'rows' : 'single-row';
    const stmt: Statement = { sql: wrap(main, total, bodyExpression(media, kind)), params: params.values };
    if (fn.returnsSet && (prefs.count === 'planned' || prefs.count === 'estimated')) {
        // The EXPLAIN runs the whole call again with its own parameters.
        const rebuilt = rpcStatement(ctx, call, { ...q }, { ...prefs, count: undefined }, media, maxRows, range);
        stmt.explainCountSql = `EXPLAIN (FORMAT JSON) ${rebuilt.sql}`;
        stmt.explainCountParams = rebuilt.params;
    }
    return stmt;
}

