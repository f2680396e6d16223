// The database's own change stream: a logical replication slot with the pgoutput plugin,
// decoding the publications `supabase_realtime` (postgres_changes) and
// `supabase_realtime_messages_publication` (broadcast from the database), read by
// polling it over SQL — `pg_logical_slot_get_binary_changes` — as Supabase's
// postgres_cdc_rls polls its slot (docs/realtime.md says why not a replication
// connection). Each poll consumes whole committed transactions in commit order, so a
// change is handed over once; the next poll starts after the handler has finished.
//
// Slot lifecycle: created at start (a slot left by a stack that was killed is dropped
// first, its changes belong to nobody), kept across Postgres restarts (the loop
// reconnects and resumes where it stopped: nothing committed meanwhile is lost), and
// dropped on stop, so a stopped stack does not make Postgres keep WAL for it.
import type pg from 'pg';
import { createPgClient } from '../db/connect.js';
import type { Logger } from './connection.js';
import { decodePgOutput, groupTransactions, type RelationMessage, type Transaction } from './pgoutput.js';

export const PUBLICATIONS = ['supabase_realtime', 'supabase_realtime_messages_publication'];

export interface ChangeStreamOptions {
    /** Superuser URL of the database. */
    dbUrl: string;
    slotName: string;
    /** Wait between polls that found nothing. */
    pollIntervalMs: number;
    /** Most changes per poll (whole transactions are always read to their end). */
    maxChangesPerPoll: number;
    onTransactions(transactions: Transaction[]): Promise<void>;
    log: Logger;
}

export interface ChangeStreamStats {
    polls: number;
    messages: number;
    transactions: number;
    /** Why the stream is not decoding right now, if it is not. */
    lastError?: string;
}

/** A slot name for a database: lower-case letters, digits and underscores, at most 63 bytes. */
export function slotNameFor(database: string): string {
    return `tillbase_realtime_${database.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export class ChangeStream {
    readonly stats: ChangeStreamStats = { polls: 0, messages: 0, transactions: 0 };
    private client?: pg.Client;
    private stopped = false;
    private loop?: Promise<void>;
    private wake?: () => void;
    private readonly relations = new Map<number, RelationMessage>();
    private readyResolve!: () => void;
    /** Resolves once the slot exists and polling runs. */
    readonly ready: Promise<void> = new Promise((resolve) => (this.readyResolve = resolve));

    constructor(private readonly options: ChangeStreamOptions) {}

    /** Creates the slot (replacing a stale one) and starts polling; resolves when the slot exists. */
    async start(): Promise<void> {
        const client = await this.connect();
        await client.query(
            `select pg_catalog.pg_drop_replication_slot(slot_name) from pg_catalog.pg_replication_slots
             where slot_name = $1 and not active`,
            [this.options.slotName],
        );
        await client.query(`select pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')`, [this.options.slotName]);
        this.readyResolve();
        this.loop = this.run();
    }

    /** Stops polling and drops the slot. */
    async stop(): Promise<void> {
        this.stopped = true;
        this.wake?.();
        await this.loop;
        try {
            const client = this.client ?? (await this.connect());
            await client.query(
                `select pg_catalog.pg_drop_replication_slot(slot_name) from pg_catalog.pg_replication_slots where slot_name = $1`,
                [this.options.slotName],
            );
        } catch (error) {
            this.options.log({ level: 'warn', msg: 'realtime: could not drop the replication slot', slot: this.options.slotName, error: (error as Error).message });
        } finally {
            await this.client?.end().catch(() => {});
            this.client = undefined;
        }
    }

    /** Polls now instead of at the end of the current wait (tests and benchmarks). */
    poke(): void {
        this.wake?.();
    }

    private async connect(): Promise<pg.Client> {
        if (this.client) return this.client;
        const client = createPgClient({ connectionString: this.options.dbUrl, application_name: 'tillbase realtime' }, () => {
            // The connection died (Postgres restarted): the loop notices on its next query.
            if (this.client === client) this.client = undefined;
        });
        await client.connect();
        // Every poll starts a decoding context, which Postgres logs at LOG level ("starting
        // logical decoding for slot …", with the statement): tens of lines a second in the
        // server log. For the server log LOG ranks above ERROR, so only `fatal` silences
        // it; this session's errors still reach this client, which logs them once a streak.
        await client.query(`set log_min_messages = fatal`);
        this.client = client;
        return client;
    }

    private async run(): Promise<void> {
        let failing = false;
        while (!this.stopped) {
            let found = 0;
            try {
                const client = await this.connect();
                const poll = () =>
                    client.query<{ data: Buffer }>(
                        `select data from pg_catalog.pg_logical_slot_get_binary_changes($1, null, $2,
                            'proto_version', '1', 'publication_names', $3)`,
                        [this.options.slotName, this.options.maxChangesPerPoll, PUBLICATIONS.join(',')],
                    );
                const result = await poll().catch(async (error: { code?: string }) => {
                    // 42704: the slot was dropped behind our back (database reset): start over from now.
                    if (error.code !== '42704') throw error;
                    await client.query(`select pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')`, [this.options.slotName]);
                    this.relations.clear();
                    return poll();
                });
                this.stats.polls++;
                found = result.rows.length;
                if (found) {
                    this.stats.messages += found;
                    const transactions = groupTransactions(result.rows.map((row) => decodePgOutput(row.data)), this.relations);
                    this.stats.transactions += transactions.length;
                    try {
                        await this.options.onTransactions(transactions);
                    } catch (error) {
                        this.options.log({ level: 'error', msg: 'realtime: delivering changes failed', error: String((error as Error)?.stack ?? error) });
                    }
                }
                if (failing) this.options.log({ level: 'info', msg: 'realtime: change stream resumed', slot: this.options.slotName });
                failing = false;
                this.stats.lastError = undefined;
            } catch (error) {
                if (this.stopped) break;
                const message = (error as Error).message;
                if (!failing) this.options.log({ level: 'warn', msg: 'realtime: change stream interrupted, retrying every second', error: message });
                failing = true;
                this.stats.lastError = message;
                await this.client?.end().catch(() => {});
                this.client = undefined;
                await this.sleep(1000);
                continue;
            }
            if (!found) await this.sleep(this.options.pollIntervalMs);
        }
    }

    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            function done() {
                clearTimeout(timer);
                resolve();
            }
            this.wake = done;
        });
    }
}
