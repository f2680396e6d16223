// The local mail catcher: every message the stack sends is kept in memory and readable
// through a small Mailpit-like HTTP API (list newest first, search, read one, delete), plus
// the Inbucket mailbox endpoints older Supabase CLIs exposed on the same port.
import { randomBytes } from 'node:crypto';
import type { FetchHandler } from '../http.js';

export interface MailMessage {
    to: string[];
    from: string;
    subject: string;
    text: string;
    html: string;
}

export interface MailSink {
    send(message: MailMessage): Promise<void>;
}

export interface StoredMessage extends MailMessage {
    id: string;
    created: Date;
}

export interface MailCatcher extends MailSink {
    handler: FetchHandler;
    messages(): StoredMessage[];
    clear(): void;
}

interface Address {
    Name: string;
    Address: string;
}

/** "Admin <admin@email.com>" → {Name: "Admin", Address: "admin@email.com"}. */
function address(value: string): Address {
    const match = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(value);
    return match ? { Name: match[1]!.replace(/^"|"$/g, ''), Address: match[2]! } : { Name: '', Address: value.trim() };
}

function snippet(message: MailMessage): string {
    const text = message.text || message.html.replace(/<[^>]*>/g, ' ');
    return text.replace(/\s+/g, ' ').trim().slice(0, 250);
}

/** Mailpit-style search: `to:`, `from:`, `subject:` terms (quotes allowed), other words anywhere. */
function matcher(query: string): (m: StoredMessage) => boolean {
    const terms = [...query.matchAll(/(\w+:)?("([^"]*)"|\S+)/g)].map((t) => ({
        field: t[1]?.slice(0, -1).toLowerCase(),
        value: (t[3] ?? t[2] ?? '').replace(/^"|"$/g, '').toLowerCase(),
    }));
    return (m) =>
        terms.every(({ field, value }) => {
            if (field === 'to') return m.to.some((t) => t.toLowerCase().includes(value));
            if (field === 'from') return m.from.toLowerCase().includes(value);
            if (field === 'subject') return m.subject.toLowerCase().includes(value);
            return `${m.subject}\n${m.text}\n${m.html}\n${m.to.join(' ')}\n${m.from}`.toLowerCase().includes(field ? `${field}:${value}` : value);
        });
}

function json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export interface MailCatcherOptions {
    /** Called for every message delivered to the catcher (the metrics count them). */
    onSent?: (message: MailMessage) => void;
}

export function createMailCatcher(options: MailCatcherOptions = {}): MailCatcher {
    let store: StoredMessage[] = [];

    const summary = (m: StoredMessage) => ({
        ID: m.id,
        MessageID: `${m.id}@mail.local`,
        Read: false,
        From: address(m.from),
        To: m.to.map(address),
        Cc: [],
        Bcc: [],
        ReplyTo: [],
        Subject: m.subject,
        Created: m.created.toISOString(),
        Tags: [],
        Size: Buffer.byteLength(m.text) + Buffer.byteLength(m.html),
        Attachments: 0,
        Snippet: snippet(m),
    });

    const listing = (url: URL, messages: StoredMessage[]) => {
        const newestFirst = [...messages].reverse();
        const start = Math.max(0, Number(url.searchParams.get('start') ?? 0) || 0);
        const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50);
        const page = newestFirst.slice(start, start + limit);
        return json(200, { total: store.length, unread: store.length, count: page.length, messages_count: messages.length, start, tags: [], messages: page.map(summary) });
    };
    const ok = () => new Response('ok', { status: 200, headers: { 'content-type': 'text/plain' } });
    const mailboxOf = (address: string) => address.split('@')[0]!.toLowerCase();
    const inbucket = (m: StoredMessage, mailbox: string) => ({
        mailbox,
        id: m.id,
        from: m.from,
        to: m.to,
        subject: m.subject,
        date: m.created.toISOString(),
        'posix-millis': m.created.getTime(),
        size: Buffer.byteLength(m.text) + Buffer.byteLength(m.html),
        seen: false,
    });

    const handler: FetchHandler = async (request) => {
        const url = new URL(request.url);
        const path = url.pathname.replace(/\/+$/, '');
        if (path === '/api/v1/messages' && request.method === 'GET') return listing(url, store);
        if (path === '/api/v1/messages' && request.method === 'DELETE') {
            const text = await request.text();
            let ids: unknown;
            try {
                ids = text.trim() ? (JSON.parse(text) as { IDs?: unknown }).IDs : undefined;
            } catch {
                return json(400, { error: 'invalid JSON body' });
            }
            store = Array.isArray(ids) && ids.length ? store.filter((m) => !ids.includes(m.id)) : [];
            return ok();
        }
        if (path === '/api/v1/search') {
            const matching = store.filter(matcher(url.searchParams.get('query') ?? ''));
            if (request.method === 'DELETE') {
                store = store.filter((m) => !matching.includes(m));
                return ok();
            }
            return listing(url, matching);
        }
        const mailbox = /^\/api\/v1\/mailbox\/([^/]+)(?:\/([^/]+))?$/.exec(path);
        if (mailbox) {
            const name = decodeURIComponent(mailbox[1]!).toLowerCase();
            const inBox = store.filter((m) => m.to.some((t) => mailboxOf(address(t).Address) === name || address(t).Address.toLowerCase() === name));
            if (!mailbox[2]) {
                if (request.method === 'DELETE') {
                    store = store.filter((m) => !inBox.includes(m));
                    return ok();
                }
                return json(200, inBox.map((m) => inbucket(m, name)));
            }
            const message = inBox.find((m) => m.id === mailbox[2]);
            if (!message) return json(404, { error: 'message not found' });
            if (request.method === 'DELETE') {
                store = store.filter((m) => m !== message);
                return ok();
            }
            return json(200, { ...inbucket(message, name), header: { Subject: [message.subject], From: [message.from], To: message.to }, body: { text: message.text, html: message.html } });
        }
        const one = /^\/api\/v1\/message\/([^/]+)$/.exec(path);
        if (one && request.method === 'GET') {
            const id = one[1] === 'latest' ? store.at(-1)?.id : one[1];
            const message = store.find((m) => m.id === id);
            if (!message) return json(404, { error: 'message not found' });
            return json(200, { ...summary(message), Text: message.text, HTML: message.html });
        }
        if (path === '' || path === '/api/v1/info') return json(200, { Version: 'tillbase-mail', Messages: store.length });
        return json(404, { error: 'not found' });
    };

    return {
        async send(message) {
            store.push({ ...message, to: [...message.to], id: randomBytes(11).toString('base64url'), created: new Date() });
            options.onSent?.(message);
        },
        handler,
        messages: () => [...store].reverse(),
        clear() {
            store = [];
        },
    };
}
