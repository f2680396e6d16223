// The Stripe client of the functions: the official SDK with its fetch client (Deno has
// no Node http), pointed at STRIPE_API_URL when set (the local Stripe fake, via the
// SDK's host/port/protocol options), else at api.stripe.com. Also the one mapping from
// Stripe's failures to the functions' error codes.
import Stripe from 'stripe';
import { z } from 'zod';
import { apiError } from './errors.ts';
import type { HttpError } from './http.ts';

export const StripeEnv = z.object({
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_\w+$/, 'a Stripe secret key (sk_test_… or sk_live_…)'),
    /** The local Stripe fake (`npm start` sets it); unset: the real Stripe. */
    STRIPE_API_URL: z.string().url().optional(),
});
export type StripeEnv = z.infer<typeof StripeEnv>;

export const StripeWebhookEnv = z.object({
    STRIPE_WEBHOOK_SECRET: z.string().startsWith('whsec_', 'the endpoint signing secret (whsec_…)'),
});

export interface StripeClientOptions {
    /** Retries of connection errors, 409 and 5xx with the same idempotency key (SDK default 2 in the functions). */
    maxNetworkRetries?: number;
    timeoutMs?: number;
}

export function createStripe(env: StripeEnv, options: StripeClientOptions = {}): Stripe {
    const config: Stripe.StripeConfig = {
        httpClient: Stripe.createFetchHttpClient(),
        maxNetworkRetries: options.maxNetworkRetries ?? 2,
        timeout: options.timeoutMs ?? 20_000,
        telemetry: false,
        appInfo: { name: 'tillbase' },
    };
    if (env.STRIPE_API_URL) {
        const url = new URL(env.STRIPE_API_URL);
        config.protocol = url.protocol === 'https:' ? 'https' : 'http';
        config.host = url.hostname;
        config.port = url.port || (url.protocol === 'https:' ? 443 : 80);
    }
    return new Stripe(env.STRIPE_SECRET_KEY, config);
}

/** Deno has only asynchronous crypto: the webhook verifier and test signers use this provider. */
export const stripeCrypto = Stripe.createSubtleCryptoProvider();

/** True when Stripe could not be reached or failed on its side (retrying later may work). */
export function isStripeUnavailable(error: unknown): boolean {
    return (
        error instanceof Stripe.errors.StripeConnectionError ||
        error instanceof Stripe.errors.StripeAPIError ||
        error instanceof Stripe.errors.StripeRateLimitError ||
        error instanceof Stripe.errors.StripeAuthenticationError ||
        error instanceof Stripe.errors.StripePermissionError
    );
}

/** Stripe's 409 while another request with the same idempotency key is still running. */
export function isIdempotencyKeyInUse(error: unknown): boolean {
    return error instanceof Stripe.errors.StripeError && error.code === 'idempotency_key_in_use';
}

/**
 * A Stripe failure as an API error: Stripe unreachable, failing, rate limiting or
 * refusing our key → 503 `unavailable` (retry with the same idempotency key);
 * an idempotency key still in use by another request, or reused with other parameters
 * → 409 `conflict`; a card refused → 402 `payment_failed`. Anything else is ours (a
 * request Stripe found invalid): rethrown.
 */
export function stripeFailure(error: unknown, details?: Record<string, unknown>): HttpError {
    if (isStripeUnavailable(error)) {
        return apiError('unavailable', 'The payment provider is unavailable; retry the same request later', details);
    }
    if (isIdempotencyKeyInUse(error)) {
        return apiError('conflict', 'The same request is still being processed; repeat it unchanged in a moment', details);
    }
    if (error instanceof Stripe.errors.StripeIdempotencyError) {
        return apiError('conflict', 'This request was first made with other parameters; repeat it unchanged or use a new idempotency key', details);
    }
    if (error instanceof Stripe.errors.StripeCardError) {
        return apiError('payment_failed', error.message, { ...details, decline_code: error.decline_code });
    }
    throw error;
}

