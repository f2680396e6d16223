// The mail catcher's Mailpit-like HTTP API: list newest first, read one, delete all.
import { describe, expect, it } from 'vitest';
import { createMailCatcher } from '../../../stack/mail/index.js';

const get = (catcher: ReturnType<typeof createMailCatcher>, path: string, method = 'GET') =>
    catcher.handler(new Request(`http://mail.local${path}`, { method }), { remoteAddr: '127.0.0.1' });

describe('mail catcher', () => {
    it('lists messages newest first, reads one, and deletes all', async () => {
        const catcher = createMailCatcher();
        await catcher.send({ to: ['a@example.test'], from: 'Admin <admin@email.com>', subject: 'first', text: 'one', html: '<p>one</p>' });
        await catcher.send({ to: ['b@example.test'], from: 'Admin <admin@email.com>', subject: 'second', text: 'two', html: '<p>two</p>' });
        const list = (await (await get(catcher, '/api/v1/messages')).json()) as {
            total: number;
            messages: Array<{ ID: string; Subject: string; From: { Address: string }; To: Array<{ Address: string }>; Snippet: string }>;
        };
        expect(list.total).toBe(2);
        expect(list.messages.map((m) => m.Subject)).toEqual(['second', 'first']);
        expect(list.messages[0]).toMatchObject({ From: { Address: 'admin@email.com' }, To: [{ Address: 'b@example.test' }], Snippet: 'two' });
        const one = (await (await get(catcher, `/api/v1/message/${list.messages[1]!.ID}`)).json()) as { Text: string; HTML: string };
        expect(one).toMatchObject({ Text: 'one', HTML: '<p>one</p>' });
        expect((await get(catcher, '/api/v1/message/nope')).status).toBe(404);
        expect((await get(catcher, '/api/v1/messages', 'DELETE')).status).toBe(200);
        expect(catcher.messages()).toEqual([]);
    });
});

describe('mail catcher search and mailboxes', () => {
    it('searches by recipient and serves Inbucket-style mailboxes', async () => {
        const catcher = createMailCatcher();
        await catcher.send({ to: ['ada@example.test'], from: 'Admin <admin@email.com>', subject: 'Reset Your Password', text: 'code: 123456', html: '<p>code</p>' });
        await catcher.send({ to: ['bob@example.test'], from: 'Admin <admin@email.com>', subject: 'Your Magic Link', text: 'code: 654321', html: '<p>link</p>' });
        const found = (await (await get(catcher, '/api/v1/search?query=to:%22ada@example.test%22')).json()) as { messages: Array<{ Subject: string }> };
        expect(found.messages.map((m) => m.Subject)).toEqual(['Reset Your Password']);
        const box = (await (await get(catcher, '/api/v1/mailbox/bob')).json()) as Array<{ id: string; subject: string }>;
        expect(box.map((m) => m.subject)).toEqual(['Your Magic Link']);
        const one = (await (await get(catcher, `/api/v1/mailbox/bob/${box[0]!.id}`)).json()) as { body: { text: string } };
        expect(one.body.text).toBe('code: 654321');
    });
});
