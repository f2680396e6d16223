// Email providers behind one interface: Resend's HTTP API in production (its
// Idempotency-Key makes a repeated send of the same message a no-op for 24 h), SMTP
// locally (the mail catcher of the local stack). Failures say whether a retry may help.
import { z } from 'zod';

export interface OutgoingEmail {
    from: string;
    to: string;
    subject: string;
    text: string;
    html: string;
    /** The outbox message's idempotency key: the provider's idempotency key / Message-ID. */
    idempotencyKey: string;
}

export interface MailProvider {
    readonly name: string;
    send(email: OutgoingEmail, signal?: AbortSignal): Promise<{ id: string }>;
}

export class MailError extends Error {
    constructor(
        message: string,
        readonly retryable: boolean,
    ) {
        super(message);
        this.name = 'MailError';
    }
}

const ResendAccepted = z.object({ id: z.string().min(1) });
const ResendError = z.object({ name: z.string().optional(), message: z.string().optional() }).passthrough();

export interface ResendSettings {
    apiKey: string;
    /** https://api.resend.com, or a local stand-in. */
    baseUrl?: string;
    timeoutMs?: number;
    fetch?: typeof fetch;
}

export function createResendProvider(settings: ResendSettings): MailProvider {
    const fetcher = settings.fetch ?? fetch;
    const url = `${(settings.baseUrl ?? 'https://api.resend.com').replace(/\/+$/, '')}/emails`;
    return {
        name: 'resend',
        async send(email, signal) {
            const timeout = AbortSignal.timeout(settings.timeoutMs ?? 10_000);
            let response: Response;
            try {
                response = await fetcher(url, {
                    method: 'POST',
                    headers: {
                        authorization: `Bearer ${settings.apiKey}`,
                        'content-type': 'application/json',
                        'idempotency-key': email.idempotencyKey.slice(0, 256),
                        'user-agent': 'tillbase-notifications',
                    },
                    body: JSON.stringify({ from: email.from, to: [email.to], subject: email.subject, text: email.text, html: email.html }),
                    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
                });
            } catch (error) {
                throw new MailError(`Resend unreachable: ${(error as Error).message}`, true);
            }
            const text = await response.text();
            let body: unknown;
            try {
                body = JSON.parse(text);
            } catch {
                body = undefined;
            }
            if (response.ok) {
                const accepted = ResendAccepted.safeParse(body);
                if (!accepted.success) throw new MailError(`Resend answered ${response.status} without an email id`, true);
                return { id: accepted.data.id };
            }
            const error = ResendError.safeParse(body);
            const detail = error.success ? `${error.data.name ?? ''} ${error.data.message ?? ''}`.trim() : text.slice(0, 200);
            // 400/422: the email itself is refused (bad address, unverified domain): permanent.
            // 401/403 (key being fixed), 409 (a concurrent request with the same key), 429, 5xx: retry.
            const permanent = response.status === 400 || response.status === 422;
            throw new MailError(`Resend answered ${response.status}: ${detail}`, !permanent);
        },
    };
}

export interface SmtpSettings {
    host: string;
    port: number;
    timeoutMs?: number;
}

/** SMTP without TLS or auth: the local mail catcher. (Production mail goes through Resend.) */
export async function createSmtpProvider(settings: SmtpSettings): Promise<MailProvider> {
    const nodemailer = (await import('nodemailer')).default;
    const transport = nodemailer.createTransport({
        host: settings.host,
        port: settings.port,
        secure: false,
        ignoreTLS: true,
        connectionTimeout: settings.timeoutMs ?? 10_000,
        socketTimeout: settings.timeoutMs ?? 10_000,
    });
    return {
        name: 'smtp',
        async send(email) {
            try {
                const info = await transport.sendMail({
                    from: email.from,
                    to: email.to,
                    subject: email.subject,
                    text: email.text,
                    html: email.html,
                    headers: { 'X-Idempotency-Key': email.idempotencyKey },
                });
                return { id: String(info.messageId) };
            } catch (error) {
                const code = (error as { responseCode?: number }).responseCode;
                // SMTP 5xx: the server refuses this message for good; 4xx and connection errors are transient.
                throw new MailError(`SMTP send failed: ${(error as Error).message}`, !(code !== undefined && code >= 500));
            }
        },
    };
}
