// The mail catcher's SMTP listener: a message sent over real SMTP (nodemailer) is parsed
// and shows up in the Mailpit-style API with its text and HTML parts.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../stack/http.js';
import { createMailCatcher, type MailCatcher } from '../../stack/mail/index.js';
import { startSmtpListener, type SmtpListener } from '../../stack/mail/smtp.js';

let catcher: MailCatcher;
let smtp: SmtpListener;
let api: Listening;

beforeAll(async () => {
    catcher = createMailCatcher();
    smtp = await startSmtpListener(catcher, { port: 0 });
    api = await listen(catcher.handler, { port: 0 });
});

afterAll(async () => {
    await smtp.close();
    await api.close();
});

describe('mail catcher SMTP listener', () => {
    it('accepts a message over SMTP and lists it in the Mailpit API with text and HTML', async () => {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
        await transport.sendMail({
            from: 'Shop <orders@shop.test>',
            to: 'Ada <ada@example.test>',
            subject: 'Order TB-000001 confirmed — thank you',
            text: 'Total: €94.00',
            html: '<p>Total: <strong>€94.00</strong></p>',
        });
        const list = (await (await fetch(`${api.url}/api/v1/search?query=${encodeURIComponent('to:ada@example.test')}`)).json()) as {
            messages: Array<{ ID: string; Subject: string; From: { Address: string }; To: Array<{ Name: string; Address: string }> }>;
        };
        expect(list.messages).toHaveLength(1);
        expect(list.messages[0]).toMatchObject({ Subject: 'Order TB-000001 confirmed — thank you', From: { Address: 'orders@shop.test' }, To: [{ Name: 'Ada', Address: 'ada@example.test' }] });
        const message = (await (await fetch(`${api.url}/api/v1/message/${list.messages[0]!.ID}`)).json()) as { Text: string; HTML: string };
        expect(message.Text.trim()).toBe('Total: €94.00');
        expect(message.HTML).toContain('<strong>€94.00</strong>');
    });

    it('refuses to start on a port in use, naming it', async () => {
        await expect(startSmtpListener(catcher, { port: smtp.port })).rejects.toThrow(`port ${smtp.port}`);
    });
});
