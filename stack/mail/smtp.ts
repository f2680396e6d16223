// The mail catcher's SMTP listener (`[local_smtp] smtp_port`, 54325 as `supabase start`):
// a real SMTP server (smtp-server) that accepts any sender and recipient without auth or
// TLS, parses each message (mailparser) and hands it to the catcher, where it appears in the
// Mailpit-style API beside the auth server's mails.
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { MailSink } from './index.js';

export interface SmtpListener {
    port: number;
    close(): Promise<void>;
}

/** Largest message accepted (Mailpit's default is far larger; order emails are small). */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
    const list = Array.isArray(value) ? value : value ? [value] : [];
    return list.flatMap((group) => group.value.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''))));
}

export function startSmtpListener(sink: MailSink, { port, host = '127.0.0.1' }: { port: number; host?: string }): Promise<SmtpListener> {
    const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['AUTH', 'STARTTLS'],
        banner: 'tillbase mail catcher',
        size: MAX_MESSAGE_BYTES,
        logger: false,
        onData(stream, session, callback) {
            simpleParser(stream)
                .then(async (parsed) => {
                    const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
                    const to = addresses(parsed.to);
                    const mailFrom = session.envelope.mailFrom;
                    await sink.send({
                        to: to.length ? to : envelopeTo,
                        from: addresses(parsed.from)[0] ?? (mailFrom ? mailFrom.address : ''),
                        subject: parsed.subject ?? '',
                        text: parsed.text ?? '',
                        html: typeof parsed.html === 'string' ? parsed.html : '',
                    });
                    callback();
                })
                .catch((error: Error) => callback(error));
        },
    });
    server.on('error', () => {
        // A client that drops the connection mid-session: nothing to do, the server goes on.
    });
    return new Promise((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) =>
            reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} for the mail catcher's SMTP listener is already in use`) : error);
        server.server.once('error', onError);
        server.listen(port, host, () => {
            server.server.off('error', onError);
            const address = server.server.address();
            resolve({
                port: typeof address === 'object' && address ? address.port : port,
                close: () => new Promise<void>((done) => server.close(() => done())),
            });
        });
    });
}
