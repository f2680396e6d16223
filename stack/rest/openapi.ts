// The root endpoint: a Swagger 2.0 description of the exposed schema, shaped like
// PostgREST's (paths per table and function, definitions per table).
import type { SchemaCache } from './schema-cache.js';

function jsonType(pgType: string): { type: string; format: string } {
    const base = pgType.replace(/\(.*\)/, '');
    if (base.endsWith('[]')) return { type: 'array', format: pgType };
    if (['integer', 'smallint', 'bigint'].includes(base)) return { type: 'integer', format: pgType };
    if (['numeric', 'real', 'double precision'].includes(base)) return { type: 'number', format: pgType };
    if (base === 'boolean') return { type: 'boolean', format: pgType };
    return { type: 'string', format: pgType };
}

export function openApiDocument(cache: SchemaCache, schema: string, url: URL): Record<string, unknown> {
    const paths: Record<string, unknown> = { '/': { get: { produces: ['application/openapi+json', 'application/json'], responses: { '200': { description: 'OK' } }, summary: 'OpenAPI description (this document)', tags: ['Introspection'] } } };
    const definitions: Record<string, unknown> = {};
    for (const rel of cache.relations.values()) {
        if (rel.schema !== schema) continue;
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
            if (fn.schema !== schema) continue;
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
