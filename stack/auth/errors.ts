// The one error type of the auth server and its two wire shapes: the legacy GoTrue body
// `{code: <status>, error_code, msg}` and, when the request carries
// `X-Supabase-Api-Version: 2024-01-01`, `{code: <error_code>, message}` with the header echoed.
export const API_VERSION_HEADER = 'X-Supabase-Api-Version';
export const API_VERSION_2024 = '2024-01-01';

export class AuthError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        /** Extra top-level body fields (e.g. `weak_password`). */
        readonly extra: Record<string, unknown> = {},
    ) {
        super(message);
    }
}

/**
 * GoTrue's OAuthError: a 400 written as `{error, error_description}` whatever the API
 * version (the id_token grant's request errors).
 */
export class OAuthError extends AuthError {
    constructor(
        readonly error: string,
        description: string,
    ) {
        super(400, '', description);
    }
}

export const badRequest = (code: string, message: string) => new AuthError(400, code, message);
export const unauthorized = (code: string, message: string) => new AuthError(401, code, message);
export const forbidden = (code: string, message: string) => new AuthError(403, code, message);
export const notFound = (code: string, message: string) => new AuthError(404, code, message);
export const unprocessable = (code: string, message: string) => new AuthError(422, code, message);
export const tooManyRequests = (code: string, message: string) => new AuthError(429, code, message);
export const internal = (message: string) => new AuthError(500, 'unexpected_failure', message);

export const INVALID_LOGIN = 'Invalid login credentials';
export const DUPLICATE_EMAIL = 'A user with this email address has already been registered';
export const DUPLICATE_PHONE = 'Phone number already registered by another user';

export class WeakPasswordError extends AuthError {
    constructor(
        message: string,
        readonly reasons: string[],
    ) {
        super(422, 'weak_password', message, { weak_password: { reasons } });
    }
}

/** The API version the client asked for (only 2024-01-01 exists), or null for legacy. */
export function requestedApiVersion(request: Request): string | null {
    const value = request.headers.get(API_VERSION_HEADER);
    if (!value) return null;
    const parsed = Date.parse(`${value}T00:00:00Z`);
    if (Number.isNaN(parsed)) return null;
    return parsed >= Date.parse(`${API_VERSION_2024}T00:00:00Z`) ? API_VERSION_2024 : null;
}

export function errorBody(error: AuthError, apiVersion: string | null): Record<string, unknown> {
    if (error instanceof OAuthError) return { error: error.error, error_description: error.message };
    const code = error.code || (error.status >= 500 ? 'unexpected_failure' : 'unknown');
    if (apiVersion) return { code, message: error.message, ...error.extra };
    return { code: error.status, error_code: code, msg: error.message, ...error.extra };
}

export function errorResponse(error: AuthError, apiVersion: string | null): Response {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (apiVersion) headers[API_VERSION_HEADER] = apiVersion;
    return new Response(JSON.stringify(errorBody(error, apiVersion)), { status: error.status, headers });
}
