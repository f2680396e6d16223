// Stripe's `Idempotency-Key` semantics for POST requests, per API key:
// - same key, same endpoint and parameters → the saved status and body again, with
//   `Idempotent-Replayed: true` (errors included, even a 500);
// - same key, other parameters (or endpoint) → 400 idempotency_error;
// - same key while the first request still runs → 409 idempotency_key_in_use;
// - nothing is saved when the parameters failed validation (Stripe had not started);
// - keys are kept 24 hours.
import { idempotencyEndpointMismatch, idempotencyInFlight, idempotencyMismatch, invalid, type StripeApiError } from './errors.js';

export interface SavedResponse {
    status: number;
    body: string;
    requestId: string;
}

interface Entry {
    endpoint: string;
    params: string;
    savedAt: number;
    response?: SavedResponse;
}

export type IdempotencyDecision = { kind: 'execute'; finish: (response: SavedResponse | undefined) => void } | { kind: 'replay'; response: SavedResponse };

const KEEP_MS = 24 * 3600 * 1000;

export class IdempotencyKeys {
    private readonly entries = new Map<string, Entry>();
    private calls = 0;

    constructor(private readonly now: () => number) {}

    /**
     * What to do with a POST carrying `key`. On `execute`, call `finish` with the response
     * to save (or undefined to forget the key: validation failed).
     */
    begin(account: string, key: string, endpoint: string, params: string): IdempotencyDecision | StripeApiError {
        if (key.length > 255) return invalid('Idempotency-Key must be at most 255 characters long.', 'Idempotency-Key');
        const id = `${account}\0${key}`;
        const now = this.now();
        if (++this.calls % 1_000 === 0) this.forgetExpired(now);
        let entry = this.entries.get(id);
        if (entry && now - entry.savedAt > KEEP_MS) {
            this.entries.delete(id);
            entry = undefined;
        }
        if (entry) {
            if (entry.endpoint !== endpoint) return idempotencyEndpointMismatch(key, entry.endpoint, endpoint);
            if (entry.params !== params) return idempotencyMismatch(key);
            if (!entry.response) return idempotencyInFlight(key);
            return { kind: 'replay', response: entry.response };
        }
        const fresh: Entry = { endpoint, params, savedAt: now };
        this.entries.set(id, fresh);
        return {
            kind: 'execute',
            finish: (response) => {
                if (response) fresh.response = response;
                else this.entries.delete(id);
            },
        };
    }

    /** A long-running local stack keeps only what Stripe would (24 hours of keys). */
    private forgetExpired(now: number): void {
        for (const [id, entry] of this.entries) if (entry.response && now - entry.savedAt > KEEP_MS) this.entries.delete(id);
    }
}
