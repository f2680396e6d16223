// The pure modules of the realtime service, without a database: serializers (checked
// against supabase-js's own Serializer), join payloads, filters, presence, pgoutput.
import Serializer from '@supabase/realtime-js/dist/main/lib/serializer.js';
import { describe, expect, it } from 'vitest';
import { inspectList, parseChangeSubscription, parseFilter, subscriptionId, subscriptionMatches } from '../../../stack/realtime/filters.js';
import { parseJoinPayload, subTopicOf } from '../../../stack/realtime/join.js';
import { decodePgOutput, formatLsn, groupTransactions, type RelationMessage } from '../../../stack/realtime/pgoutput.js';
import { PresenceTopic } from '../../../stack/realtime/presence.js';
import { broadcastJson, decodeInbound, DecodeError, encodeBroadcast, encodeFrame, encodeReply } from '../../../stack/realtime/serializer.js';
import { ManualClock } from '../../../stack/realtime/clock.js';

// The CommonJS build's default export, however the interop wraps it.
const SerializerClass = ((Serializer as unknown as { default?: unknown }).default ?? Serializer) as new () => ClientSerializer;
const client = new SerializerClass();
interface ClientSerializer {
    encode(msg: Record<string, unknown>, cb: (r: ArrayBuffer | string) => unknown): unknown;
    decode(raw: ArrayBuffer | string, cb: (msg: Record<string, unknown>) => unknown): unknown;
}
const encodeWithClient = (msg: Record<string, unknown>) => client.encode(msg, (r) => r) as ArrayBuffer | string;
const decodeWithClient = (raw: ArrayBuffer | string) => client.decode(raw, (m) => m) as Record<string, unknown>;
const toArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe('serializer 2.0.0', () => {
    it('reads the JSON arrays supabase-js sends', () => {
        const raw = encodeWithClient({ join_ref: '1', ref: '2', topic: 'realtime:room', event: 'phx_join', payload: { config: {} } }) as string;
        expect(decodeInbound(raw, false, '2.0.0')).toEqual({
            kind: 'frame',
            frame: { joinRef: '1', ref: '2', topic: 'realtime:room', event: 'phx_join', payload: { config: {} } },
        });
    });

    it('reads kind-3 binary broadcast pushes with JSON and binary payloads, multi-byte fields included', () => {
        const json = encodeWithClient({ join_ref: '1', ref: '7', topic: 'realtime:café', event: 'broadcast', payload: { type: 'broadcast', event: 'ünï', payload: { a: [1, 'é'] } } });
        expect(decodeInbound(Buffer.from(json as ArrayBuffer), true, '2.0.0')).toEqual({
            kind: 'broadcast',
            push: { joinRef: '1', ref: '7', topic: 'realtime:café', event: 'ünï', meta: {}, body: { encoding: 'json', value: { a: [1, 'é'] } } },
        });
        const bytes = new Uint8Array([0, 1, 2, 255]).buffer;
        const bin = encodeWithClient({ join_ref: '1', ref: '8', topic: 'realtime:r', event: 'broadcast', payload: { type: 'broadcast', event: 'b', payload: bytes } });
        const decoded = decodeInbound(Buffer.from(bin as ArrayBuffer), true, '2.0.0');
        expect(decoded.kind === 'broadcast' && decoded.push.body).toEqual({ encoding: 'binary', bytes: Buffer.from([0, 1, 2, 255]) });
    });

    it('writes replies and pushes supabase-js decodes', () => {
        expect(decodeWithClient(encodeReply({ joinRef: '1', ref: '3', topic: 'phoenix' }, 'ok', {}, '2.0.0'))).toEqual({
            join_ref: '1',
            ref: '3',
            topic: 'phoenix',
            event: 'phx_reply',
            payload: { status: 'ok', response: {} },
        });
    });

    it('fans broadcasts out as kind-4 frames that supabase-js decodes to {type, event, payload, meta}', () => {
        const frame = encodeBroadcast({ topic: 'realtime:room', event: 'moved', body: { encoding: 'json', value: { x: 1 } }, meta: { id: 'abc' } }, '2.0.0');
        expect(Buffer.isBuffer(frame)).toBe(true);
        expect(decodeWithClient(toArrayBuffer(frame as Buffer))).toEqual({
            join_ref: null,
            ref: null,
            topic: 'realtime:room',
            event: 'broadcast',
            payload: { type: 'broadcast', event: 'moved', payload: { x: 1 }, meta: { id: 'abc' } },
        });
        const binary = encodeBroadcast({ topic: 'realtime:room', event: 'raw', body: { encoding: 'binary', bytes: Buffer.from([9, 8]) } }, '2.0.0');
        const decoded = decodeWithClient(toArrayBuffer(binary as Buffer)) as { payload: { payload: ArrayBuffer; meta?: unknown } };
        expect([...new Uint8Array(decoded.payload.payload)]).toEqual([9, 8]);
        expect(decoded.payload.meta).toBeUndefined();
    });

    it('refuses frames it cannot read', () => {
        expect(() => decodeInbound('{"topic":"x"}', false, '2.0.0')).toThrow(DecodeError);
        expect(() => decodeInbound('not json', false, '2.0.0')).toThrow(DecodeError);
        expect(() => decodeInbound(Buffer.from([4, 0, 0, 0, 1]), true, '2.0.0')).toThrow(DecodeError);
        expect(() => decodeInbound(Buffer.from([3, 200, 0, 0, 0, 0, 1]), true, '2.0.0')).toThrow(DecodeError);
    });
});

describe('serializer 1.0.0', () => {
    it('reads JSON objects and writes them without join_ref, as Phoenix V1', () => {
        expect(decodeInbound(JSON.stringify({ topic: 't', event: 'e', payload: { a: 1 }, ref: '1', join_ref: '1' }), false, '1.0.0')).toEqual({
            kind: 'frame',
            frame: { joinRef: '1', ref: '1', topic: 't', event: 'e', payload: { a: 1 } },
        });
        expect(JSON.parse(encodeFrame({ joinRef: '1', ref: '2', topic: 't', event: 'e', payload: {} }, '1.0.0'))).toEqual({ topic: 't', event: 'e', payload: {}, ref: '2' });
    });

    it('gets broadcasts as JSON messages, and no binary ones', () => {
        const message = { topic: 'realtime:r', event: 'ev', body: { encoding: 'json' as const, value: [1] } };
        expect(JSON.parse(encodeBroadcast(message, '1.0.0') as string)).toEqual({ topic: 'realtime:r', event: 'broadcast', payload: broadcastJson(message), ref: null });
        expect(encodeBroadcast({ ...message, body: { encoding: 'binary', bytes: Buffer.from([1]) } }, '1.0.0')).toBeUndefined();
        expect(() => decodeInbound(Buffer.from([3]), true, '1.0.0')).toThrow(DecodeError);
    });
});

describe('join payload', () => {
    it('reads supabase-js join configs and ignores fields of the wrong type', () => {
        const config = parseJoinPayload({
            config: { broadcast: { self: true, ack: 'yes' }, presence: { key: 'u1', enabled: true }, postgres_changes: [{ event: '*', schema: 'public' }, 'junk'], private: true },
            access_token: 'a.b.c',
        });
        expect(config).toMatchObject({ broadcastSelf: true, broadcastAck: false, presenceKey: 'u1', private: true, accessToken: 'a.b.c' });
        expect(config.postgresChanges).toEqual([{ event: '*', schema: 'public' }]);
        expect(parseJoinPayload({ access_token: 'sb_publishable_x' }).accessToken).toBeUndefined();
        expect(parseJoinPayload('nonsense')).toMatchObject({ private: false, postgresChanges: [] });
    });

    it('names the topic after realtime:', () => {
        expect(subTopicOf('realtime:order:1')).toBe('order:1');
        expect(subTopicOf('realtime:')).toBe('');
        expect(subTopicOf('phoenix')).toBeUndefined();
    });
});

describe('postgres_changes filters', () => {
    it('parses every operator, `in` into an array literal', () => {
        for (const op of ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'])
            expect(parseFilter(`total=${op}.5`)).toEqual({ ok: true, filter: { column: 'total', op, value: '5' } });
        expect(parseFilter('status=in.(paid,"a,b")')).toEqual({ ok: true, filter: { column: 'status', op: 'in', value: '{paid,"a,b"}' } });
        expect(parseFilter('name=eq.a.b=c')).toEqual({ ok: true, filter: { column: 'name', op: 'eq', value: 'a.b=c' } });
    });

    it("refuses what Realtime refuses, with Realtime's texts", () => {
        expect(parseFilter('status')).toEqual({ ok: false, message: 'Error parsing `filter` params: ["status"]' });
        expect(parseFilter('status=like.x')).toEqual({ ok: false, message: 'Error parsing `filter` params: ["like", "x"]' });
        expect(parseFilter('id=in.1,2')).toEqual({ ok: false, message: 'Error parsing `filter` params: `in` filter value must be wrapped by parentheses' });
        expect(parseFilter(`id=in.(${Array.from({ length: 101 }, (_, i) => i).join(',')})`).ok).toBe(false);
        expect(inspectList(['a"b'])).toBe('["a\\"b"]');
    });

    it('matches events, schemas and tables; a table alone means public', () => {
        const parsed = parseChangeSubscription({ event: 'UPDATE', table: 'orders' });
        expect(parsed.ok).toBe(true);
        const sub = parsed.ok ? parsed.subscription : undefined!;
        expect(sub.schema).toBe('public');
        expect(subscriptionMatches(sub, 'public', 'orders', 'UPDATE')).toBe(true);
        expect(subscriptionMatches(sub, 'public', 'orders', 'INSERT')).toBe(false);
        expect(subscriptionMatches(sub, 'public', 'payments', 'UPDATE')).toBe(false);
        const all = parseChangeSubscription({ event: '*', schema: '*' });
        expect(all.ok && subscriptionMatches(all.subscription, 'shop', 'x', 'DELETE')).toBe(true);
    });

    it('gives equal parameters equal ids and different ones different ids', () => {
        expect(subscriptionId({ event: '*', schema: 'public', table: 'a' })).toBe(subscriptionId({ table: 'a', schema: 'public', event: '*' }));
        expect(subscriptionId({ event: '*', schema: 'public', table: 'a' })).not.toBe(subscriptionId({ event: '*', schema: 'public', table: 'b' }));
    });
});

describe('presence', () => {
    it('tracks, updates with phx_ref_prev, and untracks as diffs', () => {
        const topic = new PresenceTopic();
        const join = topic.track('c1', 'alice', { online: true });
        const ref = join.joins.alice!.metas[0]!.phx_ref;
        expect(join).toEqual({ joins: { alice: { metas: [{ online: true, phx_ref: ref }] } }, leaves: {} });
        const update = topic.track('c1', 'alice', { online: false });
        expect(update.leaves.alice!.metas[0]!.phx_ref).toBe(ref);
        expect(update.joins.alice!.metas[0]).toMatchObject({ online: false, phx_ref_prev: ref });
        topic.track('c2', 'alice', { device: 'phone' });
        expect(topic.state().alice!.metas).toHaveLength(2);
        expect(topic.untrack('c1')?.leaves.alice!.metas[0]).toMatchObject({ online: false });
        expect(topic.untrack('c1')).toBeUndefined();
        expect(Object.keys(topic.state())).toEqual(['alice']);
    });
});

describe('pgoutput', () => {
    const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
    const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
    const i32 = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(n);
        return b;
    };
    const i64 = (n: bigint) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(n);
        return b;
    };
    const text = (s: string) => Buffer.concat([Buffer.from('t'), i32(Buffer.byteLength(s)), Buffer.from(s)]);
    const tuple = (...values: Array<string | null | undefined>) =>
        Buffer.concat([i16(values.length), ...values.map((v) => (v === null ? Buffer.from('n') : v === undefined ? Buffer.from('u') : text(v)))]);
    const commitMicros = 100_000_000n; // 100 s after 2000-01-01

    it('decodes a transaction: begin, relation, insert, update with old key, delete, commit', () => {
        const begin = Buffer.concat([Buffer.from('B'), i64(0x10n), i64(commitMicros), i32(42)]);
        const relation = Buffer.concat([
            Buffer.from('R'),
            i32(16384),
            cstr('public'),
            cstr('things'),
            Buffer.from('d'),
            i16(2),
            Buffer.from([1]),
            cstr('id'),
            i32(23),
            i32(-1),
            Buffer.from([0]),
            cstr('name'),
            i32(25),
            i32(-1),
        ]);
        const insert = Buffer.concat([Buffer.from('I'), i32(16384), Buffer.from('N'), tuple('1', 'é')]);
        const update = Buffer.concat([Buffer.from('U'), i32(16384), Buffer.from('K'), tuple('1', null), Buffer.from('N'), tuple('2', undefined)]);
        const del = Buffer.concat([Buffer.from('D'), i32(16384), Buffer.from('K'), tuple('2', null)]);
        const commit = Buffer.concat([Buffer.from('C'), Buffer.from([0]), i64(0x10n), i64(0x1_0000_0020n), i64(commitMicros)]);
        const messages = [begin, relation, insert, update, del, commit].map(decodePgOutput);
        expect(messages[0]).toEqual({ tag: 'begin', finalLsn: '0/10', commitTime: new Date('2000-01-01T00:01:40.000Z'), xid: 42 });
        expect(messages[3]).toEqual({ tag: 'update', relationId: 16384, key: ['1', null], old: undefined, new: ['2', undefined] });
        const relations = new Map<number, RelationMessage>();
        const [tx] = groupTransactions(messages, relations);
        expect(tx!.endLsn).toBe('1/20');
        expect(tx!.changes.map((c) => c.type)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
        expect(tx!.changes[0]).toMatchObject({ new: ['1', 'é'], relation: { schema: 'public', table: 'things', columns: [{ name: 'id', isKey: true }, { name: 'name', isKey: false }] } });
        expect(formatLsn(0xabcdef_00000001n)).toBe('ABCDEF/1');
    });

    it('refuses truncated messages', () => {
        expect(() => decodePgOutput(Buffer.from('B'))).toThrow(/truncated/);
        expect(() => decodePgOutput(Buffer.from('Z'))).toThrow(/unknown/);
    });
});

describe('manual clock', () => {
    it('runs what is due when advanced, in order, and not what was cancelled', () => {
        const clock = new ManualClock(0);
        const ran: string[] = [];
        clock.schedule(200, () => ran.push('b'));
        clock.schedule(100, () => ran.push('a'));
        const cancel = clock.schedule(150, () => ran.push('x'));
        cancel();
        clock.advance(150);
        expect(ran).toEqual(['a']);
        clock.advance(50);
        expect(ran).toEqual(['a', 'b']);
    });
});
