// stripe-webhook (verify_jwt = false: Stripe does not send a Supabase JWT; it signs
// each request, and that signature is checked here). The `Stripe-Signature` header is
// verified over the raw body with the SDK's asynchronous verifier (Deno has only async
// crypto), with Stripe's 300-second tolerance: a missing, forged or stale signature is
// 400 `invalid_signature` and nothing is read further. Every verified event is
// answered 2xx — including types nobody handles and events the SQL API rejects (an
// amount or currency that does not match the order: recorded, never paid) — unless it
// could not even be recorded, which is 503 so that Stripe retries.
import Stripe from 'stripe';
import { z } from 'zod';
import { apiError, errorResponse } from '../_shared/errors.ts';
import { json } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { applyStripeEvent } from '../_shared/stripe-events.ts';
import type { Db } from '../_shared/db.ts';

export interface WebhookDeps {
    db: Db;
    stripe: Stripe;
    webhookSecret: string;
    cryptoProvider: Stripe.CryptoProvider;
    now: () => Date;
    log: Logger;
}

export const SIGNATURE_TOLERANCE_S = 300;

/** What the database needs of an event; the rest of Stripe's envelope is kept as sent. */
const EventEnvelope = z.object({
    id: z.string().regex(/^evt_/),
    object: z.literal('event'),
    type: z.string().min(1),
    created: z.number().int(),
    data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

export async function handle(request: Request, deps: WebhookDeps): Promise<Response> {
    const log = deps.log.with({ request_id: request.headers.get('x-request-id') ?? undefined });
    try {
        if (request.method !== 'POST') throw apiError('invalid_argument', 'Stripe webhooks are POSTed');
        const signature = request.headers.get('stripe-signature');
        if (!signature) throw apiError('invalid_signature', 'Missing Stripe-Signature header');
        const raw = await request.text();
        let event: unknown;
        try {
            event = await deps.stripe.webhooks.constructEventAsync(
                raw,
                signature,
                deps.webhookSecret,
                SIGNATURE_TOLERANCE_S,
                deps.cryptoProvider,
                deps.now().getTime(),
            );
        } catch (error) {
            // The SDK checks the signature first, then parses: a signed body that is not JSON is not a signature problem.
            if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw apiError('invalid_argument', 'The signed body is not JSON');
            log.warn('stripe signature refused', { error });
            throw apiError('invalid_signature', error.message.split('\n')[0]!);
        }
        const envelope = EventEnvelope.safeParse(event);
        if (!envelope.success) throw apiError('invalid_argument', 'The signed body is not a Stripe event', { issues: envelope.error.issues.map((i) => i.path.join('.')) });
        const { id, type } = envelope.data;
        const outcome = await applyStripeEvent(deps.db, raw, { id, type }, log);
        const level = outcome.status === 'rejected' || outcome.status === 'failed' ? 'warn' : 'info';
        log[level]('stripe event', { event_id: id, type, status: outcome.status, order_id: outcome.order_id, reason: outcome.reason });
        return json({ received: true, ...outcome });
    } catch (error) {
        return errorResponse(error, log);
    }
}
