// The root endpoint: a Swagger 2.0 description of the exposed schema, shaped like
// PostgREST's (paths per table and function, definitions per table). As PostgREST's default
// openapi-mode `follow-privileges`, it lists only what the request's role may use: the
// statement below runs in the request's transaction, after `set role`, and asks Postgres
// which relations and functions that role holds privileges on.
import type { SchemaCache } from './schema-cache.js';
import type { Statement } from './statements.js';

/** Relation and function oids of `schema` the current role may use (PostgREST's accessibleTables / accessibleFuncs). */
export function accessibleObjectsStatement(schema: string): Statement {
    return {
        // Columns in the order every statement returns them (total, page total, body, headers, status).
        sql: `select null as total_result_set, '0' as page_total,
                json_build_object(
                    'relations', coalesce((
                        select json_agg(c.oid::int8)
                        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                        where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'f', 'p')
                          and (pg_catalog.pg_has_role(c.relowner, 'USAGE')
                               or pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                               or pg_catalog.has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))), '[]'),
                    'functions', coalesce((
                        select json_agg(p.oid::int8)
                        from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                        where n.nspname = $1 and pg_catalog.has_function_privilege(p.oid, 'EXECUTE')), '[]')
                )::text as body,
                null as response_headers, null as response_status`,
        params: [schema],
    };
}

export interface Accessible {
    relations: Set<number>;
    functions: Set<number>;
}

/** Reads the body of accessibleObjectsStatement. */
export function accessibleFrom(body: string | null): Accessible {
    const parsed = JSON.parse(body ?? '{}') as { relations?: number[]; functions?: number[] };
    return { relations: new Set(parsed.relations ?? []), functions: new Set(parsed.functions ?? []) };
}

function jsonType(pgType: string): { type: string; format: string } {
    const base = pgType.replace(/\(.*\)/, '');
    if (base.endsWith('[]')) return { type: 'array', format: pgType };
    if (['integer', 'smallint', 'bigint'].includes(base)) return { type: 'integer', format: pgType };
    if (['numeric', 'real', 'double precision'].includes(base)) return { type: 'number', format: pgType };
    if (base === 'boolean') return { type: 'boolean', format: pgType };
    return { type: 'string', format: pgType };
}

export function openApiDocument(cache: SchemaCache, schema: string, url: URL, accessible: Accessible): Record<string, unknown> {
    const paths: Record<string, unknown> = { '/': { get: { produces: ['application/openapi+json', 'application/json'], responses: { '200': { description: 'OK' } }, summary: 'OpenAPI description (this document)', tags: ['Introspection'] } } };
    const definitions: Record<string, unknown> = {};
    for (const rel of cache.relations.values()) {
        if (rel.schema !== schema || !accessible.relations.has(rel.oid)) continue;
        paths[`/${rel.name}`] = {
            get: { tags: [rel.name], responses: { '200': { description: 'OK' }, '206': { description: 'Partial Content' } } },
            ...(rel.insertable ? { post: { tags: [rel.name], responses: { '201': { description: 'Created' } } } } : {}),
            ...(rel.updatable ? { patch: { tags: [rel.name], responses: { '204': { description: 'No Content' } } } } : {}),
            ...(rel.deletable ? { delete: { tags: [rel.name], responses: { '204': { description: 'No Content' } } } } : {}),
        };
        definitions[rel.name] = {
            ...(rel.comment ? { description: rel.comment } : {}),
            required: rel.columns.filter((c) => c.notNull && c.default === null).map((c) => c.name),
            properties: Object.fromEntries(
                rel.columns.map((c) => [c.name, { ...(c.default !== null ? { default: c.default } : {}), ...jsonType(c.type) }]),
            ),
            type: 'object',
        };
    }
    for (const fns of cache.functions.values()) {
        for (const fn of fns) {
            if (fn.schema !== schema || !accessible.functions.has(fn.oid)) continue;
            paths[`/rpc/${fn.name}`] = { post: { tags: ['(rpc) ' + fn.name], responses: { '200': { description: 'OK' } } } };
        }
    }
    return {
        swagger: '2.0',
        info: { description: '', title: 'standard public schema', version: '14.0' },
        host: url.host,
        basePath: '/',
        schemes: ['http'],
        consumes: ['application/json', 'application/vnd.pgrst.object+json;nulls=stripped', 'application/vnd.pgrst.object+json', 'text/csv'],
        produces: ['application/json', 'application/vnd.pgrst.object+json;nulls=stripped', 'application/vnd.pgrst.object+json', 'text/csv'],
        paths,
        definitions,
    };
}
