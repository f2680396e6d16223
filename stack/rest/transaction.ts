// One request's transaction on a pooled `authenticator` connection, in one round trip.
//
// PostgREST runs every request as BEGIN → transaction-local settings → statement → COMMIT.
// Sent one after the other that is four round trips. Here they go out as one pipeline of
// the extended query protocol — Parse (first time only) / Bind / Execute per step and a
// single Sync at the end — written to the socket at once, and their answers come back
// together. The settings cannot be folded into the statement itself: `role` must be in
// force when the statement is planned (privileges and RLS policies are applied then), so
// it is a step of its own, but not a round trip of its own.
//
// When nothing the response decides can change how the transaction ends (a read-only
// transaction, or `Prefer: tx=rollback`), COMMIT/ROLLBACK is the pipeline's last step.
// Writes keep their end for a second round trip: a response check (a singular `Accept`
// seeing 2 rows, `max-affected`) must still be able to roll them back. If a step fails,
// Postgres skips the rest of the pipeline (the transaction is aborted) and a ROLLBACK
// follows: errors cost one more round trip, successes never do.
//
// Statements are named prepared statements, one per distinct SQL text (the text is the
// plan shape: request values are always parameters), so a repeated request shape skips
// parsing and planning. A connection's prepared statements are tied to the schema they
// were prepared against: after a schema reload `invalidate()` retires every connection in
// use (as PostgREST flushes its pool), and a connection that has accumulated too many
// statements is closed rather than reused.
import { createHash } from 'node:crypto';
import type pg from 'pg';

export interface SqlStep {
    text: string;
    values?: readonly unknown[];
    /** Prepare under this name (see `preparedName`); omitted → the unnamed statement. */
    name?: string;
}

/** A row as Postgres sends it in text format: one string (or null) per column. */
export type TextRow = (string | null)[];

export type TransactionEnd = 'commit' | 'rollback';

/** Prepared statements one connection may hold before it is closed instead of reused. */
const MAX_PREPARED_PER_CONNECTION = 500;

const step = (text: string): SqlStep => ({ text, name: preparedName(text) });
const BEGIN_READ_ONLY = step('BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY');
const BEGIN_READ_WRITE = step('BEGIN ISOLATION LEVEL READ COMMITTED');
const END_STEPS: Record<TransactionEnd, SqlStep> = { commit: step('COMMIT'), rollback: step('ROLLBACK') };

/** The prepared-statement name of an SQL text: stable across connections and restarts. */
export function preparedName(text: string): string {
    return 'pgrst_' + createHash('sha1').update(text).digest('base64url');
}

/** An error without SQLSTATE: the connection itself failed (reset, ended), never reuse it. */
function isConnectionFailure(error: unknown): boolean {
    return typeof (error as { code?: unknown })?.code !== 'string';
}

interface ConnectionState {
    generation: number;
    /** Names of the statements this connection has prepared. */
    prepared: Set<string>;
    /** ParseComplete messages seen on the connection (which Parses of a pipeline succeeded). */
    parsed: number;
}

export class TransactionPool {
    private generation = 0;
    private readonly states = new WeakMap<pg.PoolClient, ConnectionState>();

    constructor(private readonly pool: pg.Pool) {}

    /** The schema was reloaded: statements prepared before now may no longer fit it. */
    invalidate(): void {
        this.generation++;
    }

    /** A connection of the current schema generation (older ones are closed on the way). */
    async begin(readOnly: boolean): Promise<RequestTransaction> {
        for (;;) {
            const client = await this.pool.connect();
            let state = this.states.get(client);
            if (state && state.generation !== this.generation) {
                client.release(true);
                continue;
            }
            if (!state) {
                const fresh: ConnectionState = { generation: this.generation, prepared: new Set(), parsed: 0 };
                client.connection.on('parseComplete', () => fresh.parsed++);
                this.states.set(client, (state = fresh));
            }
            return new RequestTransaction(client, state, readOnly);
        }
    }
}

/**
 * The steps of one pipeline as a pg "submittable": pg hands it every message of the
 * backend until ReadyForQuery (or the first ErrorResponse), as it does for its own queries.
 */
class Pipeline implements pg.Submittable {
    readonly done: Promise<TextRow[][]>;
    private resolve!: (rows: TextRow[][]) => void;
    private reject!: (error: unknown) => void;
    private readonly rows: TextRow[][];
    private current = 0;
    /** Statement name (or '' for unnamed) of each Parse sent, in order. */
    private readonly parses: string[] = [];
    private parsedBefore = 0;
    private settled = false;

    constructor(
        private readonly steps: SqlStep[],
        private readonly state: ConnectionState,
    ) {
        this.rows = steps.map(() => []);
        this.done = new Promise((resolve, reject) => {
            this.resolve = resolve;
            this.reject = reject;
        });
    }

    submit(connection: pg.Connection): void {
        this.parsedBefore = this.state.parsed;
        // Corked, the whole pipeline leaves in one write (one system call, one packet).
        connection.stream.cork();
        try {
            for (const s of this.steps) {
                const name = s.name ?? '';
                if (!s.name || !this.state.prepared.has(s.name)) {
                    connection.parse({ name, text: s.text, types: [] }, true);
                    this.parses.push(name);
                }
                connection.bind({ statement: name, values: (s.values ?? []).map(bindValue) }, true);
                connection.execute({}, true);
            }
            connection.sync();
        } finally {
            connection.stream.uncork();
        }
    }

    handleRowDescription(): void {}

    handleDataRow(message: { fields: TextRow }): void {
        this.rows[this.current]?.push(message.fields);
    }

    handleCommandComplete(): void {
        this.current++;
    }

    handleEmptyQuery(): void {
        this.current++;
    }

    handlePortalSuspended(): void {}

    handleCopyInResponse(connection: pg.Connection & { sendCopyFail(message: string): void }): void {
        connection.sendCopyFail('COPY is not supported here');
    }

    handleCopyData(): void {}

    handleReadyForQuery(): void {
        this.finish();
        this.resolve(this.rows);
    }

    handleError(error: unknown): void {
        this.finish();
        this.reject(error);
    }

    /** Remembers the statements this pipeline prepared (those whose Parse completed). */
    private finish(): void {
        if (this.settled) return;
        this.settled = true;
        const completed = this.state.parsed - this.parsedBefore;
        for (let i = 0; i < completed && i < this.parses.length; i++) if (this.parses[i]) this.state.prepared.add(this.parses[i]!);
    }
}

/** Bind values travel as text, bytes (a bytea body) as binary. */
function bindValue(value: unknown): string | Buffer | null {
    if (value === null || value === undefined) return null;
    return typeof value === 'string' || Buffer.isBuffer(value) ? value : String(value);
}

export class RequestTransaction {
    private open = false;
    private broken = false;
    private released = false;

    constructor(
        private readonly client: pg.PoolClient,
        private readonly state: ConnectionState,
        private readonly readOnly: boolean,
    ) {}

    /**
     * BEGIN, `setup`, `main` and (given `end`) COMMIT/ROLLBACK in one round trip; the rows
     * of `main`. Throws the first error a step raised, with the transaction rolled back.
     */
    async run(setup: SqlStep[], main: SqlStep, end?: TransactionEnd): Promise<TextRow[]> {
        const steps = [this.readOnly ? BEGIN_READ_ONLY : BEGIN_READ_WRITE, ...setup, main];
        if (end) steps.push(END_STEPS[end]);
        const pipeline = new Pipeline(steps, this.state);
        this.open = true;
        this.client.query(pipeline);
        try {
            const rows = await pipeline.done;
            this.open = end === undefined;
            return rows[setup.length + 1]!;
        } catch (error) {
            // Postgres skipped every step after the failing one, the pipelined end included.
            if (isConnectionFailure(error)) this.broken = true;
            else await this.end('rollback').catch(() => undefined);
            this.open = false;
            throw error;
        }
    }

    /** One more statement inside the open transaction (rows as pg parses them). */
    async query(step: SqlStep): Promise<Record<string, unknown>[]> {
        try {
            return (await this.client.query({ text: step.text, values: step.values as unknown[] | undefined })).rows as Record<string, unknown>[];
        } catch (error) {
            if (isConnectionFailure(error)) this.broken = true;
            throw error;
        }
    }

    /** Ends the transaction unless the pipeline already did. */
    async end(how: TransactionEnd): Promise<void> {
        if (!this.open || this.broken) return;
        this.open = false;
        try {
            await this.client.query(how === 'commit' ? 'COMMIT' : 'ROLLBACK');
        } catch (error) {
            if (isConnectionFailure(error)) this.broken = true;
            throw error;
        }
    }

    /** Back to the pool: rolled back if still open, closed if broken or overgrown. */
    async release(): Promise<void> {
        if (this.released) return;
        if (this.open && !this.broken) await this.end('rollback').catch(() => undefined);
        this.released = true;
        this.client.release(this.broken || this.state.prepared.size > MAX_PREPARED_PER_CONNECTION);
    }
}
