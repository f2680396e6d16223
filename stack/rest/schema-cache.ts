// The schema cache: relations, columns, keys, relationships (including through views) and
// functions, loaded from pg_catalog in a handful of queries. Pure data once loaded.
import type pg from 'pg';

export interface Column {
    name: string;
    type: string; // format_type, e.g. "character varying(20)"
    typeOid: number;
    typeName: string; // pg_type.typname ("tsvector", "_int4")
    notNull: boolean;
    default: string | null;
    /**
     * What `Prefer: missing=default` inserts for an absent key, as PostgREST computes it:
     * the column default, `nextval` of an identity column's sequence, else the default of
     * the column's domain type.
     */
    insertDefault: string | null;
    generated: boolean;
    identityAlways: boolean;
}

export interface Relation {
    oid: number;
    /** Oid of the relation's row type (computed fields/relationships take it). */
    rowType: number;
    schema: string;
    name: string;
    kind: 'table' | 'view' | 'matview' | 'foreign' | 'partitioned';
    columns: Column[];
    columnsByName: Map<string, Column>;
    pk: string[];
    uniques: string[][];
    insertable: boolean;
    updatable: boolean;
    deletable: boolean;
    comment: string | null;
}

export type Cardinality = 'm2o' | 'o2m' | 'o2o' | 'm2m';

export interface Junction {
    table: Relation;
    constraint1: string;
    constraint2: string;
    /** [junction column, origin column] */
    sourceColumns: [string, string][];
    /** [junction column, target column] */
    targetColumns: [string, string][];
}

export interface Relationship {
    table: Relation;
    foreignTable: Relation;
    cardinality: Cardinality;
    constraint: string;
    /** [origin column, foreign column] pairs (unused for m2m). */
    columns: [string, string][];
    junction?: Junction;
    /** Computed relationship: a function taking the origin's row and returning the target's rows. */
    computed?: PgFunction;
    selfReference: boolean;
}

export interface FunctionArg {
    name: string;
    type: string;
    typeOid: number;
    hasDefault: boolean;
    variadic: boolean;
}

export interface PgFunction {
    oid: number;
    schema: string;
    name: string;
    /** Input parameters in declaration order; an unnamed one is named ''. */
    args: FunctionArg[];
    /** COMMENT ON FUNCTION (PostgREST orders overloads by it after the parameter count). */
    description: string | null;
    /** Rows the planner expects (`rows n`); a set-returning function with `rows 1` embeds as one object. */
    rows: number;
    volatility: 'i' | 's' | 'v';
    returnsSet: boolean;
    returnType: string;
    returnTypeOid: number;
    /** Relation whose row type is returned (table/view/composite type) or null for scalars. */
    returnComposite: boolean;
    returnRelation: Relation | null;
    returnsVoid: boolean;
    /** OUT/TABLE parameters make the result a record with these columns. */
    outColumns: { name: string; type: string }[];
}

export interface RoleSettings {
    /** pgrst.* settings of the authenticator role (db-aggregates-enabled etc.). */
    pgrst: Map<string, string>;
    /** Settings per impersonated role (statement_timeout …). */
    perRole: Map<string, [string, string][]>;
}

export interface SchemaCache {
    relations: Map<string, Relation>; // key "schema.name"
    relationsByOid: Map<number, Relation>;
    relationships: Map<string, Relationship[]>; // key: origin "schema.name"
    functions: Map<string, PgFunction[]>; // key "schema.name"
    settings: RoleSettings;
    timezones: Set<string>;
    loadedAt: number;
}

export const relKey = (schema: string, name: string): string => `${schema}\u0000${name}`;

const RELATIONS_SQL = `
select c.oid::int as oid, c.reltype::int as reltype, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
       pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) as upd,
       pg_catalog.obj_description(c.oid, 'pg_class') as comment
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'v', 'm', 'f', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
  and n.nspname not like 'pg\\_temp%'
order by n.nspname, c.relname`;

const COLUMNS_SQL = `
select a.attrelid::int as rel, a.attname as name, a.attnum::int as num,
       pg_catalog.format_type(a.atttypid, a.atttypmod) as type, a.atttypid::int as type_oid,
       t.typname as type_name, a.attnotnull as not_null,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) as "default",
       case
           when a.attgenerated <> '' then null
           when d.adbin is not null then pg_catalog.pg_get_expr(d.adbin, d.adrelid)
           when a.attidentity = 'd' then (
               select pg_catalog.format('pg_catalog.nextval(%L::regclass)', s.oid::regclass)
               from pg_catalog.pg_depend dep
               join pg_catalog.pg_class s on s.oid = dep.objid and s.relkind = 'S'
               where dep.classid = 'pg_catalog.pg_class'::regclass and dep.refclassid = 'pg_catalog.pg_class'::regclass
                 and dep.refobjid = a.attrelid and dep.refobjsubid = a.attnum and dep.deptype = 'i'
               limit 1)
           when t.typbasetype <> 0 then pg_catalog.pg_get_expr(t.typdefaultbin, 0)
       end as insert_default,
       a.attgenerated <> '' as generated, a.attidentity = 'a' as identity_always
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_type t on t.oid = a.atttypid
left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'v', 'm', 'f', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
order by a.attrelid, a.attnum`;

const CONSTRAINTS_SQL = `
select c.conname as name, c.contype::text as type, c.conrelid::int as rel, c.confrelid::int as frel,
       (select array_agg(a.attname::text order by k.ord) from unnest(c.conkey) with ordinality k(num, ord)
          join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.num) as cols,
       (select array_agg(a.attname::text order by k.ord) from unnest(c.confkey) with ordinality k(num, ord)
          join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.num) as fcols
from pg_catalog.pg_constraint c
join pg_catalog.pg_namespace n on n.oid = c.connamespace
where c.contype in ('p', 'u', 'f') and c.conrelid <> 0
  and n.nspname not in ('pg_catalog', 'information_schema')
order by c.contype, c.conrelid, c.conname`;

const VIEWS_SQL = `
select r.ev_class::int as rel, r.ev_action::text as action
from pg_catalog.pg_rewrite r
join pg_catalog.pg_class c on c.oid = r.ev_class
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where r.rulename = '_RETURN' and c.relkind in ('v', 'm')
  and n.nspname not in ('pg_catalog', 'information_schema')`;

const FUNCTIONS_SQL = `
select p.oid::int as oid, n.nspname as schema, p.proname as name, p.provolatile::text as volatility,
       p.proretset as returns_set, p.pronargs::int as nargs, p.pronargdefaults::int as ndefaults,
       p.proargnames as arg_names, p.proargmodes::text[] as arg_modes,
       coalesce(p.proallargtypes, p.proargtypes::oid[])::int[] as arg_types,
       array(select pg_catalog.format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) t) as arg_type_names,
       p.prorettype::int as ret_oid, pg_catalog.format_type(p.prorettype, null) as ret_type,
       rt.typtype::text as ret_typtype, rt.typrelid::int as ret_relid, p.provariadic <> 0 as variadic,
       p.prorows::float8 as rows, pg_catalog.obj_description(p.oid, 'pg_proc') as description
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join pg_catalog.pg_type rt on rt.oid = p.prorettype
where p.prokind = 'f'
  and n.nspname = any($1::text[])
order by n.nspname, p.proname, p.oid`;

const ROLE_SETTINGS_SQL = `
select r.rolname as role, s.setdatabase <> 0 as per_db, unnest(s.setconfig) as setting
from pg_catalog.pg_db_role_setting s
join pg_catalog.pg_roles r on r.oid = s.setrole
where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
order by per_db`;

function relationKind(k: string): Relation['kind'] {
    return k === 'r' ? 'table' : k === 'v' ? 'view' : k === 'm' ? 'matview' : k === 'f' ? 'foreign' : 'partitioned';
}

export async function loadSchemaCache(client: pg.ClientBase, schemas: string[]): Promise<SchemaCache> {
    const [rels, cols, cons, views, fns, roleSettings] = [
        await client.query(RELATIONS_SQL),
        await client.query(COLUMNS_SQL),
        await client.query(CONSTRAINTS_SQL),
        await client.query(VIEWS_SQL),
        await client.query(FUNCTIONS_SQL, [schemas]),
        await client.query(ROLE_SETTINGS_SQL),
    ];
    const tz = await client.query<{ name: string }>('select name from pg_catalog.pg_timezone_names');
    const relations = new Map<string, Relation>();
    const byOid = new Map<number, Relation>();
    for (const r of rels.rows) {
        const kind = relationKind(r.relkind);
        const upd = Number(r.upd);
        const rel: Relation = {
            oid: r.oid,
            rowType: r.reltype,
            schema: r.schema,
            name: r.name,
            kind,
            columns: [],
            columnsByName: new Map(),
            pk: [],
            uniques: [],
            insertable: (upd & 8) === 8,
            updatable: (upd & 4) === 4,
            deletable: (upd & 16) === 16,
            comment: r.comment,
        };
        relations.set(relKey(rel.schema, rel.name), rel);
        byOid.set(rel.oid, rel);
    }
    const attnames = new Map<number, Map<number, string>>();
    for (const c of cols.rows) {
        const rel = byOid.get(c.rel);
        if (!rel) continue;
        const col: Column = {
            name: c.name,
            type: c.type,
            typeOid: c.type_oid,
            typeName: c.type_name,
            notNull: c.not_null,
            default: c.default,
            insertDefault: c.insert_default,
            generated: c.generated,
            identityAlways: c.identity_always,
        };
        rel.columns.push(col);
        rel.columnsByName.set(col.name, col);
        let m = attnames.get(c.rel);
        if (!m) attnames.set(c.rel, (m = new Map()));
        m.set(c.num, c.name);
    }
    interface FkRow {
        name: string;
        rel: number;
        frel: number;
        cols: string[];
        fcols: string[];
    }
    const fks: FkRow[] = [];
    for (const c of cons.rows) {
        const rel = byOid.get(c.rel);
        if (!rel) continue;
        if (c.type === 'p') rel.pk = c.cols;
        else if (c.type === 'u') rel.uniques.push(c.cols);
        else if (c.type === 'f' && byOid.has(c.frel)) fks.push({ name: c.name, rel: c.rel, frel: c.frel, cols: c.cols, fcols: c.fcols });
    }

    // View columns → base columns (following views over views).
    const viewCols = new Map<number, Map<string, { rel: number; col: string }>>();
    for (const v of views.rows) {
        const targets = topLevelTargets(v.action);
        const map = new Map<string, { rel: number; col: string }>();
        for (const t of targets) {
            if (!t.origTable || !t.origCol) continue;
            const base = attnames.get(t.origTable)?.get(t.origCol);
            if (base && t.name) map.set(t.name, { rel: t.origTable, col: base });
        }
        viewCols.set(v.rel, map);
    }
    // Resolve chains: view col → ultimate base table col.
    const resolve = (rel: number, col: string, depth = 0): { rel: number; col: string } | undefined => {
        const m = viewCols.get(rel);
        if (!m) return { rel, col };
        const next = m.get(col);
        if (!next || depth > 20) return undefined;
        return resolve(next.rel, next.col, depth + 1);
    };
    // For each base table: views exposing columns of it: table oid → [{view, baseCol→viewCol}]
    const viewsOf = new Map<number, { view: Relation; colMap: Map<string, string[]> }[]>();
    for (const [viewOid, m] of viewCols) {
        const view = byOid.get(viewOid);
        if (!view) continue;
        const perTable = new Map<number, Map<string, string[]>>();
        for (const viewCol of m.keys()) {
            const base = resolve(viewOid, viewCol);
            if (!base) continue;
            let cm = perTable.get(base.rel);
            if (!cm) perTable.set(base.rel, (cm = new Map()));
            const list = cm.get(base.col) ?? [];
            list.push(viewCol);
            cm.set(base.col, list);
        }
        for (const [tableOid, colMap] of perTable) {
            const list = viewsOf.get(tableOid) ?? [];
            list.push({ view, colMap });
            viewsOf.set(tableOid, list);
        }
    }
    // Views inherit primary keys of their base table when they expose all its columns.
    for (const [tableOid, list] of viewsOf) {
        const table = byOid.get(tableOid)!;
        if (!table.pk.length) continue;
        for (const { view, colMap } of list) {
            if (!view.pk.length && table.pk.every((c) => colMap.has(c))) view.pk = table.pk.map((c) => colMap.get(c)![0]!);
        }
    }

    const relationships = new Map<string, Relationship[]>();
    const add = (r: Relationship) => {
        const k = relKey(r.table.schema, r.table.name);
        const list = relationships.get(k) ?? [];
        list.push(r);
        relationships.set(k, list);
    };
    const m2oRels: Relationship[] = [];
    const variants = (oid: number, cols: string[]): { rel: Relation; cols: string[] }[] => {
        const out = [{ rel: byOid.get(oid)!, cols }];
        for (const { view, colMap } of viewsOf.get(oid) ?? []) {
            if (cols.every((c) => colMap.has(c))) {
                // every combination would explode; take the first exposure of each column
                out.push({ rel: view, cols: cols.map((c) => colMap.get(c)![0]!) });
            }
        }
        return out;
    };
    const isUnique = (rel: Relation, cols: string[]): boolean => {
        const set = new Set(cols);
        const same = (k: string[]) => k.length === set.size && k.every((c) => set.has(c));
        return (rel.pk.length > 0 && same(rel.pk)) || rel.uniques.some(same);
    };
    for (const fk of fks) {
        const base = byOid.get(fk.rel)!;
        const oneToOne = isUnique(base, fk.cols);
        for (const src of variants(fk.rel, fk.cols)) {
            for (const dst of variants(fk.frel, fk.fcols)) {
                const self = src.rel.oid === dst.rel.oid;
                const pairs = src.cols.map((c, i) => [c, dst.cols[i]!] as [string, string]);
                const forward: Relationship = {
                    table: src.rel,
                    foreignTable: dst.rel,
                    cardinality: oneToOne ? 'o2o' : 'm2o',
                    constraint: fk.name,
                    columns: pairs,
                    selfReference: self,
                };
                add(forward);
                if (!oneToOne) m2oRels.push(forward);
                add({
                    table: dst.rel,
                    foreignTable: src.rel,
                    cardinality: oneToOne ? 'o2o' : 'o2m',
                    constraint: fk.name,
                    columns: pairs.map(([a, b]) => [b, a]),
                    selfReference: self,
                });
            }
        }
    }
    // Many-to-many through a junction whose two foreign keys' columns are part of its primary key.
    for (const r1 of m2oRels) {
        for (const r2 of m2oRels) {
            if (r1.table !== r2.table || r1.constraint === r2.constraint) continue;
            const junction = r1.table;
            const pk = new Set(junction.pk);
            if (!pk.size) continue;
            if (![...r1.columns, ...r2.columns].every(([c]) => pk.has(c))) continue;
            add({
                table: r1.foreignTable,
                foreignTable: r2.foreignTable,
                cardinality: 'm2m',
                constraint: junction.name,
                columns: [],
                junction: {
                    table: junction,
                    constraint1: r1.constraint,
                    constraint2: r2.constraint,
                    sourceColumns: r1.columns.map(([j, o]) => [j, o]),
                    targetColumns: r2.columns.map(([j, t]) => [j, t]),
                },
                selfReference: r1.foreignTable === r2.foreignTable,
            });
        }
    }

    const functions = new Map<string, PgFunction[]>();
    const allFunctions: PgFunction[] = [];
    for (const f of fns.rows) {
        const modes: string[] = f.arg_modes ?? [];
        const names: string[] = f.arg_names ?? [];
        const types: number[] = f.arg_types ?? [];
        const typeNames: string[] = f.arg_type_names ?? [];
        const args: FunctionArg[] = [];
        const outColumns: { name: string; type: string }[] = [];
        types.forEach((t, i) => {
            const mode = modes[i] ?? 'i';
            if (mode === 'o' || mode === 't') outColumns.push({ name: names[i] ?? '', type: typeNames[i]! });
            else {
                if (mode === 'b') outColumns.push({ name: names[i] ?? '', type: typeNames[i]! });
                args.push({ name: names[i] ?? '', type: typeNames[i]!, typeOid: t, hasDefault: false, variadic: mode === 'v' });
            }
        });
        for (let i = args.length - f.ndefaults; i < args.length; i++) if (i >= 0) args[i]!.hasDefault = true;
        const retRel = f.ret_relid ? (byOid.get(f.ret_relid) ?? null) : null;
        const fn: PgFunction = {
            oid: f.oid,
            schema: f.schema,
            name: f.name,
            args,
            description: f.description,
            rows: Number(f.rows),
            volatility: f.volatility,
            returnsSet: f.returns_set,
            returnType: f.ret_type,
            returnTypeOid: f.ret_oid,
            returnComposite: f.ret_typtype === 'c' || (f.ret_type === 'record' && outColumns.length > 0) || f.ret_type === 'record',
            returnRelation: retRel,
            returnsVoid: f.ret_type === 'void',
            outColumns,
        };
        allFunctions.push(fn);
        // Not callable through /rpc, but possibly a computed relationship (below).
        if (!callableThroughApi(args, f.arg_names !== null)) continue;
        const k = relKey(fn.schema, fn.name);
        const list = functions.get(k) ?? [];
        list.push(fn);
        functions.set(k, list);
    }
    for (const list of functions.values()) list.sort(compareOverloads);

    // Computed relationships: fn(origin row) returns [setof] target row type.
    const byRowType = new Map<number, Relation>();
    for (const rel of byOid.values()) byRowType.set(rel.rowType, rel);
    for (const fn of allFunctions) {
        if (fn.args.length !== 1 || !fn.returnRelation) continue;
        const origin = byRowType.get(fn.args[0]!.typeOid);
        if (!origin) continue;
        add({
            table: origin,
            foreignTable: fn.returnRelation,
            // One row (not set-returning, or `rows 1`) is a to-one relationship.
            cardinality: fn.returnsSet && fn.rows !== 1 ? 'o2m' : 'm2o',
            constraint: fn.name,
            columns: [],
            computed: fn,
            selfReference: origin === fn.returnRelation,
        });
    }

    const settings: RoleSettings = { pgrst: new Map(), perRole: new Map() };
    for (const s of roleSettings.rows) {
        const setting: string = s.setting;
        const eq = setting.indexOf('=');
        if (eq < 0) continue;
        const name = setting.slice(0, eq);
        const value = setting.slice(eq + 1);
        if (s.role === 'authenticator' && name.startsWith('pgrst.')) settings.pgrst.set(name.slice(6).replaceAll('_', '-'), value);
        else if (!name.startsWith('pgrst.')) {
            const list = settings.perRole.get(s.role) ?? [];
            const existing = list.findIndex(([n]) => n === name);
            if (existing >= 0) list.splice(existing, 1);
            list.push([name, value]);
            settings.perRole.set(s.role, list);
        }
    }

    return { relations, relationsByOid: byOid, relationships, functions, settings, timezones: new Set(tz.rows.map((r) => r.name)), loadedAt: Date.now() };
}

/** Types a single unnamed parameter may have: a raw request body can carry them. */
const RAW_BODY_TYPES = new Set([17 /* bytea */, 114 /* json */, 3802 /* jsonb */, 25 /* text */, 142 /* xml */]);

/**
 * Whether PostgREST's schema cache keeps a function: every parameter named, or a single
 * unnamed one of a type a raw body can carry. (Postgres names unnamed parameters '' when
 * any other parameter has a name; only then are they all unnamed.)
 */
function callableThroughApi(args: FunctionArg[], anyNamed: boolean): boolean {
    if (args.length === 0 || anyNamed) return true;
    return args.length === 1 && RAW_BODY_TYPES.has(args[0]!.typeOid);
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order PostgREST keeps overloads in (and lists them in PGRST203): fewer parameters
 * first, then by description (none first), then parameter by parameter — name, type,
 * required before optional, variadic last.
 */
export function compareOverloads(a: PgFunction, b: PgFunction): number {
    if (a.args.length !== b.args.length) return a.args.length - b.args.length;
    if (a.description !== b.description) {
        if (a.description === null) return -1;
        if (b.description === null) return 1;
        return compareText(a.description, b.description);
    }
    for (let i = 0; i < a.args.length; i++) {
        const x = a.args[i]!;
        const y = b.args[i]!;
        const byName = compareText(x.name, y.name) || compareText(x.type, y.type);
        if (byName) return byName;
        // ppReq: False < True, so optional parameters sort before required ones.
        if (x.hasDefault !== y.hasDefault) return x.hasDefault ? -1 : 1;
        if (x.variadic !== y.variadic) return x.variadic ? 1 : -1;
    }
    return a.oid - b.oid;
}

interface TargetEntry {
    name: string | null;
    origTable: number;
    origCol: number;
}

/**
 * The target list of the top-level query of a view's `_RETURN` rule (pg_node_tree text):
 * each entry's `:resname`, `:resorigtbl` and `:resorigcol` tell which base column it shows.
 */
export function topLevelTargets(action: string): TargetEntry[] {
    // Locate ":targetList" at depth 2 (inside "({QUERY ...})").
    let depth = 0;
    let i = 0;
    let start = -1;
    while (i < action.length) {
        const ch = action[i]!;
        if (ch === '\\') {
            i += 2;
            continue;
        }
        if (ch === '(' || ch === '{') depth++;
        else if (ch === ')' || ch === '}') depth--;
        else if (ch === ':' && depth === 2 && action.startsWith(':targetList ', i)) {
            start = i + ':targetList '.length;
            break;
        }
        i++;
    }
    if (start < 0) return [];
    // Read the balanced list that follows.
    let j = start;
    let d = 0;
    for (; j < action.length; j++) {
        const ch = action[j]!;
        if (ch === '\\') {
            j++;
            continue;
        }
        if (ch === '(' || ch === '{') d++;
        else if (ch === ')' || ch === '}') {
            d--;
            if (d === 0) break;
        }
    }
    const list = action.slice(start, j + 1);
    // Top-level TARGETENTRY nodes are at depth 1 in the list.
    const out: TargetEntry[] = [];
    d = 0;
    for (let k = 0; k < list.length; k++) {
        const ch = list[k]!;
        if (ch === '\\') {
            k++;
            continue;
        }
        if (ch === '(' || ch === '{') {
            d++;
            if (ch === '{' && d === 2 && list.startsWith('{TARGETENTRY', k)) {
                // find end of this node
                let e = k;
                let dd = 0;
                for (; e < list.length; e++) {
                    const c2 = list[e]!;
                    if (c2 === '\\') {
                        e++;
                        continue;
                    }
                    if (c2 === '(' || c2 === '{') dd++;
                    else if (c2 === ')' || c2 === '}') {
                        dd--;
                        if (dd === 0) break;
                    }
                }
                const node = list.slice(k, e + 1);
                const tail = node.slice(node.lastIndexOf(':resno '));
                const name = /:resname (\S+)/.exec(tail)?.[1] ?? null;
                const resjunk = /:resjunk true/.test(tail);
                if (!resjunk) {
                    out.push({
                        name: name === '<>' || name === null ? null : name.replace(/\\(.)/g, '$1'),
                        origTable: Number(/:resorigtbl (\d+)/.exec(tail)?.[1] ?? 0),
                        origCol: Number(/:resorigcol (\d+)/.exec(tail)?.[1] ?? 0),
                    });
                }
                k = e;
                d--;
            }
        } else if (ch === ')' || ch === '}') d--;
    }
    return out;
}
