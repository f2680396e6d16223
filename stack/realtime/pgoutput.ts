// Decoder of PostgreSQL's pgoutput logical replication messages (protocol version 1),
// as `pg_logical_slot_get_binary_changes(…, 'proto_version', '1', 'publication_names', …)`
// returns them: one message per row. Column values arrive in text form. Pure.

/** Microseconds between the Unix epoch and Postgres' epoch (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export interface RelationColumn {
    name: string;
    typeOid: number;
    typeMod: number;
    /** Part of the replica identity key. */
    isKey: boolean;
}

export interface RelationMessage {
    tag: 'relation';
    relationId: number;
    schema: string;
    table: string;
    replicaIdentity: 'd' | 'n' | 'f' | 'i';
    columns: RelationColumn[];
}

/** Column values in text form; null = SQL NULL; undefined = an unchanged TOASTed value not sent. */
export type TupleValue = string | null | undefined;
export type Tuple = TupleValue[];

export type PgOutputMessage =
    | { tag: 'begin'; finalLsn: string; commitTime: Date; xid: number }
    | { tag: 'commit'; commitLsn: string; endLsn: string; commitTime: Date }
    | RelationMessage
    | { tag: 'type'; typeOid: number; schema: string; name: string }
    | { tag: 'origin'; lsn: string; name: string }
    | { tag: 'insert'; relationId: number; new: Tuple }
    | { tag: 'update'; relationId: number; key?: Tuple; old?: Tuple; new: Tuple }
    | { tag: 'delete'; relationId: number; key?: Tuple; old?: Tuple }
    | { tag: 'truncate'; relationIds: number[]; cascade: boolean; restartIdentity: boolean }
    | { tag: 'message'; transactional: boolean; lsn: string; prefix: string; content: Buffer };

export class PgOutputError extends Error {}

class Reader {
    offset = 0;
    constructor(private readonly buf: Buffer) {}
    private need(n: number): void {
        if (this.offset + n > this.buf.length) throw new PgOutputError(`pgoutput message truncated at byte ${this.offset}`);
    }
    u8(): number {
        this.need(1);
        return this.buf.readUInt8(this.offset++);
    }
    i16(): number {
        this.need(2);
        const v = this.buf.readInt16BE(this.offset);
        this.offset += 2;
        return v;
    }
    i32(): number {
        this.need(4);
        const v = this.buf.readInt32BE(this.offset);
        this.offset += 4;
        return v;
    }
    u32(): number {
        this.need(4);
        const v = this.buf.readUInt32BE(this.offset);
        this.offset += 4;
        return v;
    }
    u64(): bigint {
        this.need(8);
        const v = this.buf.readBigUInt64BE(this.offset);
        this.offset += 8;
        return v;
    }
    i64(): bigint {
        this.need(8);
        const v = this.buf.readBigInt64BE(this.offset);
        this.offset += 8;
        return v;
    }
    lsn(): string {
        return formatLsn(this.u64());
    }
    time(): Date {
        return new Date(Number((this.i64() + PG_EPOCH_MICROS) / 1000n));
    }
    cstring(): string {
        const end = this.buf.indexOf(0, this.offset);
        if (end < 0) throw new PgOutputError('unterminated string in pgoutput message');
        const s = this.buf.toString('utf8', this.offset, end);
        this.offset = end + 1;
        return s;
    }
    bytes(n: number): Buffer {
        this.need(n);
        const b = this.buf.subarray(this.offset, this.offset + n);
        this.offset += n;
        return b;
    }
    tuple(): Tuple {
        const n = this.i16();
        const values: Tuple = [];
        for (let i = 0; i < n; i++) {
            const kind = String.fromCharCode(this.u8());
            if (kind === 'n') values.push(null);
            else if (kind === 'u') values.push(undefined);
            else if (kind === 't') values.push(this.bytes(this.i32()).toString('utf8'));
            else throw new PgOutputError(`unsupported tuple value kind '${kind}'`);
        }
        return values;
    }
}

/** `X/Y` text form of an LSN, as Postgres prints it. */
export function formatLsn(lsn: bigint): string {
    return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function decodePgOutput(buf: Buffer): PgOutputMessage {
    const r = new Reader(buf);
    const tag = String.fromCharCode(r.u8());
    switch (tag) {
        case 'B':
            return { tag: 'begin', finalLsn: r.lsn(), commitTime: r.time(), xid: r.u32() };
        case 'C': {
            r.u8(); // flags, unused
            return { tag: 'commit', commitLsn: r.lsn(), endLsn: r.lsn(), commitTime: r.time() };
        }
        case 'O':
            return { tag: 'origin', lsn: r.lsn(), name: r.cstring() };
        case 'R': {
            const relationId = r.u32();
            const schema = r.cstring();
            const table = r.cstring();
            const replicaIdentity = String.fromCharCode(r.u8()) as RelationMessage['replicaIdentity'];
            const n = r.i16();
            const columns: RelationColumn[] = [];
            for (let i = 0; i < n; i++) {
                const flags = r.u8();
                columns.push({ isKey: (flags & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
            }
            return { tag: 'relation', relationId, schema, table, replicaIdentity, columns };
        }
        case 'Y':
            return { tag: 'type', typeOid: r.u32(), schema: r.cstring(), name: r.cstring() };
        case 'I': {
            const relationId = r.u32();
            expect(r.u8(), 'N');
            return { tag: 'insert', relationId, new: r.tuple() };
        }
        case 'U': {
            const relationId = r.u32();
            let kind = String.fromCharCode(r.u8());
            let key: Tuple | undefined;
            let old: Tuple | undefined;
            if (kind === 'K' || kind === 'O') {
                if (kind === 'K') key = r.tuple();
                else old = r.tuple();
                kind = String.fromCharCode(r.u8());
            }
            if (kind !== 'N') throw new PgOutputError(`update message: expected N, got ${kind}`);
            return { tag: 'update', relationId, key, old, new: r.tuple() };
        }
        case 'D': {
            const relationId = r.u32();
            const kind = String.fromCharCode(r.u8());
            if (kind === 'K') return { tag: 'delete', relationId, key: r.tuple() };
            if (kind === 'O') return { tag: 'delete', relationId, old: r.tuple() };
            throw new PgOutputError(`delete message: expected K or O, got ${kind}`);
        }
        case 'T': {
            const n = r.i32();
            const options = r.u8();
            const relationIds: number[] = [];
            for (let i = 0; i < n; i++) relationIds.push(r.u32());
            return { tag: 'truncate', relationIds, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
        }
        case 'M': {
            const flags = r.u8();
            const lsn = r.lsn();
            const prefix = r.cstring();
            const content = Buffer.from(r.bytes(r.i32()));
            return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content };
        }
        default:
            throw new PgOutputError(`unknown pgoutput message '${tag}'`);
    }
}

function expect(byte: number, char: string): void {
    if (String.fromCharCode(byte) !== char) throw new PgOutputError(`expected '${char}' in pgoutput message`);
}

// ---------------------------------------------------------------------------
// Transactions: the messages of one poll grouped by commit, with the relation
// each row change refers to resolved.
// ---------------------------------------------------------------------------

export type RowChange =
    | { type: 'INSERT'; relation: RelationMessage; new: Tuple }
    | { type: 'UPDATE'; relation: RelationMessage; new: Tuple; old?: Tuple }
    | { type: 'DELETE'; relation: RelationMessage; old: Tuple };

export interface Transaction {
    xid: number;
    commitTime: Date;
    endLsn: string;
    changes: RowChange[];
}

/**
 * Groups decoded messages into committed transactions, in commit order. Relation
 * messages update `relations` (kept across polls: pgoutput sends a relation once per
 * session and again only when it changes).
 */
export function groupTransactions(messages: PgOutputMessage[], relations: Map<number, RelationMessage>): Transaction[] {
    const out: Transaction[] = [];
    let current: Transaction | undefined;
    const relation = (id: number): RelationMessage => {
        const rel = relations.get(id);
        if (!rel) throw new PgOutputError(`row change for relation ${id} before its relation message`);
        return rel;
    };
    for (const m of messages) {
        switch (m.tag) {
            case 'begin':
                current = { xid: m.xid, commitTime: m.commitTime, endLsn: m.finalLsn, changes: [] };
                break;
            case 'relation':
                relations.set(m.relationId, m);
                break;
            case 'insert':
                current?.changes.push({ type: 'INSERT', relation: relation(m.relationId), new: m.new });
                break;
            case 'update':
                current?.changes.push({ type: 'UPDATE', relation: relation(m.relationId), new: m.new, old: m.old ?? m.key });
                break;
            case 'delete':
                current?.changes.push({ type: 'DELETE', relation: relation(m.relationId), old: (m.old ?? m.key)! });
                break;
            case 'commit':
                if (current) {
                    current.commitTime = m.commitTime;
                    current.endLsn = m.endLsn;
                    out.push(current);
                }
                current = undefined;
                break;
            default:
                break;
        }
    }
    return out;
}
