// From decoded transactions to what each subscriber receives, in commit order:
//   - realtime.messages inserts → broadcasts to the topic (broadcast from the database);
//   - row changes of published tables → `postgres_changes` messages, shaped as Supabase's
//     postgres_cdc_rls shapes them, for the subscriptions whose event, table and filters
//     match and — for tables with RLS — only when the subscriber's role and claims can
//     select the row. Both checks run in the database: the WAL values are typed with
//     the table's row type (jsonb_populate_record), filters are compared with the
//     column type's operators, and visibility is a SELECT run as the subscriber.
import type pg from 'pg';
import { actAs } from './authorization.js';
import type { Logger } from './connection.js';
import { RealtimeErrors } from './errors.js';
import { subscriptionMatches, type ChangeSubscription, type ColumnFilter } from './filters.js';
import type { Channel, Hub } from './hub.js';
import type { RelationMessage, RowChange, Transaction, Tuple } from './pgoutput.js';
import { encodeFrame, type BroadcastBody } from './serializer.js';
import type { Identity } from './tokens.js';

/** Records larger than this are sent with `Error 413` and only their short values. */
const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_TRIMMED_VALUE_BYTES = 64;

interface Column {
    name: string;
    /** pg_type.typname, as Realtime's `columns` lists it (e.g. int8, text, _int4). */
    type: string;
    /** The SQL type with modifiers, to cast filter values to (e.g. character(3)). */
    sqlType: string;
}

interface TableInfo {
    relid: number;
    schema: string;
    table: string;
    rls: boolean;
    columns: Column[];
    primaryKey: string[];
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const OPERATORS: Record<Exclude<ColumnFilter['op'], 'in'>, string> = { eq: '=', neq: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

export interface DispatchStats {
    transactions: number;
    changes: number;
    deliveries: number;
}

export class ChangeDispatcher {
    private readonly tables = new Map<number, { relation: RelationMessage; info: TableInfo }>();
    readonly stats: DispatchStats = { transactions: 0, changes: 0, deliveries: 0 };

    constructor(
        private readonly pool: pg.Pool,
        private readonly hub: Hub,
        private readonly log: Logger,
    ) {}

    // -----------------------------------------------------------------------
    // Subscribing
    // -----------------------------------------------------------------------

    /** undefined when `subscription` is acceptable for `identity`, else the message of the `system` error. */
    async validate(identity: Identity, subscription: ChangeSubscription): Promise<string | undefined> {
        const refuse = () =>
            RealtimeErrors.unableToSubscribe(
                `event: ${subscription.event}, schema: ${subscription.schema}, table: ${subscription.table ?? '*'}, filters: [${subscription.filters
                    .map((f) => `{${JSON.stringify(f.column)}, ${JSON.stringify(f.op)}, ${JSON.stringify(f.value)}}`)
                    .join(', ')}]`,
            );
        if (subscription.table === undefined) return subscription.filters.length ? refuse() : undefined;
        const found = await this.pool.query<{ relid: string }>(
            `select c.oid::int8 as relid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
            [subscription.schema, subscription.table],
        );
        if (!found.rows[0]) return refuse();
        if (!subscription.filters.length) return undefined;
        const info = await this.loadTable(Number(found.rows[0].relid));
        const client = await this.pool.connect();
        try {
            for (const filter of subscription.filters) {
                const column = info.columns.find((c) => c.name === filter.column);
                if (!column) return refuse();
                // The filtered column must be one the role may select, and the value of its type.
                const allowed = await client.query<{ ok: boolean }>(`select pg_catalog.has_column_privilege($1, $2::oid, $3, 'SELECT') as ok`, [
                    identity.role,
                    info.relid,
                    column.name,
                ]);
                if (!allowed.rows[0]?.ok) return refuse();
                try {
                    await client.query(`select $1::text::${column.sqlType}${filter.op === 'in' ? '[]' : ''}`, [filter.value]);
                } catch {
                    return refuse();
                }
            }
        } catch {
            return refuse();
        } finally {
            client.release();
        }
        return undefined;
    }

    // -----------------------------------------------------------------------
    // Dispatching a batch of transactions
    // -----------------------------------------------------------------------

    async dispatch(transactions: Transaction[]): Promise<void> {
        this.stats.transactions += transactions.length;
        const subscribers = this.hub.changeSubscribers();
        // Per row change: which subscriptions of which channels receive it, and what.
        const plans = new Map<RowChange, Array<{ channel: Channel; ids: number[]; payload: Record<string, unknown> }>>();
        const byRelation = new Map<number, Array<{ change: RowChange; commitTime: Date }>>();
        for (const tx of transactions) {
            for (const change of tx.changes) {
                if (isMessagesTable(change.relation)) continue;
                this.stats.changes++;
                if (!subscribers.some((c) => c.changes.some((s) => subscriptionMatches(s.subscription, change.relation.schema, change.relation.table, change.type)))) continue;
                let list = byRelation.get(change.relation.relationId);
                if (!list) byRelation.set(change.relation.relationId, (list = []));
                list.push({ change, commitTime: tx.commitTime });
            }
        }
        for (const [, changes] of byRelation) {
            try {
                await this.planRelation(changes, subscribers, plans);
            } catch (error) {
                const rel = changes[0]!.change.relation;
                this.log({ level: 'error', msg: 'realtime: changes not delivered', table: `${rel.schema}.${rel.table}`, changes: changes.length, error: (error as Error).message });
            }
        }
        // Delivery in commit order, broadcasts from realtime.messages included.
        for (const tx of transactions) {
            for (const change of tx.changes) {
                if (isMessagesTable(change.relation)) {
                    if (change.type === 'INSERT') this.deliverMessage(change.relation, change.new);
                    continue;
                }
                for (const { channel, ids, payload } of plans.get(change) ?? []) {
                    channel.socket.send(
                        encodeFrame({ joinRef: null, ref: null, topic: channel.topic, event: 'postgres_changes', payload: { ids, data: payload } }, channel.socket.vsn),
                    );
                    this.stats.deliveries++;
                }
            }
        }
    }

    private deliverMessage(relation: RelationMessage, tuple: Tuple): void {
        const row = Object.fromEntries(relation.columns.map((c, i) => [c.name, tuple[i]]));
        if (row.extension !== 'broadcast' || typeof row.topic !== 'string') return;
        let body: BroadcastBody;
        if (typeof row.binary_payload === 'string') {
            body = { encoding: 'binary', bytes: Buffer.from(row.binary_payload.replace(/^\\x/, ''), 'hex') };
        } else {
            body = { encoding: 'json', value: typeof row.payload === 'string' ? JSON.parse(row.payload) : null };
        }
        const meta = typeof row.id === 'string' ? { id: row.id } : undefined;
        this.hub.broadcast({ subTopic: row.topic, private: row.private === 't', event: typeof row.event === 'string' ? row.event : '', body, meta });
    }

    private async planRelation(
        changes: Array<{ change: RowChange; commitTime: Date }>,
        subscribers: Channel[],
        plans: Map<RowChange, Array<{ channel: Channel; ids: number[]; payload: Record<string, unknown> }>>,
    ): Promise<void> {
        const relation = changes[0]!.change.relation;
        const info = await this.tableFor(relation);
        const interested = subscribers.filter((c) =>
            c.changes.some((s) => (['INSERT', 'UPDATE', 'DELETE'] as const).some((type) => subscriptionMatches(s.subscription, info.schema, info.table, type))),
        );

        // Distinct filters of the interested subscriptions, evaluated once per change.
        const filterKeys: string[] = [];
        const filterList: ColumnFilter[] = [];
        for (const channel of interested) {
            for (const { subscription } of channel.changes) {
                for (const f of subscription.filters) {
                    const key = JSON.stringify(f);
                    if (!filterKeys.includes(key)) {
                        filterKeys.push(key);
                        filterList.push(f);
                    }
                }
            }
        }

        // 1. Typed records and filter results, from the WAL values.
        const entries: Array<Record<string, unknown>> = [];
        const slots: Array<{ newAt?: number; oldAt?: number }> = [];
        for (const { change } of changes) {
            const slot: { newAt?: number; oldAt?: number } = {};
            if (change.type !== 'DELETE') {
                slot.newAt = entries.length;
                entries.push(tupleObject(relation, info, change.new));
            }
            if (change.type !== 'INSERT' && change.old) {
                slot.oldAt = entries.length;
                entries.push(tupleObject(relation, info, change.old));
            }
            slots.push(slot);
        }
        const filterSql = filterList.map((f, k) => {
            const column = info.columns.find((c) => c.name === f.column);
            if (!column) return 'false';
            const value = `($2::text[])[${k + 1}]`;
            return f.op === 'in'
                ? `coalesce(r.${ident(column.name)} = any(${value}::${column.sqlType}[]), false)`
                : `coalesce(r.${ident(column.name)} ${OPERATORS[f.op]} ${value}::${column.sqlType}, false)`;
        });
        const typed = await this.pool.query<{ record: string; matches: boolean[] | null }>(
            `select row_to_json(r)::text as record, array[${filterSql.join(', ')}]::boolean[] as matches
             from unnest($1::jsonb[]) with ordinality as u(x, i)
             cross join lateral jsonb_populate_record(null::${ident(info.schema)}.${ident(info.table)}, u.x) as r
             order by u.i`,
            filterList.length ? [entries.map((e) => JSON.stringify(e)), filterList.map((f) => f.value)] : [entries.map((e) => JSON.stringify(e))],
        );
        const records = typed.rows.map((row, i) => {
            const full = JSON.parse(row.record) as Record<string, unknown>;
            // Unchanged TOASTed values were not in the WAL: leave them out, as Realtime does.
            for (const key of Object.keys(full)) if (!(key in entries[i]!)) delete full[key];
            return full;
        });
        const matches = typed.rows.map((row) => row.matches ?? []);


        // 2. Per role: which columns it may select. Per claims: which rows it may see (RLS).
        const groups = new Map<string, { identity: Identity; channels: Channel[] }>();
        for (const channel of interested) {
            const key = `${channel.identity.role}\u0000${JSON.stringify(channel.identity.claims)}`;
            let group = groups.get(key);
            if (!group) groups.set(key, (group = { identity: channel.identity, channels: [] }));
            group.channels.push(channel);
        }
        const roles = [...new Set([...groups.values()].map((g) => g.identity.role))];
        const privileges = await this.columnPrivileges(info, roles);
        const visibility = new Map<string, Set<number>>();
        const checkable = changes.map((c, i) => ({ c, i })).filter(({ c }) => c.change.type !== 'DELETE');
        if (info.rls && info.primaryKey.length && checkable.length) {
            await Promise.all(
                [...groups.entries()].map(async ([key, group]) => {
                    if (!privileges.get(group.identity.role)?.table) return;
                    visibility.set(key, await this.visibleRows(info, group.identity, checkable.map(({ i }) => records[slots[i]!.newAt!]!), checkable.map(({ i }) => i)));
                }),
            );
        }

        // 3. Plans: per change, per interested channel, the matching subscription ids.
        changes.forEach(({ change, commitTime }, i) => {
            const slot = slots[i]!;
            const subject = change.type === 'DELETE' ? slot.oldAt : slot.newAt;
            const payloads = new Map<string, Record<string, unknown>>();
            const out: Array<{ channel: Channel; ids: number[]; payload: Record<string, unknown> }> = [];
            for (const [key, group] of groups) {
                const privilege = privileges.get(group.identity.role);
                const visible = !info.rls || change.type === 'DELETE' || !info.primaryKey.length || visibility.get(key)?.has(i) === true;
                if (privilege?.table && !visible) continue;
                for (const channel of group.channels) {
                    const ids = channel.changes
                        .filter(({ subscription }) => subscriptionMatches(subscription, info.schema, info.table, change.type))
                        .filter(({ subscription }) =>
                            subscription.filters.every((f) => subject !== undefined && matches[subject]![filterKeys.indexOf(JSON.stringify(f))] === true),
                        )
                        .map(({ id }) => id);
                    if (!ids.length) continue;
                    const role = group.identity.role;
                    let payload = payloads.get(role);
                    if (payload === undefined) {
                        payload = changeData(info, change, commitTime, privilege, slot.newAt !== undefined ? records[slot.newAt] : undefined, slot.oldAt !== undefined ? records[slot.oldAt] : undefined, relation);
                        payloads.set(role, payload);
                    }
                    out.push({ channel, ids, payload });
                }
            }
            if (out.length) plans.set(change, out);
        });
    }

    /** Indexes (into `changeIndexes`) of the rows the user can select now, checked as that user. */
    private async visibleRows(info: TableInfo, identity: Identity, records: Array<Record<string, unknown>>, changeIndexes: number[]): Promise<Set<number>> {
        const client = await this.pool.connect();
        try {
            await client.query('begin read only');
            await actAs(client, identity);
            const pk = info.primaryKey.map((c) => `t.${ident(c)} = r.${ident(c)}`).join(' and ');
            const table = `${ident(info.schema)}.${ident(info.table)}`;
            const keys = records.map((rec) => JSON.stringify(Object.fromEntries(info.primaryKey.map((c) => [c, rec[c]]))));
            const result = await client.query<{ i: string }>(
                `select u.i from unnest($1::jsonb[]) with ordinality as u(x, i)
                 cross join lateral jsonb_populate_record(null::${table}, u.x) as r
                 where exists (select 1 from ${table} as t where ${pk})`,
                [keys],
            );
            return new Set(result.rows.map((row) => changeIndexes[Number(row.i) - 1]!));
        } catch (error) {
            // No privilege on the key columns, a policy that fails: the user sees nothing.
            this.log({ level: 'warn', msg: 'realtime: RLS check failed', table: `${info.schema}.${info.table}`, role: identity.role, error: (error as Error).message });
            return new Set();
        } finally {
            await client.query('rollback').catch(() => {});
            client.release();
        }
    }

    private async columnPrivileges(info: TableInfo, roles: string[]): Promise<Map<string, { table: boolean; columns: Set<string> }>> {
        const result = await this.pool.query<{ role: string; table: boolean; columns: string[] | null }>(
            `select r.role,
                    pg_catalog.has_table_privilege(r.role, $1::oid, 'SELECT') as table,
                    (select array_agg(a.attname::text order by a.attnum) from pg_catalog.pg_attribute a
                     where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped
                       and pg_catalog.has_column_privilege(r.role, $1::oid, a.attnum, 'SELECT')) as columns
             from unnest($2::text[]) as r(role)
             where exists (select 1 from pg_catalog.pg_roles where rolname = r.role)`,
            [info.relid, roles],
        );
        return new Map(result.rows.map((row) => [row.role, { table: row.table || (row.columns?.length ?? 0) > 0, columns: new Set(row.columns ?? []) }]));
    }

    private async tableFor(relation: RelationMessage): Promise<TableInfo> {
        const cached = this.tables.get(relation.relationId);
        if (cached && cached.relation === relation) return cached.info;
        const info = await this.loadTable(relation.relationId);
        this.tables.set(relation.relationId, { relation, info });
        return info;
    }

    private async loadTable(relid: number): Promise<TableInfo> {
        const result = await this.pool.query<{ schema: string; table: string; rls: boolean; columns: Column[]; pk: string[] }>(
            `select n.nspname as schema, c.relname as table, c.relrowsecurity as rls,
                    coalesce((select json_agg(json_build_object('name', a.attname, 'type', t.typname,
                                  'sqlType', pg_catalog.format_type(a.atttypid, a.atttypmod)) order by a.attnum)
                              from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
                              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]') as columns,
                    coalesce((select json_agg(a.attname order by array_position(i.indkey::int2[], a.attnum))
                              from pg_catalog.pg_index i join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
                              where i.indrelid = c.oid and i.indisprimary), '[]') as pk
             from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where c.oid = $1::oid`,
            [relid],
        );
        const row = result.rows[0];
        if (!row) throw new Error(`relation ${relid} no longer exists`);
        return { relid, schema: row.schema, table: row.table, rls: row.rls, columns: row.columns, primaryKey: row.pk };
    }
}

function isMessagesTable(relation: RelationMessage): boolean {
    return relation.schema === 'realtime' && relation.table === 'messages';
}

/** WAL values as a JSON object for jsonb_populate_record: text stays text (the type's input function reads it), json(b) is parsed. */
function tupleObject(relation: RelationMessage, info: TableInfo, tuple: Tuple): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    relation.columns.forEach((column, i) => {
        const value = tuple[i];
        if (value === undefined) return;
        const type = info.columns.find((c) => c.name === column.name)?.type;
        out[column.name] = value !== null && (type === 'json' || type === 'jsonb') ? JSON.parse(value) : value;
    });
    return out;
}

/** The `data` of a postgres_changes message, as postgres_cdc_rls builds it for one role. */
function changeData(
    info: TableInfo,
    change: RowChange,
    commitTime: Date,
    privilege: { table: boolean; columns: Set<string> } | undefined,
    record: Record<string, unknown> | undefined,
    old: Record<string, unknown> | undefined,
    relation: RelationMessage,
): Record<string, unknown> {
    if (!privilege?.table) return { schema: info.schema, table: info.table, type: change.type, errors: [RealtimeErrors.unauthorizedChange] };
    const data: Record<string, unknown> = {
        schema: info.schema,
        table: info.table,
        commit_timestamp: commitTime.toISOString(),
        type: change.type,
        columns: info.columns.filter((c) => privilege.columns.has(c.name)).map((c) => ({ name: c.name, type: c.type })),
    };
    const errors: string[] = [];
    if (!info.primaryKey.length) {
        errors.push(RealtimeErrors.noPrimaryKey);
        data.errors = errors;
        return data;
    }
    const visible = (rec: Record<string, unknown>) => Object.fromEntries(Object.entries(rec).filter(([k]) => privilege.columns.has(k)));
    const keyOnly = (rec: Record<string, unknown>) => Object.fromEntries(Object.entries(rec).filter(([k]) => info.primaryKey.includes(k) && privilege.columns.has(k)));
    if (record) data.record = visible(record);
    if (change.type !== 'INSERT') {
        // The old row is the whole row only under REPLICA IDENTITY FULL, and never for
        // RLS tables' deletes (RLS is not checked for them): otherwise its primary key.
        const full = relation.replicaIdentity === 'f' && old && !(info.rls && change.type === 'DELETE');
        const source = old ?? record ?? {};
        data.old_record = full ? visible(source) : keyOnly(source);
    }
    const size = Buffer.byteLength(JSON.stringify(data));
    if (size > MAX_RECORD_BYTES) {
        errors.push(RealtimeErrors.changeTooLarge);
        const trim = (rec: unknown) =>
            rec && typeof rec === 'object'
                ? Object.fromEntries(Object.entries(rec).filter(([, v]) => Buffer.byteLength(JSON.stringify(v) ?? '') <= MAX_TRIMMED_VALUE_BYTES))
                : rec;
        if (data.record) data.record = trim(data.record);
        if (data.old_record) data.old_record = trim(data.old_record);
    }
    data.errors = errors.length ? errors : null;
    return data;
}
