// Webhook delivery, as Stripe (and `stripe listen`) does it: every event is POSTed as
// JSON to each endpoint, signed with the endpoint's `whsec_…` secret in a
// `Stripe-Signature: t=…,v1=…` header made by the official SDK. A non-2xx answer or a
// network failure is retried later with backoff; an event's attempts are independent
// of other events (no ordering guarantee across failures, as with Stripe).
//
// Time is injected: `schedule(fn, ms)` runs retries (setTimeout by default; tests pass
// their own), `now()` stamps the signatures.
import Stripe from 'stripe';
import type { StripeEvent } from './objects.js';

export interface WebhookEndpoint {
    url: string;
    secret: string;
}

export interface DeliveryAttempt {
    eventId: string;
    type: string;
    url: string;
    attempt: number;
    /** HTTP status, or undefined when the request failed (refused, timed out). */
    status?: number;
    error?: string;
    at: number;
}

export interface WebhookDeliveryOptions {
    endpoints: () => WebhookEndpoint[];
    /** Delay before each retry; the event is given up after the last one. */
    retryDelaysMs: number[];
    timeoutMs?: number;
    now?: () => number;
    schedule?: (run: () => void, ms: number) => () => void;
    log?: (entry: Record<string, unknown> & { level: 'info' | 'warn' | 'error'; msg: string }) => void;
}

/** Stripe's retry schedule shortened for local work: 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h. */
export const LOCAL_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];

const MAX_LOGGED_ATTEMPTS = 10_000;

export class WebhookDeliveries {
    readonly attempts: DeliveryAttempt[] = [];
    private readonly pending = new Set<Promise<void>>();
    private readonly timers = new Set<() => void>();
    private readonly waiting = new Set<string>();
    private closed = false;
    private readonly now: () => number;
    private readonly schedule: (run: () => void, ms: number) => () => void;
    private readonly crypto = Stripe.createSubtleCryptoProvider();

    constructor(private readonly options: WebhookDeliveryOptions) {
        this.now = options.now ?? Date.now;
        this.schedule =
            options.schedule ??
            ((run, ms) => {
                const timer = setTimeout(run, ms);
                timer.unref?.();
                return () => clearTimeout(timer);
            });
    }

    /** Sends `event` to every endpoint now, retrying failures on the schedule. */
    enqueue(event: StripeEvent): void {
        for (const endpoint of this.options.endpoints()) this.track(this.deliver(event, endpoint, 1, true));
    }

    /** One attempt per endpoint now, without retries (a resend, or the scenario runner's delivery). */
    async deliverOnce(event: StripeEvent): Promise<DeliveryAttempt[]> {
        const done = this.options.endpoints().map((endpoint) => this.attempt(event, endpoint, 1));
        const attempts = await Promise.all(done);
        return attempts;
    }

    /** Resolves when no delivery is in flight or waiting for a retry. */
    async settled(): Promise<void> {
        while (this.pending.size || this.waiting.size) {
            if (this.pending.size) await Promise.all([...this.pending]);
            else await new Promise((resolve) => setTimeout(resolve, 10));
        }
    }

    /** Retries still scheduled, as "event id → url". */
    get retrying(): string[] {
        return [...this.waiting];
    }

    close(): void {
        this.closed = true;
        for (const cancel of this.timers) cancel();
        this.timers.clear();
        this.waiting.clear();
    }

    private track(work: Promise<void>): void {
        this.pending.add(work);
        void work.finally(() => this.pending.delete(work));
    }

    private async deliver(event: StripeEvent, endpoint: WebhookEndpoint, attempt: number, retry: boolean): Promise<void> {
        if (this.closed) return;
        const result = await this.attempt(event, endpoint, attempt);
        const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
        if (ok || !retry || this.closed) return;
        const delay = this.options.retryDelaysMs[attempt - 1];
        if (delay === undefined) {
            this.options.log?.({ level: 'error', msg: 'webhook given up after the last retry', event: event.id, type: event.type, url: endpoint.url, attempts: attempt });
            return;
        }
        const key = `${event.id} → ${endpoint.url}`;
        this.waiting.add(key);
        const cancel = this.schedule(() => {
            this.timers.delete(cancel);
            this.waiting.delete(key);
            this.track(this.deliver(event, endpoint, attempt + 1, true));
        }, delay);
        this.timers.add(cancel);
    }

    private async attempt(event: StripeEvent, endpoint: WebhookEndpoint, attempt: number): Promise<DeliveryAttempt> {
        // Stripe sends pretty-printed JSON; the signature covers these exact bytes.
        const payload = JSON.stringify(event, null, 2);
        const timestamp = Math.floor(this.now() / 1000);
        const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: endpoint.secret, timestamp, cryptoProvider: this.crypto });
        const record: DeliveryAttempt = { eventId: event.id, type: event.type, url: endpoint.url, attempt, at: this.now() };
        try {
            const response = await fetch(endpoint.url, {
                method: 'POST',
                headers: {
                    'content-type': 'application/json; charset=utf-8',
                    'stripe-signature': signature,
                    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
                    'cache-control': 'no-cache',
                    accept: '*/*; q=0.5, application/xml',
                },
                body: payload,
                signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
            });
            await response.arrayBuffer().catch(() => undefined);
            record.status = response.status;
        } catch (error) {
            record.error = (error as Error).message;
        }
        this.attempts.push(record);
        // The delivery log of a long-running stack keeps the recent attempts only.
        if (this.attempts.length > MAX_LOGGED_ATTEMPTS) this.attempts.splice(0, this.attempts.length - MAX_LOGGED_ATTEMPTS);
        const ok = record.status !== undefined && record.status < 300 && record.status >= 200;
        this.options.log?.({
            level: ok ? 'info' : 'warn',
            msg: ok ? 'webhook delivered' : 'webhook delivery failed',
            event: event.id,
            type: event.type,
            url: endpoint.url,
            attempt,
            status: record.status,
            error: record.error,
        });
        return record;
    }
}
