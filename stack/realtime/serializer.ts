// The Phoenix wire formats supabase-js speaks: serializer vsn 1.0.0 (JSON objects) and
// 2.0.0 (JSON arrays, plus binary frames for user broadcasts: kind 3 client → server,
// kind 4 server → client). Pure: no sockets here.
//
// v2 binary layout: u8 kind, one u8 length per header field, (kind 3/4) u8 payload
// encoding (0 binary, 1 JSON), the header fields, then the payload to the end.
//   kind 3: lengths of join_ref, ref, topic, event, meta; fields in that order.
//   kind 4: lengths of topic, event, meta; fields in that order (meta JSON or empty).

export type Vsn = '1.0.0' | '2.0.0';
export const VSNS: readonly Vsn[] = ['1.0.0', '2.0.0'];

/** One Phoenix message (both directions). */
export interface Frame {
    joinRef: string | null;
    ref: string | null;
    topic: string;
    event: string;
    payload: unknown;
}

/** A user broadcast's own payload: JSON, or raw bytes (v2 binary frames only). */
export type BroadcastBody = { encoding: 'json'; value: unknown } | { encoding: 'binary'; bytes: Buffer };

/** A kind-3 frame: a client's broadcast push in binary form. */
export interface BinaryBroadcastPush {
    joinRef: string | null;
    ref: string | null;
    topic: string;
    /** The user's event name (payload.event of the JSON form). */
    event: string;
    meta: Record<string, unknown>;
    body: BroadcastBody;
}

export type Inbound = { kind: 'frame'; frame: Frame } | { kind: 'broadcast'; push: BinaryBroadcastPush };

export class DecodeError extends Error {}

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Decodes one client frame; throws DecodeError for anything the serializer cannot read. */
export function decodeInbound(data: Buffer | string, isBinary: boolean, vsn: Vsn): Inbound {
    if (isBinary) {
        if (vsn !== '2.0.0') throw new DecodeError('binary frames need serializer 2.0.0');
        return { kind: 'broadcast', push: decodeUserBroadcastPush(Buffer.isBuffer(data) ? data : Buffer.from(data)) };
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
    } catch {
        throw new DecodeError('frame is not JSON');
    }
    if (vsn === '1.0.0') {
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DecodeError('1.0.0 frames are JSON objects');
        const o = parsed as Record<string, unknown>;
        if (typeof o.topic !== 'string' || typeof o.event !== 'string') throw new DecodeError('frame needs topic and event');
        return { kind: 'frame', frame: { joinRef: str(o.join_ref), ref: str(o.ref), topic: o.topic, event: o.event, payload: o.payload ?? {} } };
    }
    if (!Array.isArray(parsed) || parsed.length !== 5) throw new DecodeError('2.0.0 frames are [join_ref, ref, topic, event, payload]');
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    if (typeof topic !== 'string' || typeof event !== 'string') throw new DecodeError('frame needs topic and event');
    return { kind: 'frame', frame: { joinRef: str(joinRef), ref: str(ref), topic, event, payload: payload ?? {} } };
}

function decodeUserBroadcastPush(buf: Buffer): BinaryBroadcastPush {
    if (buf.length < 7 || buf[0] !== KIND_USER_BROADCAST_PUSH) throw new DecodeError('unknown binary frame kind');
    const lengths = [buf[1]!, buf[2]!, buf[3]!, buf[4]!, buf[5]!];
    const encoding = buf[6]!;
    let offset = 7;
    const fields: string[] = [];
    for (const length of lengths) {
        if (offset + length > buf.length) throw new DecodeError('binary frame shorter than its header');
        fields.push(buf.subarray(offset, offset + length).toString('utf8'));
        offset += length;
    }
    const [joinRef, ref, topic, event, metaText] = fields as [string, string, string, string, string];
    let meta: Record<string, unknown> = {};
    if (metaText) {
        try {
            const parsed: unknown = JSON.parse(metaText);
            if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) meta = parsed as Record<string, unknown>;
        } catch {
            throw new DecodeError('binary frame meta is not JSON');
        }
    }
    const rest = buf.subarray(offset);
    let body: BroadcastBody;
    if (encoding === ENCODING_JSON) {
        try {
            body = { encoding: 'json', value: JSON.parse(rest.toString('utf8')) };
        } catch {
            throw new DecodeError('binary frame payload is not JSON');
        }
    } else if (encoding === ENCODING_BINARY) {
        body = { encoding: 'binary', bytes: Buffer.from(rest) };
    } else {
        throw new DecodeError('unknown payload encoding');
    }
    return { joinRef: joinRef || null, ref: ref || null, topic, event, meta, body };
}

/** Encodes a server message (reply, push or fan-out). 1.0.0 carries no join_ref, as Phoenix's V1 serializer. */
export function encodeFrame(frame: Frame, vsn: Vsn): string {
    if (vsn === '1.0.0') return JSON.stringify({ topic: frame.topic, event: frame.event, payload: frame.payload, ref: frame.ref });
    return JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]);
}

export function encodeReply(request: Pick<Frame, 'joinRef' | 'ref' | 'topic'>, status: 'ok' | 'error', response: unknown, vsn: Vsn): string {
    return encodeFrame({ joinRef: request.joinRef, ref: request.ref, topic: request.topic, event: 'phx_reply', payload: { status, response } }, vsn);
}

export interface UserBroadcast {
    /** Full channel topic, `realtime:<name>`. */
    topic: string;
    event: string;
    body: BroadcastBody;
    meta?: Record<string, unknown>;
}

/**
 * A broadcast as a receiver gets it: 2.0.0 → a kind-4 binary frame (decoded by
 * supabase-js to `{type:"broadcast", event, payload, meta?}`); 1.0.0 → that JSON object
 * as the payload of a `broadcast` message, or nothing for a binary payload, which
 * 1.0.0 cannot carry.
 */
export function encodeBroadcast(message: UserBroadcast, vsn: Vsn): string | Buffer | undefined {
    if (vsn === '1.0.0') {
        if (message.body.encoding === 'binary') return undefined;
        return encodeFrame({ joinRef: null, ref: null, topic: message.topic, event: 'broadcast', payload: broadcastJson(message) }, vsn);
    }
    const topic = Buffer.from(message.topic, 'utf8');
    const event = Buffer.from(message.event, 'utf8');
    const meta = Buffer.from(message.meta && Object.keys(message.meta).length ? JSON.stringify(message.meta) : '', 'utf8');
    if (topic.length > 255 || event.length > 255 || meta.length > 255) {
        // Does not fit a binary header: the JSON form, which supabase-js reads as well.
        if (message.body.encoding === 'binary') return undefined;
        return encodeFrame({ joinRef: null, ref: null, topic: message.topic, event: 'broadcast', payload: broadcastJson(message) }, vsn);
    }
    const payload = message.body.encoding === 'json' ? Buffer.from(JSON.stringify(message.body.value ?? null), 'utf8') : message.body.bytes;
    const header = Buffer.from([
        KIND_USER_BROADCAST,
        topic.length,
        event.length,
        meta.length,
        message.body.encoding === 'json' ? ENCODING_JSON : ENCODING_BINARY,
    ]);
    return Buffer.concat([header, topic, event, meta, payload]);
}

/** The JSON shape of a broadcast payload, as sent to 1.0.0 clients and by the HTTP API. */
export function broadcastJson(message: UserBroadcast): Record<string, unknown> {
    const out: Record<string, unknown> = {
        type: 'broadcast',
        event: message.event,
        payload: message.body.encoding === 'json' ? message.body.value : undefined,
    };
    if (message.meta && Object.keys(message.meta).length) out.meta = message.meta;
    return out;
}
