// The local mail catcher: every message the stack sends is kept in memory and readable
// through a small Mailpit-like HTTP API (list newest first, read one, delete all).
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

function json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export function createMailCatcher(): MailCatcher {
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

    const handler: FetchHandler = async (request) => {
        const url = new URL(request.url);
        const path = url.pathname.replace(/\/+$/, '');
        if (path === '/api/v1/messages' && request.method === 'GET') {
            const newestFirst = [...store].reverse();
            const start = Math.max(0, Number(url.searchParams.get('start') ?? 0) || 0);
            const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50);
            const page = newestFirst.slice(start, start + limit);
            return json(200, { total: store.length, unread: store.length, count: page.length, messages_count: store.length, start, tags: [], messages: page.map(summary) });
        }
        if (path === '/api/v1/messages' && request.method === 'DELETE') {
            store = [];
            return new Response('ok', { status: 200, headers: { 'content-type': 'text/plain' } });
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
        },
        handler,
        messages: () => [...store].reverse(),
        clear() {
            store = [];
        },
    };
}
