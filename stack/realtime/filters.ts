// postgres_changes subscription parameters as Realtime's postgres_cdc_rls parses them:
// `{event, schema, table?, filter?}` where filter is `column=op.value` with op one of
// eq, neq, lt, lte, gt, gte, in (`in.(a,b)`, turned into the array literal `{a,b}`).
// Pure: the database checks columns and values when the subscription is created.

export type ChangeEvent = 'INSERT' | 'UPDATE' | 'DELETE';
export type EventFilter = ChangeEvent | '*';
export const FILTER_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export interface ColumnFilter {
    column: string;
    op: FilterOp;
    /** The value as text; for `in`, a Postgres array literal `{a,b}` cast to the column's array type. */
    value: string;
}

/** One accepted postgres_changes entry of a join. */
export interface ChangeSubscription {
    event: EventFilter;
    /** `*` = every schema. */
    schema: string;
    /** Undefined = every table of the schema. */
    table?: string;
    filters: ColumnFilter[];
    /** The entry as the client sent it, echoed in the join reply with its id. */
    echo: Record<string, unknown>;
}

/** Most values an `in` filter may list (Realtime's limit). */
export const MAX_IN_VALUES = 100;

export type ParseResult = { ok: true; subscription: ChangeSubscription } | { ok: false; message: string };

/** Parses one entry of `config.postgres_changes`. */
export function parseChangeSubscription(entry: Record<string, unknown>): ParseResult {
    const rawEvent = typeof entry.event === 'string' ? entry.event.toUpperCase() : '*';
    const event: EventFilter = rawEvent === 'INSERT' || rawEvent === 'UPDATE' || rawEvent === 'DELETE' ? rawEvent : '*';
    const table = typeof entry.table === 'string' && entry.table !== '' && entry.table !== '*' ? entry.table : undefined;
    // A table without a schema means public.
    const schema = typeof entry.schema === 'string' && entry.schema !== '' ? entry.schema : table ? 'public' : '*';
    const echo = { ...entry };
    const filters: ColumnFilter[] = [];
    if (typeof entry.filter === 'string' && entry.filter !== '') {
        const parsed = parseFilter(entry.filter);
        if (!parsed.ok) return { ok: false, message: parsed.message };
        filters.push(parsed.filter);
    }
    return { ok: true, subscription: { event, schema, table, filters, echo } };
}

type FilterResult = { ok: true; filter: ColumnFilter } | { ok: false; message: string };

export function parseFilter(filter: string): FilterResult {
    const fail = (reason: string): FilterResult => ({ ok: false, message: `Error parsing \`filter\` params: ${reason}` });
    const eq = filter.indexOf('=');
    if (eq < 0) return fail(inspectList([filter]));
    const column = filter.slice(0, eq);
    const rest = filter.slice(eq + 1);
    const dot = rest.indexOf('.');
    const parts = dot < 0 ? [rest] : [rest.slice(0, dot), rest.slice(dot + 1)];
    if (parts.length !== 2 || !(FILTER_OPS as readonly string[]).includes(parts[0]!)) return fail(inspectList(parts));
    const op = parts[0] as FilterOp;
    let value = parts[1]!;
    if (op === 'in') {
        const m = /^\((.*)\)$/s.exec(value);
        if (!m) return fail('`in` filter value must be wrapped by parentheses');
        if (splitList(m[1]!).length > MAX_IN_VALUES) return fail(`\`in\` filter value cannot have more than ${MAX_IN_VALUES} values`);
        value = `{${m[1]}}`;
    }
    return { ok: true, filter: { column, op, value } };
}

/** The items of an `in` list, for counting (quoted items may hold commas). */
function splitList(list: string): string[] {
    const items: string[] = [];
    let current = '';
    let quoted = false;
    for (const ch of list) {
        if (ch === '"') quoted = !quoted;
        if (ch === ',' && !quoted) {
            items.push(current);
            current = '';
        } else current += ch;
    }
    items.push(current);
    return items;
}

/** Elixir's `inspect/1` of a list of strings, as Realtime prints unparsable filters. */
export function inspectList(items: string[]): string {
    return `[${items.map((s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`).join(', ')}]`;
}

/** Stable positive id of a postgres_changes entry (Realtime uses the hash of the parameters). */
export function subscriptionId(entry: Record<string, unknown>): number {
    const key = JSON.stringify(Object.keys(entry).sort().map((k) => [k, entry[k]]));
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) {
        h ^= key.charCodeAt(i);
        h = Math.imul(h, 16777619);
    }
    return (h >>> 0) % 134217728;
}

/** Whether a change of `schema.table` with `type` concerns the subscription (filters aside). */
export function subscriptionMatches(subscription: ChangeSubscription, schema: string, table: string, type: ChangeEvent): boolean {
    if (subscription.event !== '*' && subscription.event !== type) return false;
    if (subscription.schema !== '*' && subscription.schema !== schema) return false;
    return subscription.table === undefined || subscription.table === table;
}
