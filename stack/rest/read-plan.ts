// The read plan: a select tree resolved against the schema cache (embeds → relationships,
// filters/order/limit per embed level) and its SQL, built the way PostgREST builds it:
// LATERAL joins, `row_to_json(…)::jsonb` for to-one and `json_agg(…)::jsonb` for to-many.
import {
    ApiError,
    aggregatesNotAllowed,
    notEmbedded,
    unacceptableEmbedFilter,
} from './errors.js';
import { fuzzyBest } from './fuzzy.js';
import type { FieldRef, Filter, LogicTree, OrderTerm, SelectItem } from './query-parser.js';
import { pgArrayElement } from './query-parser.js';
import type { Relation, Relationship, SchemaCache } from './schema-cache.js';
import { relKey } from './schema-cache.js';
import { ident, literal, Params } from './sql.js';

export interface EmbedNode {
    /** Name used in the output and in query-string paths (alias or relation name). */
    outName: string;
    relName: string;
    relationship: Relationship;
    joinType: 'inner' | 'left';
    spread: boolean;
    empty: boolean;
    toOne: boolean;
    aggAlias: string;
    node: ReadNode;
}

export interface ReadNode {
    rel: Relation | null;
    /** Columns known for `*` expansion (relation columns or function OUT columns). */
    columnNames: string[];
    name: string;
    from: string;
    ref: string;
    depth: number;
    select: SelectItem[];
    embeds: EmbedNode[];
    filters: Filter[];
    logic: LogicTree[];
    order: OrderTerm[];
    limit?: number;
    offset?: number;
    nullFilters: { embed: EmbedNode; negated: boolean }[];
    /** Join conditions to the parent (set for embedded nodes). */
    parentConditions: string[];
    /** Extra FROM item (junction for many-to-many). */
    junctionJoin?: string;
}

export interface PlanContext {
    cache: SchemaCache;
    schema: string;
    aggregatesEnabled: boolean;
    /** Schemas the API exposes; embedding never reaches outside them. */
    exposedSchemas?: string[];
}

const fmtCardinality = { m2o: 'many-to-one', o2m: 'one-to-many', o2o: 'one-to-one', m2m: 'many-to-many' } as const;

// ── relationship lookup (PostgREST's findRel) ───────────────────────────────────────

function singleCol(r: Relationship, which: 'origin' | 'foreign'): string | undefined {
    if (r.cardinality === 'm2m' || r.columns.length !== 1) return undefined;
    return which === 'origin' ? r.columns[0]![0] : r.columns[0]![1];
}

function matchFKSingleCol(hint: string, r: Relationship): boolean {
    if (r.cardinality === 'm2m' || r.columns.length !== 1) return false;
    return r.cardinality === 'o2m' ? singleCol(r, 'foreign') === hint : singleCol(r, 'origin') === hint;
}

function matchFKRefSingleCol(hint: string, r: Relationship): boolean {
    if (r.cardinality === 'm2m' || r.columns.length !== 1) return false;
    return r.cardinality === 'o2m' ? singleCol(r, 'origin') === hint : singleCol(r, 'foreign') === hint;
}

export function findRelationship(ctx: PlanContext, origin: Relation, target: string, hint: string | undefined): Relationship {
    const exposed = ctx.exposedSchemas;
    const all = (ctx.cache.relationships.get(relKey(origin.schema, origin.name)) ?? []).filter(
        (r) => !exposed || (exposed.includes(r.foreignTable.schema) && (!r.junction || exposed.includes(r.junction.table.schema))),
    );
    const matchConstraint = (h: string, r: Relationship) => r.cardinality !== 'm2m' && r.constraint === h;
    const matchJunction = (h: string, r: Relationship) => r.cardinality === 'm2m' && r.junction!.table.name === h;
    const found = all.filter((r) => {
        if (r.computed) return r.computed.name === target && (hint === undefined || hint === r.foreignTable.name);
        if (r.foreignTable.name === target) {
            return hint === undefined || matchConstraint(hint, r) || matchFKSingleCol(hint, r) || matchFKRefSingleCol(hint, r) || matchJunction(hint, r);
        }
        if (matchConstraint(target, r)) return hint === undefined || hint === r.foreignTable.name;
        if ((r.cardinality === 'm2o' || r.cardinality === 'o2o') && singleCol(r, 'origin') === target && r.columns.length === 1) {
            return hint === undefined || hint === r.foreignTable.name;
        }
        return false;
    });
    if (found.length === 1) return found[0]!;
    // A self-reference is both many-to-one and one-to-many through one foreign key: the
    // table name as target means its children (one-to-many).
    if (found.length === 2 && found.every((r) => r.selfReference && r.constraint === found[0]!.constraint)) {
        const o2m = found.find((r) => r.cardinality === 'o2m');
        if (o2m) return o2m;
    }
    if (found.length === 0) {
        const schema = origin.schema;
        const details = hint
            ? `Searched for a foreign key relationship between '${origin.name}' and '${target}' using the hint '${hint}' in the schema '${schema}', but no matches were found.`
            : `Searched for a foreign key relationship between '${origin.name}' and '${target}' in the schema '${schema}', but no matches were found.`;
        let suggestion: string | null = null;
        if (all.length) {
            // A target that is itself related (only the hint matched nothing) gets no
            // suggestion: PostgREST drops the exact match and suggests nothing else.
            const related = all.map((r) => r.foreignTable.name);
            const exact = related.some((n) => n.toLowerCase() === target.toLowerCase());
            const s = exact ? null : fuzzyBest(related, target);
            if (s) suggestion = `Perhaps you meant '${s}' instead of '${target}'.`;
        } else {
            const parents = [...ctx.cache.relationships.keys()].map((k) => k.split('\u0000')).filter(([s]) => s === schema).map(([, n]) => n!);
            const s = fuzzyBest(parents, origin.name);
            if (s) suggestion = `Perhaps you meant '${s}' instead of '${origin.name}'.`;
        }
        throw new ApiError(400, 'PGRST200', `Could not find a relationship between '${origin.name}' and '${target}' in the schema cache`, details, suggestion);
    }
    // Several matches: ambiguous.
    const details = found.map((r) => ({
        cardinality: fmtCardinality[r.cardinality],
        embedding: `${origin.name} with ${target}`,
        relationship:
            r.cardinality === 'm2m'
                ? `${r.junction!.table.name} using ${r.junction!.constraint1}(${r.junction!.sourceColumns.map(([j]) => j).join(', ')}) and ${r.junction!.constraint2}(${r.junction!.targetColumns.map(([j]) => j).join(', ')})`
                : `${r.constraint} using ${r.table.name}(${r.columns.map(([a]) => a).join(', ')}) and ${r.foreignTable.name}(${r.columns.map(([, b]) => b).join(', ')})`,
    }));
    const options = found.map((r) => `'${target}!${r.cardinality === 'm2m' ? r.junction!.table.name : r.constraint}'`).join(', ');
    throw new ApiError(
        300,
        'PGRST201',
        `Could not embed because more than one relationship was found for '${origin.name}' and '${target}'`,
        details,
        `Try changing '${target}' to one of the following: ${options}. Find the desired relationship in the 'details' key.`,
    );
}

// ── building the tree ───────────────────────────────────────────────────────────────

export interface RootSource {
    rel: Relation | null;
    columnNames: string[];
    name: string;
    from: string;
    ref: string;
}

export function buildReadTree(ctx: PlanContext, root: RootSource, select: SelectItem[]): ReadNode {
    const node = newNode(root.rel, root.columnNames, root.name, root.from, root.ref, 0, select);
    resolveEmbeds(ctx, node, select, new Map());
    return node;
}

function newNode(rel: Relation | null, columnNames: string[], name: string, from: string, ref: string, depth: number, select: SelectItem[]): ReadNode {
    return {
        rel,
        columnNames,
        name,
        from,
        ref,
        depth,
        select: select.filter((s) => s.kind !== 'embed'),
        embeds: [],
        filters: [],
        logic: [],
        order: [],
        nullFilters: [],
        parentConditions: [],
    };
}

function resolveEmbeds(ctx: PlanContext, node: ReadNode, select: SelectItem[], counter: Map<string, number>): void {
    for (const item of select) {
        if ((item.kind === 'field' && item.aggregate) || item.kind === 'count') {
            if (!ctx.aggregatesEnabled) throw aggregatesNotAllowed();
        }
        if (item.kind !== 'embed') continue;
        if (!node.rel) {
            throw new ApiError(400, 'PGRST200', `Could not find a relationship between '${node.name}' and '${item.name}' in the schema cache`,
                `Searched for a foreign key relationship between '${node.name}' and '${item.name}' in the schema '${ctx.schema}', but no matches were found.`);
        }
        const rel = findRelationship(ctx, node.rel, item.name, item.hint);
        const target = rel.foreignTable;
        const depth = node.depth + 1;
        const n = (counter.get('') ?? 0) + 1;
        counter.set('', n);
        const alias = ident(`${target.name}_${depth}`);
        const child = newNode(target, target.columns.map((c) => c.name), target.name, `${ident(target.schema)}.${ident(target.name)} AS ${alias}`, alias, depth, item.children);
        const outName = item.alias ?? item.name;
        const aggAlias = ident(`${node.name}_${outName}_${depth}`.slice(0, 50) + (n > 1 ? `_${n}` : ''));
        if (rel.computed) {
            // The function takes the parent's whole row.
            const rowRef = node.ref.includes('.') ? ident(node.name) : node.ref;
            child.from = `${ident(rel.computed.schema)}.${ident(rel.computed.name)}(${rowRef}) AS ${alias}`;
            child.parentConditions = [];
        } else if (rel.cardinality === 'm2m') {
            const j = rel.junction!;
            const jAlias = ident(`${j.table.name}_${depth}`);
            const onTarget = j.targetColumns.map(([jc, tc]) => `${alias}.${ident(tc)} = ${jAlias}.${ident(jc)}`).join(' AND ');
            child.junctionJoin = `INNER JOIN ${ident(j.table.schema)}.${ident(j.table.name)} AS ${jAlias} ON ${onTarget}`;
            child.parentConditions = j.sourceColumns.map(([jc, oc]) => `${jAlias}.${ident(jc)} = ${node.ref}.${ident(oc)}`);
        } else {
            child.parentConditions = rel.columns.map(([oc, fc]) => `${alias}.${ident(fc)} = ${node.ref}.${ident(oc)}`);
        }
        const toOne = rel.cardinality === 'm2o' || rel.cardinality === 'o2o';
        node.embeds.push({
            outName,
            relName: item.name,
            relationship: rel,
            joinType: item.joinType ?? 'left',
            spread: item.spread,
            empty: item.children.length === 0,
            toOne,
            aggAlias,
            node: child,
        });
        resolveEmbeds(ctx, child, item.children, counter);
    }
}

/** The node an embed path (`a.b`) refers to; PGRST108 if it is not embedded. */
export function nodeAt(root: ReadNode, path: string[]): ReadNode {
    let node = root;
    for (const name of path) {
        const e = node.embeds.find((x) => x.outName === name) ?? node.embeds.find((x) => x.relName === name);
        if (!e) throw notEmbedded(name);
        node = e.node;
    }
    return node;
}

/** Adds a filter at `path`; a filter naming an embed of that level must be `is.null`/`not.is.null`. */
export function addFilter(root: ReadNode, path: string[], filter: Filter): void {
    const node = nodeAt(root, path);
    if (!filter.field.jsonPath.length) {
        const embed = node.embeds.find((e) => e.outName === filter.field.name);
        if (embed) {
            if (filter.expr.kind !== 'is' || (filter.expr.value !== 'null' && filter.expr.value !== 'not_null')) throw unacceptableEmbedFilter(filter.field.name);
            const negated = filter.negated !== (filter.expr.value === 'not_null');
            node.nullFilters.push({ embed, negated });
            return;
        }
    }
    node.filters.push(filter);
}

// ── SQL ─────────────────────────────────────────────────────────────────────────────

export function fieldSql(ref: string, field: FieldRef): string {
    let sql = field.name === '*' ? `${ref}.*` : `${ref}.${ident(field.name)}`;
    for (const op of field.jsonPath) sql += op.arrow + (op.index ? op.key : literal(op.key));
    return sql;
}

function jsonAlias(field: FieldRef): string | undefined {
    if (!field.jsonPath.length) return undefined;
    const last = field.jsonPath[field.jsonPath.length - 1]!;
    if (!last.index) return last.key;
    const lastKey = [...field.jsonPath].reverse().find((p) => !p.index);
    return lastKey ? lastKey.key : field.name;
}

function castSql(expr: string, cast: string | undefined): string {
    return cast ? `CAST (${expr} AS ${cast} )` : expr;
}

/** Names of the columns a node outputs (needed by spreads). */
function outputNames(node: ReadNode): string[] {
    const names: string[] = [];
    for (const s of node.select) {
        if (s.kind === 'star') names.push(...node.columnNames);
        else if (s.kind === 'count') names.push(s.alias ?? 'count');
        else if (s.kind === 'field') names.push(s.alias ?? (s.aggregate ? s.aggregate : (jsonAlias(s.field) ?? s.field.name)));
    }
    for (const e of node.embeds) {
        if (e.empty) continue;
        if (e.spread) names.push(...outputNames(e.node));
        else names.push(e.outName);
    }
    return names;
}

interface SelectParts {
    items: string[];
    groupBy: string[];
    hasAggregate: boolean;
}

function selectParts(node: ReadNode): SelectParts {
    const items: string[] = [];
    const groupBy: string[] = [];
    let hasAggregate = false;
    for (const s of node.select) {
        if (s.kind === 'star') {
            items.push(`${node.ref}.*`);
            groupBy.push(`${node.ref}.*`);
        } else if (s.kind === 'count') {
            hasAggregate = true;
            items.push(`${castSql('pg_catalog.count(*)', s.cast)} AS ${ident(s.alias ?? 'count')}`);
        } else if (s.kind === 'field') {
            const base = castSql(fieldSql(node.ref, s.field), s.cast);
            if (s.aggregate) {
                hasAggregate = true;
                const agg = `${s.aggregate}(${base})`;
                items.push(`${s.aggregateCast ? `${agg}::${s.aggregateCast}` : agg} AS ${ident(s.alias ?? s.aggregate)}`);
            } else {
                const alias = s.alias ?? jsonAlias(s.field);
                items.push(alias !== undefined ? `${base} AS ${ident(alias)}` : base);
                groupBy.push(base);
            }
        }
    }
    for (const e of node.embeds) {
        if (e.empty) continue;
        if (e.spread) {
            for (const name of outputNames(e.node)) {
                const expr = `${e.aggAlias}.${ident(name)}`;
                items.push(`${expr} AS ${ident(name)}`);
                groupBy.push(expr);
            }
        } else if (e.toOne) {
            const expr = `row_to_json(${e.aggAlias}.*)::jsonb`;
            items.push(`${expr} AS ${ident(e.outName)}`);
            groupBy.push(expr);
        } else {
            const expr = `COALESCE( ${e.aggAlias}.${e.aggAlias}, '[]')`;
            items.push(`${expr} AS ${ident(e.outName)}`);
            groupBy.push(`${e.aggAlias}.${e.aggAlias}`);
        }
    }
    return { items, groupBy, hasAggregate };
}

function joinsSql(node: ReadNode, params: Params, only?: (e: EmbedNode) => boolean): string[] {
    const joins: string[] = [];
    for (const e of node.embeds) {
        if (only && !only(e)) continue;
        const sub = nodeQuery(e.node, params, false);
        const inner = e.joinType === 'inner';
        const kw = inner ? 'INNER' : 'LEFT';
        if (e.toOne) {
            joins.push(`${kw} JOIN LATERAL ( ${sub} ) AS ${e.aggAlias} ON TRUE`);
        } else if (e.spread) {
            const cols = outputNames(e.node)
                .map((n) => `COALESCE(json_agg(${e.aggAlias}.${ident(n)}), '[]')::jsonb AS ${ident(n)}`)
                .join(', ');
            joins.push(`${kw} JOIN LATERAL ( SELECT ${cols || '1'} FROM (${sub}) AS ${e.aggAlias} ${inner ? 'HAVING count(*) > 0' : ''} ) AS ${e.aggAlias} ON TRUE`);
        } else {
            joins.push(
                `${kw} JOIN LATERAL ( SELECT json_agg(${e.aggAlias})::jsonb AS ${e.aggAlias} FROM (${sub} ) AS ${e.aggAlias} ) AS ${e.aggAlias} ON ${inner ? `${e.aggAlias} IS NOT NULL` : 'TRUE'}`,
            );
        }
    }
    return joins;
}

export function whereConditions(node: ReadNode, params: Params, typeOf: (node: ReadNode, col: string) => string | undefined): string[] {
    const conds = [...node.parentConditions];
    for (const f of node.filters) conds.push(filterSql(node, node.ref, f, params, typeOf));
    for (const l of node.logic) conds.push(logicSql(node, l, params, typeOf));
    for (const nf of node.nullFilters) conds.push(`${nf.embed.aggAlias} IS ${nf.negated ? '' : 'NOT '}DISTINCT FROM NULL`);
    return conds;
}

const columnType = (node: ReadNode, col: string): string | undefined => node.rel?.columnsByName.get(col)?.typeName;

export function orderSql(node: ReadNode): string {
    if (!node.order.length) return '';
    const terms = node.order.map((o) => {
        let expr: string;
        if (o.relation) {
            const e = node.embeds.find((x) => x.outName === o.relation) ?? node.embeds.find((x) => x.relName === o.relation);
            if (!e) throw notEmbedded(o.relation);
            if (!e.toOne) {
                throw new ApiError(
                    400,
                    'PGRST118',
                    `A related order on '${e.outName}' is not possible`,
                    `'${node.name}' and '${e.outName}' do not form a many-to-one or one-to-one relationship`,
                );
            }
            expr = fieldSql(e.aggAlias, o.field);
        } else {
            expr = fieldSql(node.ref, o.field);
        }
        return `${expr}${o.direction ? ' ' + o.direction.toUpperCase() : ''}${o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : ''}`;
    });
    return ` ORDER BY ${terms.join(', ')}`;
}

function limitSql(node: ReadNode): string {
    let s = '';
    if (node.limit !== undefined) s += ` LIMIT ${node.limit}`;
    if (node.offset !== undefined && node.offset > 0) s += ` OFFSET ${node.offset}`;
    return s;
}

/** SELECT … FROM … for one node (the root or an embedded subquery). */
export function nodeQuery(node: ReadNode, params: Params, _root: boolean, from?: string): string {
    const parts = selectParts(node);
    const joins = joinsSql(node, params);
    const where = whereConditions(node, params, columnType);
    let sql = `SELECT ${parts.items.join(', ')} FROM ${from ?? node.from}`;
    if (node.junctionJoin) sql += ` ${node.junctionJoin}`;
    if (joins.length) sql += ' ' + joins.join(' ');
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    if (parts.hasAggregate && parts.groupBy.length) sql += ` GROUP BY ${parts.groupBy.join(', ')}`;
    sql += orderSql(node);
    sql += limitSql(node);
    return sql;
}

/** SELECT 1 … for counting the root's rows (joins only where they filter). */
export function countQuery(node: ReadNode, params: Params, from?: string): string {
    const needed = new Set(node.nullFilters.map((n) => n.embed));
    const joins = joinsSql(node, params, (e) => e.joinType === 'inner' || needed.has(e));
    const where = whereConditions(node, params, columnType);
    let sql = `SELECT 1 FROM ${from ?? node.from}`;
    if (joins.length) sql += ' ' + joins.join(' ');
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    return sql;
}

// ── filters ─────────────────────────────────────────────────────────────────────────

const SIMPLE_SQL: Record<string, string> = {
    eq: '=',
    neq: '<>',
    gt: '>',
    gte: '>=',
    lt: '<',
    lte: '<=',
    like: 'LIKE',
    ilike: 'ILIKE',
    match: '~',
    imatch: '~*',
    isdistinct: 'IS DISTINCT FROM',
    cs: '@>',
    cd: '<@',
    ov: '&&',
    sl: '<<',
    sr: '>>',
    nxl: '&>',
    nxr: '&<',
    adj: '-|-',
};

const FTS_FN = { fts: 'to_tsquery', plfts: 'plainto_tsquery', phfts: 'phraseto_tsquery', wfts: 'websearch_to_tsquery' } as const;

export function filterSql(
    node: ReadNode,
    ref: string,
    f: Filter,
    params: Params,
    typeOf: (node: ReadNode, col: string) => string | undefined,
): string {
    const col = fieldSql(ref, f.field);
    const e = f.expr;
    let sql: string;
    switch (e.kind) {
        case 'simple': {
            const op = SIMPLE_SQL[e.op]!;
            const likeish = e.op === 'like' || e.op === 'ilike';
            if (e.quantifier) {
                const v = likeish ? e.value.replaceAll('*', '%') : e.value;
                sql = `${col} ${op} ${e.quantifier.toUpperCase()}(${params.add(v)})`;
            } else {
                const v = likeish ? e.value.replaceAll('*', '%') : e.value;
                sql = `${col} ${op} ${params.add(v)}`;
            }
            break;
        }
        case 'in':
            sql = `${col} = ANY (${params.add('{' + e.values.map(pgArrayElement).join(',') + '}')})`;
            break;
        case 'is':
            sql = `${col} IS ${{ null: 'NULL', not_null: 'NOT NULL', true: 'TRUE', false: 'FALSE', unknown: 'UNKNOWN' }[e.value]}`;
            break;
        case 'fts': {
            const lang = e.language !== undefined ? `${params.add(e.language)}::regconfig, ` : '';
            const isTsvector = !f.field.jsonPath.length && typeOf(node, f.field.name) === 'tsvector';
            const target = isTsvector ? col : `to_tsvector(${lang}${col})`;
            sql = `${target} @@ ${FTS_FN[e.op]}(${lang}${params.add(e.value)})`;
            break;
        }
    }
    return f.negated ? `NOT ${sql}` : sql;
}

function logicSql(node: ReadNode, tree: LogicTree, params: Params, typeOf: (node: ReadNode, col: string) => string | undefined): string {
    if (tree.kind === 'filter') {
        if (tree.path.length) {
            // `or=(rel.col.eq.x)` is not supported by PostgREST outside null checks on embeds
            const name = tree.path[0]!;
            const embed = node.embeds.find((e) => e.outName === name);
            if (!embed) throw notEmbedded(name);
            throw unacceptableEmbedFilter(name);
        }
        const f = tree.filter;
        if (!f.field.jsonPath.length) {
            const embed = node.embeds.find((e) => e.outName === f.field.name);
            if (embed && f.expr.kind === 'is' && (f.expr.value === 'null' || f.expr.value === 'not_null')) {
                const negated = f.negated !== (f.expr.value === 'not_null');
                return `${embed.aggAlias} IS ${negated ? '' : 'NOT '}DISTINCT FROM NULL`;
            }
        }
        return filterSql(node, node.ref, f, params, typeOf);
    }
    const inner = tree.children.map((c) => logicSql(node, c, params, typeOf)).join(tree.op === 'and' ? ' AND ' : ' OR ');
    return `${tree.negated ? 'NOT ' : ''}(${inner})`;
}

/** Stable key of the relation names offered in PGRST205's hint. */
export function suggestTable(cache: SchemaCache, schema: string, name: string): string | null {
    const names = [...cache.relations.values()].filter((r) => r.schema === schema).map((r) => r.name);
    return fuzzyBest(names, name);
}
