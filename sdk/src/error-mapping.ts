// Every failure a helper can meet, as a TillbaseError with one of the contract's codes:
//
// - PostgREST (tables and rpc): the SQL API's SQLSTATEs through `codeForSqlState`, then
//   PostgREST's own codes (PGRST116 no row → not_found, JWT problems → unauthenticated,
//   no database → unavailable) and finally the HTTP status;
// - Auth (supabase-js `AuthError`): GoTrue's error codes;
// - edge functions: their JSON body `{code, message, details}` carries a contract code
//   already; a function that cannot be reached is `unavailable`;
// - a request that got no answer at all (network down, DNS, CORS) is `unavailable`.
//
// Nothing here throws: an error it cannot classify is `internal`, with the original as
// `cause`.
import { codeForSqlState, isErrorCode, type ErrorCode } from './contract/errors.ts';
import { TillbaseError } from './result.ts';

/** What postgrest-js hands back on failure: the error body and the HTTP status. */
export interface PostgrestFailure {
    error: { code?: string; message?: string; details?: string | null; hint?: string | null };
    status: number;
}

/** Raised by a helper that already knows its code. */
export function failure(code: ErrorCode, message: string, details?: unknown, status?: number): TillbaseError {
    return new TillbaseError(code, message, { details, status });
}

/** PostgREST's own codes (PGRSTxxx) that mean something to a caller. */
const PGRST_CODES: Record<string, ErrorCode> = {
    PGRST000: 'unavailable', // could not connect to the database
    PGRST001: 'unavailable', // lost the connection
    PGRST002: 'unavailable', // schema cache not loaded yet
    PGRST003: 'unavailable', // pool timeout
    PGRST116: 'not_found', // .single(): no row (or RLS hides it)
    PGRST202: 'not_found', // no such function
    PGRST205: 'not_found', // no such table
    PGRST204: 'invalid_argument', // a column that does not exist
    PGRST100: 'invalid_argument', // a malformed query
    PGRST102: 'invalid_argument', // a malformed body
    PGRST301: 'unauthenticated', // a JWT that cannot be decoded
    PGRST302: 'unauthenticated', // anonymous access disabled
    PGRST303: 'unauthenticated', // JWT claims invalid (expired…)
};

function byStatus(status: number): ErrorCode {
    if (status === 0) return 'unavailable';
    if (status === 400 || status === 422) return 'invalid_argument';
    if (status === 401) return 'unauthenticated';
    if (status === 403) return 'forbidden';
    if (status === 404) return 'not_found';
    if (status === 409) return 'conflict';
    if (status === 429) return 'limit_reached';
    if (status === 502 || status === 503 || status === 504) return 'unavailable';
    return 'internal';
}

/** The SQL API prefixes its messages with the function's name ("place_order: …"); callers see the sentence. */
const withoutFunctionName = (message: string) => message.replace(/^[a-z_]+: /, '');

export interface SessionFacts {
    /** The aal claim of the session that made the request (`aal1`, `aal2`), if any. */
    aal?: string;
}

/**
 * A PostgREST failure. `42501` is `forbidden` — except that PostgREST answers it 401 when
 * nobody is signed in (`unauthenticated`), and the SQL API's "… with MFA (aal2)" refusals
 * to a session below aal2 are `mfa_required`: raising the session is what would help.
 */
export function fromPostgrest({ error, status }: PostgrestFailure, session: SessionFacts = {}): TillbaseError {
    const sqlstate = error.code ?? '';
    const message = error.message ?? `request failed with status ${status}`;
    let code = codeForSqlState(sqlstate) ?? PGRST_CODES[sqlstate];
    if (sqlstate === '42501') {
        if (status === 401) code = 'unauthenticated';
        else if (/\baal2\b/.test(message) && session.aal !== 'aal2') code = 'mfa_required';
    }
    // postgrest-js reports a fetch that got no answer as status 0 ("TypeError: fetch failed").
    code ??= byStatus(status);
    return new TillbaseError(code, withoutFunctionName(message), {
        status,
        details: { sqlstate: sqlstate || undefined, details: error.details ?? undefined, hint: error.hint ?? undefined },
    });
}

/** GoTrue's error codes (auth-js `AuthError.code`). */
const AUTH_CODES: Record<string, ErrorCode> = {
    validation_failed: 'invalid_argument',
    bad_json: 'invalid_argument',
    weak_password: 'invalid_argument',
    email_address_invalid: 'invalid_argument',
    mfa_verification_failed: 'invalid_argument',
    otp_expired: 'invalid_argument',
    mfa_challenge_expired: 'conflict',
    webauthn_challenge_expired: 'conflict',
    mfa_factor_name_conflict: 'conflict',
    mfa_verified_factor_exists: 'conflict',
    email_exists: 'conflict',
    phone_exists: 'conflict',
    user_already_exists: 'conflict',
    identity_already_exists: 'conflict',
    same_password: 'conflict',
    mfa_factor_not_found: 'not_found',
    user_not_found: 'not_found',
    identity_not_found: 'not_found',
    insufficient_aal: 'mfa_required',
    reauthentication_needed: 'mfa_required',
    invalid_credentials: 'unauthenticated',
    bad_jwt: 'unauthenticated',
    no_authorization: 'unauthenticated',
    session_not_found: 'unauthenticated',
    session_expired: 'unauthenticated',
    refresh_token_not_found: 'unauthenticated',
    refresh_token_already_used: 'unauthenticated',
    email_not_confirmed: 'unauthenticated',
    phone_not_confirmed: 'unauthenticated',
    user_banned: 'forbidden',
    not_admin: 'forbidden',
    signup_disabled: 'forbidden',
    mfa_ip_address_mismatch: 'forbidden',
    mfa_verification_rejected: 'forbidden',
    mfa_totp_enroll_not_enabled: 'forbidden',
    mfa_totp_verify_not_enabled: 'forbidden',
    mfa_webauthn_enroll_not_enabled: 'forbidden',
    mfa_webauthn_verify_not_enabled: 'forbidden',
    too_many_enrolled_mfa_factors: 'limit_reached',
    over_request_rate_limit: 'limit_reached',
    over_email_send_rate_limit: 'limit_reached',
    over_sms_send_rate_limit: 'limit_reached',
    request_timeout: 'unavailable',
    hook_timeout: 'unavailable',
    hook_timeout_after_retry: 'unavailable',
};

interface AuthErrorLike {
    __isAuthError: true;
    name: string;
    message: string;
    status?: number;
    code?: string;
}

function isAuthErrorLike(error: unknown): error is AuthErrorLike {
    return typeof error === 'object' && error !== null && (error as { __isAuthError?: unknown }).__isAuthError === true;
}

/** An auth-js error (sign-in, MFA, session). */
export function fromAuth(error: AuthErrorLike): TillbaseError {
    const status = error.status ?? 0;
    let code: ErrorCode | undefined = error.code ? AUTH_CODES[error.code] : undefined;
    if (!code) {
        if (error.name === 'AuthSessionMissingError' || error.name === 'AuthInvalidJwtError') code = 'unauthenticated';
        else if (error.name === 'AuthRetryableFetchError') code = 'unavailable';
        else if (error.name === 'AuthWeakPasswordError') code = 'invalid_argument';
        else code = byStatus(status);
    }
    return new TillbaseError(code, error.message, { status, details: error.code ? { auth_code: error.code } : undefined, cause: error });
}

interface FunctionsErrorLike {
    name: string;
    message: string;
    context: unknown;
}

function isFunctionsErrorLike(error: unknown): error is FunctionsErrorLike {
    const name = (error as { name?: unknown } | null)?.name;
    return name === 'FunctionsHttpError' || name === 'FunctionsRelayError' || name === 'FunctionsFetchError';
}

/** A functions-js error: the function's JSON error body, or the relay/fetch failing. */
export async function fromFunctions(error: FunctionsErrorLike): Promise<TillbaseError> {
    if (error.name !== 'FunctionsHttpError' || !(error.context instanceof Response)) {
        return new TillbaseError('unavailable', `The function could not be reached: ${error.message}`, { status: 0, cause: error });
    }
    const response = error.context;
    let body: unknown;
    try {
        body = await response.clone().json();
    } catch {
        body = undefined;
    }
    const { code, message, details } = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    return new TillbaseError(isErrorCode(code) ? code : byStatus(response.status), typeof message === 'string' ? message : `The function answered ${response.status}`, {
        status: response.status,
        details,
        cause: error,
    });
}

/** Whatever a helper's work threw, as a TillbaseError (synchronously: async sources are mapped where they are awaited). */
export function toTillbaseError(error: unknown): TillbaseError {
    if (error instanceof TillbaseError) return error;
    if (isAuthErrorLike(error)) return fromAuth(error);
    if (error instanceof TypeError) {
        // fetch() rejects with a TypeError when no answer came (network, DNS, CORS).
        return new TillbaseError('unavailable', error.message, { status: 0, cause: error });
    }
    return new TillbaseError('internal', error instanceof Error ? error.message : 'Unexpected failure', { status: 0, cause: error });
}

export { isAuthErrorLike, isFunctionsErrorLike };
