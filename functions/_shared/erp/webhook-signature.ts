// ERP webhook signatures, the Standard Webhooks scheme (as Svix and Resend sign):
//   webhook-id: <message id>   webhook-timestamp: <unix seconds>
//   webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">  (space-separated list)
// The id is signed with the body and the timestamp, so the replay protection (by id) and
// the freshness check (timestamp, ±300 s) cannot be bypassed by editing either. The secret
// is `whsec_<base64>` (its decoded bytes are the key) or any other string (its UTF-8 bytes).
// HMAC and its constant-time comparison are WebCrypto's (crypto.subtle), in Deno and Node.

export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureCheck =
    | { ok: true; id: string; timestamp: number }
    | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'stale' | 'bad_signature' };

/** Bytes backed by a plain ArrayBuffer (what WebCrypto's BufferSource takes in Deno's types). */
const bytes = (values: ArrayLike<number>): Uint8Array<ArrayBuffer> => new Uint8Array(values);

function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
    if (secret.startsWith('whsec_')) {
        const raw = atob(secret.slice('whsec_'.length));
        return bytes(Array.from(raw, (c) => c.charCodeAt(0)));
    }
    return bytes(new TextEncoder().encode(secret));
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function key(secret: string, usage: 'sign' | 'verify'): Promise<HmacKey> {
    return crypto.subtle.importKey('raw', secretBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

const signedContent = (id: string, timestamp: number, body: string) => bytes(new TextEncoder().encode(`${id}.${timestamp}.${body}`));

/** The `webhook-signature` value for a message (what the ERP, or a test, sends). */
export async function signErpWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key(secret, 'sign'), signedContent(id, timestamp, body)));
    return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** Checks the headers of a delivery against the raw body, at `now`. */
export async function verifyErpWebhook(secret: string, headers: Headers, body: string, now: Date): Promise<SignatureCheck> {
    const id = headers.get('webhook-id');
    const stamp = headers.get('webhook-timestamp');
    const signatures = headers.get('webhook-signature');
    if (!id || !stamp || !signatures) return { ok: false, reason: 'missing_headers' };
    if (!/^\d{1,12}$/.test(stamp)) return { ok: false, reason: 'bad_timestamp' };
    const timestamp = Number(stamp);
    if (Math.abs(now.getTime() / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return { ok: false, reason: 'stale' };
    const verifier = await key(secret, 'verify');
    const content = signedContent(id, timestamp, body);
    for (const candidate of signatures.split(' ')) {
        const [version, value] = candidate.split(',', 2);
        if (version !== 'v1' || !value) continue;
        let mac: Uint8Array<ArrayBuffer>;
        try {
            mac = bytes(Array.from(atob(value), (c) => c.charCodeAt(0)));
        } catch {
            continue;
        }
        if (await crypto.subtle.verify('HMAC', verifier, mac, content)) return { ok: true, id, timestamp };
    }
    return { ok: false, reason: 'bad_signature' };
}
