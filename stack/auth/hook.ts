// The custom access token hook: `select <schema>.<fn>($1::jsonb)` as supabase_auth_admin
// with {user_id, claims, authentication_method}; the function returns {claims} or
// {error: {http_code, message}}, which aborts the request with that status.
import type pg from 'pg';
import { AuthError, internal } from './errors.js';
import type { AuthSettings } from './settings.js';

const REQUIRED_CLAIMS = ['aud', 'exp', 'iat', 'sub', 'email', 'phone', 'role', 'aal', 'session_id', 'is_anonymous'];

function quoteIdent(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
}

export async function runCustomAccessTokenHook(
    db: Pick<pg.ClientBase, 'query'>,
    hook: NonNullable<AuthSettings['customAccessTokenHook']>,
    input: { user_id: string; claims: Record<string, unknown>; authentication_method: string },
): Promise<Record<string, unknown>> {
    let output: unknown;
    try {
        await db.query('savepoint custom_access_token_hook');
        const { rows } = await db.query<{ output: unknown }>(
            `select ${quoteIdent(hook.schema)}.${quoteIdent(hook.fn)}($1::jsonb) as output`,
            [JSON.stringify(input)],
        );
        await db.query('release savepoint custom_access_token_hook');
        output = rows[0]?.output;
    } catch (error) {
        await db.query('rollback to savepoint custom_access_token_hook').catch(() => {});
        throw internal(`Error running hook URI: pg-functions://postgres/${hook.schema}/${hook.fn}`);
    }
    if (typeof output === 'string') {
        try {
            output = JSON.parse(output);
        } catch {
            throw internal('Error unmarshaling JSON output.');
        }
    }
    if (!output || typeof output !== 'object') throw internal('Error unmarshaling JSON output.');
    const result = output as { claims?: unknown; error?: { http_code?: unknown; message?: unknown } };
    if (result.error && typeof result.error === 'object') {
        const status = typeof result.error.http_code === 'number' && result.error.http_code > 0 ? result.error.http_code : 500;
        const message = typeof result.error.message === 'string' ? result.error.message : 'Hook returned an error';
        throw new AuthError(status, status >= 500 ? 'unexpected_failure' : 'unknown', message);
    }
    const claims = result.claims;
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) {
        throw internal('output claims do not conform to the expected schema');
    }
    for (const claim of REQUIRED_CLAIMS) {
        if (!(claim in claims)) throw internal('output claims do not conform to the expected schema');
    }
    return claims as Record<string, unknown>;
}
