// The error codes clients can switch on, shared by the edge functions (Deno) and the
// SDK (Node, browsers). A code is a contract: add new ones, never rename or reuse one.
// The SQL API raises stable SQLSTATEs; `codeForSqlState` is the one mapping from them.

export const ERROR_CODES = [
    'insufficient_stock', // a line cannot be reserved (sold out or not enough left)
    'limit_reached', // the shop's limits on unpaid orders or quantities
    'empty_cart', // the cart or item list has no lines
    'invalid_argument', // the input is malformed or out of range (the field is named)
    'not_found', // no such thing, or not yours
    'forbidden', // signed in, but this role may not do it
    'mfa_required', // allowed only in a session raised to aal2
    'unauthenticated', // no valid session
    'conflict', // the request contradicts the current state (illegal transition, key reuse)
    'payment_failed', // the payment provider refused the payment
    'invalid_signature', // a signed call (a Stripe webhook) has no, a forged or a too old signature
    'unavailable', // a dependency (Stripe, the ERP, the database) is down; retry later
    'internal', // a bug: reported, never detailed
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status a function answers with for each code. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
    insufficient_stock: 409,
    limit_reached: 429,
    empty_cart: 422,
    invalid_argument: 400,
    not_found: 404,
    forbidden: 403,
    mfa_required: 403,
    unauthenticated: 401,
    conflict: 409,
    payment_failed: 402,
    invalid_signature: 400,
    unavailable: 503,
    internal: 500,
};

/**
 * SQLSTATEs raised by the SQL API (see docs/data-model.md):
 * 42501 not allowed · 22023 invalid argument · TB001 illegal transition · TB002 insufficient
 * stock · TB003 not found · TB004 refund exceeds refundable · TB005 conflicting request ·
 * TB006 shop limit reached · TB007 no lines · 23514 an invariant constraint.
 */
const SQLSTATE_CODES: Record<string, ErrorCode> = {
    '42501': 'forbidden',
    '22023': 'invalid_argument',
    '22P02': 'invalid_argument',
    TB001: 'conflict',
    TB002: 'insufficient_stock',
    TB003: 'not_found',
    TB004: 'invalid_argument',
    TB005: 'conflict',
    TB006: 'limit_reached',
    TB007: 'empty_cart',
    '23514': 'conflict',
    '23505': 'conflict',
};

export function codeForSqlState(sqlstate: string | undefined | null): ErrorCode | undefined {
    return sqlstate ? SQLSTATE_CODES[sqlstate] : undefined;
}

export function isErrorCode(value: unknown): value is ErrorCode {
    return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
