// Stripe's error bodies: `{"error": {type, code, decline_code?, message, param?, doc_url?,
// request_log_url?, payment_intent?}}` with the HTTP status the official SDK maps to
// its error classes (400/404 invalid request, 401 authentication, 402 card, 409
// idempotency in flight, 429 rate limit, 5xx api_error).

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorBody {
    type: StripeErrorType;
    message: string;
    code?: string;
    decline_code?: string;
    param?: string;
    doc_url?: string;
    request_log_url?: string;
    payment_intent?: unknown;
    charge?: string;
    payment_method?: unknown;
}

export class StripeApiError extends Error {
    constructor(
        readonly status: number,
        readonly body: StripeErrorBody,
        /** Stripe answers some errors with `Stripe-Should-Retry` (409 in flight: true). */
        readonly shouldRetry?: boolean,
    ) {
        super(body.message);
        this.name = 'StripeApiError';
    }

    /** Validation failures are not saved under an idempotency key (Stripe did not start executing). */
    get isValidation(): boolean {
        return this.status === 400 && this.body.type === 'invalid_request_error';
    }
}

const doc = (code: string) => `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`;

export const invalid = (message: string, param?: string, code?: string): StripeApiError =>
    new StripeApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code, doc_url: doc(code) } : {}) });

export const missingParam = (param: string): StripeApiError => invalid(`Missing required param: ${param}.`, param, 'parameter_missing');

export const unknownParam = (param: string): StripeApiError => invalid(`Received unknown parameter: ${param}`, param, 'parameter_unknown');

export const noSuch = (kind: string, id: string, param = 'id'): StripeApiError =>
    new StripeApiError(404, { type: 'invalid_request_error', code: 'resource_missing', doc_url: doc('resource_missing'), message: `No such ${kind}: '${id}'`, param });

export const unexpectedState = (message: string): StripeApiError => invalid(message, undefined, 'payment_intent_unexpected_state');

export const idempotencyMismatch = (key: string): StripeApiError =>
    new StripeApiError(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });

export const idempotencyEndpointMismatch = (key: string, first: string, now: string): StripeApiError =>
    new StripeApiError(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${first}' vs '${now}'). Try using a key other than '${key}' if you meant to execute a different request.`,
    });

export const idempotencyInFlight = (key: string): StripeApiError =>
    new StripeApiError(
        409,
        {
            type: 'invalid_request_error',
            code: 'idempotency_key_in_use',
            doc_url: doc('idempotency_key_in_use'),
            message:
                `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        },
        true,
    );

export const authentication = (message: string): StripeApiError => new StripeApiError(401, { type: 'invalid_request_error', message });

export const apiError = (message = 'An unknown error occurred'): StripeApiError => new StripeApiError(500, { type: 'api_error', message });

export { doc as docUrl };
