// The one error type of the edge functions and the one way errors become responses:
// JSON `{code, message, details?}` with a stable `code`; never a stack trace, SQL text
// or a secret. Anything that is not an HttpError is logged and answered 500 `internal`.
import type { Logger } from './log.ts';

export class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly details?: unknown,
    ) {
        super(message);
        this.name = 'HttpError';
    }
}

/** CORS as Supabase's own function templates answer it: browsers call functions through supabase-js. */
export const corsHeaders: Record<string, string> = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, idempotency-key',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
};

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
        status,
        headers: { ...corsHeaders, 'content-type': 'application/json', ...headers },
    });
}

export function toResponse(error: unknown, log?: Logger): Response {
    if (error instanceof HttpError) {
        const body: Record<string, unknown> = { code: error.code, message: error.message };
        if (error.details !== undefined) body.details = error.details;
        return json(body, error.status);
    }
    log?.error('unhandled error', { error });
    return json({ code: 'internal', message: 'Internal error' }, 500);
}

/** The answer to a CORS preflight, or undefined for any other request. */
export function preflight(request: Request): Response | undefined {
    return request.method === 'OPTIONS' ? new Response('ok', { headers: corsHeaders }) : undefined;
}

/** The request body as JSON; a body that is not JSON is the caller's mistake (400 invalid_argument). */
export async function readJson(request: Request): Promise<unknown> {
    const text = await request.text();
    if (text.trim() === '') return {};
    try {
        return JSON.parse(text);
    } catch {
        throw new HttpError(400, 'invalid_argument', 'The request body is not valid JSON');
    }
}
