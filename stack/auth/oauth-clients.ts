// The OAuth 2.1 server's client registry as GoTrue's admin API manages it
// (`/admin/oauth/clients`, auth-js `auth.admin.oauth.*`), when [auth.oauth_server] is
// enabled: create, list, get, update, delete, regenerate the secret. Redirect URIs follow
// OAuth 2.1: absolute, no fragment, plain http only for loopback hosts. A confidential
// client's secret is shown once (on create and regenerate) and stored as a SHA-256 hash.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AuthContext, RequestFacts } from './context.js';
import { badRequest, notFound } from './errors.js';
import { pageHeaders, readPage } from './pagination.js';
import { json, readBody, requireAdmin } from './request.js';

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
const GRANT_TYPES = ['authorization_code', 'refresh_token'];
const MAX_REDIRECT_URIS = 10;

interface ClientRow {
    id: string;
    client_secret_hash: string | null;
    registration_type: 'dynamic' | 'manual';
    redirect_uris: string;
    grant_types: string;
    client_name: string | null;
    client_uri: string | null;
    logo_uri: string | null;
    created_at: Date;
    updated_at: Date;
    client_type: 'public' | 'confidential';
    token_endpoint_auth_method: string;
    scope: string | null;
}

/** Why a redirect URI is refused, or null when it is acceptable (OAuth 2.1 §2.3.1, §7.5). */
function redirectUriProblem(uri: string): string | null {
    if (!uri) return 'redirect URI cannot be empty';
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        return 'invalid URL format';
    }
    if (!url.protocol || !url.host) return 'must have scheme and host';
    if (['javascript:', 'data:', 'vbscript:', 'file:'].includes(url.protocol)) return `scheme ${url.protocol.slice(0, -1)} not allowed`;
    if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return 'HTTP scheme only allowed for localhost';
    if (uri.includes('#')) return 'fragment not allowed in redirect URI';
    return null;
}

function checkRedirectUris(uris: string[]): void {
    if (uris.length > MAX_REDIRECT_URIS) throw badRequest('validation_failed', `redirect_uris cannot exceed ${MAX_REDIRECT_URIS} items`);
    for (const uri of uris) {
        const problem = redirectUriProblem(uri);
        if (problem) throw badRequest('validation_failed', `invalid redirect_uri '${uri}': ${problem}`);
    }
}

function checkUrl(field: string, value: string | undefined): void {
    if (value === undefined || value === '') return;
    let url: URL | undefined;
    try {
        url = new URL(value);
    } catch {
        url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || value.length > 2048) throw badRequest('validation_failed', `${field} must be a valid URL`);
}

const Fields = {
    client_name: z.string().optional(),
    client_uri: z.string().optional(),
    logo_uri: z.string().optional(),
    redirect_uris: z.array(z.string()).optional(),
    grant_types: z.array(z.string()).optional(),
    token_endpoint_auth_method: z.string().optional(),
};
const CreateBody = z
    .object({ ...Fields, response_types: z.array(z.string()).optional(), scope: z.string().optional(), client_type: z.string().optional() })
    .passthrough();
const UpdateBody = z.object(Fields).passthrough();

/** Checks the fields both create and update accept. */
function checkFields(body: z.infer<typeof UpdateBody>): void {
    if (body.client_name && body.client_name.length > 1024) throw badRequest('validation_failed', 'client_name cannot exceed 1024 characters');
    const method = body.token_endpoint_auth_method;
    if (method !== undefined && !(AUTH_METHODS as readonly string[]).includes(method)) {
        throw badRequest('validation_failed', `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
    }
    if (body.redirect_uris) checkRedirectUris(body.redirect_uris);
    if (body.grant_types?.some((g) => !GRANT_TYPES.includes(g))) {
        throw badRequest('validation_failed', "grant_types must only contain 'authorization_code' and/or 'refresh_token'");
    }
    checkUrl('client_uri', body.client_uri);
    checkUrl('logo_uri', body.logo_uri);
}

const typeOfMethod = (method: string) => (method === 'none' ? 'public' : 'confidential');

function newSecret(): { secret: string; hash: string } {
    const secret = randomBytes(32).toString('base64url');
    return { secret, hash: createHash('sha256').update(secret).digest('hex') };
}

function clientJson(row: ClientRow, secret?: string): Record<string, unknown> {
    const body: Record<string, unknown> = {
        client_id: row.id,
        client_name: row.client_name ?? '',
        client_type: row.client_type,
        token_endpoint_auth_method: row.token_endpoint_auth_method,
        registration_type: row.registration_type,
        redirect_uris: row.redirect_uris ? row.redirect_uris.split(',') : [],
        grant_types: row.grant_types ? row.grant_types.split(',') : [],
        response_types: ['code'],
        created_at: row.created_at.toISOString(),
        updated_at: row.updated_at.toISOString(),
    };
    if (secret) body.client_secret = secret;
    if (row.client_uri) body.client_uri = row.client_uri;
    if (row.logo_uri) body.logo_uri = row.logo_uri;
    if (row.scope) body.scope = row.scope;
    return body;
}

/** Admin credentials first (GoTrue's /admin group), then the 404 of a disabled OAuth server. */
async function requireOAuthAdmin(ctx: AuthContext, request: Request): Promise<void> {
    await requireAdmin(ctx, request);
    if (!ctx.settings.oauthServer.enabled) throw notFound('oauth_server_disabled', 'OAuth server is disabled');
}

const clientNotFound = () => notFound('oauth_client_not_found', 'OAuth client not found');

async function findClient(ctx: AuthContext, clientId: string): Promise<ClientRow> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) throw clientNotFound();
    const { rows } = await ctx.pool.query<ClientRow>('select * from auth.oauth_clients where id = $1 and deleted_at is null', [clientId]);
    if (!rows[0]) throw clientNotFound();
    return rows[0];
}

/** POST /admin/oauth/clients: a manually registered client. */
export async function createClient(ctx: AuthContext, request: Request): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    const body = await readBody(request, CreateBody);
    if (!body.redirect_uris?.length) throw badRequest('validation_failed', 'redirect_uris is required');
    checkFields(body);
    if (body.response_types?.some((r) => r !== 'code')) throw badRequest('validation_failed', "response_types must only contain 'code'");
    if (body.client_type !== undefined && !['public', 'confidential'].includes(body.client_type)) {
        throw badRequest('validation_failed', "client_type must be 'public' or 'confidential'");
    }
    const method = body.token_endpoint_auth_method ?? (body.client_type === 'public' ? 'none' : 'client_secret_basic');
    const clientType = typeOfMethod(method);
    if (body.client_type && body.client_type !== clientType) {
        throw badRequest('validation_failed', `token_endpoint_auth_method '${method}' is incompatible with client_type '${body.client_type}'`);
    }
    const secret = clientType === 'confidential' ? newSecret() : undefined;
    const now = ctx.now();
    const { rows } = await ctx.pool.query<ClientRow>(
        `insert into auth.oauth_clients (id, client_secret_hash, registration_type, redirect_uris, grant_types, client_name, client_uri, logo_uri,
             created_at, updated_at, client_type, token_endpoint_auth_method, scope)
         values ($1, $2, 'manual', $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) returning *`,
        [
            randomUUID(),
            secret?.hash ?? null,
            body.redirect_uris.join(','),
            (body.grant_types?.length ? body.grant_types : GRANT_TYPES).join(','),
            body.client_name || null,
            body.client_uri || null,
            body.logo_uri || null,
            now,
            clientType,
            method,
            body.scope || null,
        ],
    );
    return json(201, clientJson(rows[0]!, secret?.secret));
}

/** GET /admin/oauth/clients?page=&per_page=. */
export async function listClients(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    const q = facts.url.searchParams;
    const page = readPage(q);
    const { rows } = await ctx.pool.query<ClientRow>(
        'select * from auth.oauth_clients where deleted_at is null order by created_at desc, id limit $1 offset $2',
        [page.perPage, page.offset],
    );
    const { rows: counted } = await ctx.pool.query<{ count: string }>('select count(*) from auth.oauth_clients where deleted_at is null');
    const total = Number(counted[0]!.count);
    return json(200, { clients: rows.map((row) => clientJson(row)), aud: 'authenticated' }, pageHeaders('/admin/oauth/clients', q, page, total));
}

/** GET /admin/oauth/clients/{client_id}. */
export async function getClient(ctx: AuthContext, request: Request, _facts: RequestFacts, clientId: string): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    return json(200, clientJson(await findClient(ctx, clientId)));
}

/** PUT /admin/oauth/clients/{client_id}: only the fields sent change; a client keeps its type. */
export async function updateClient(ctx: AuthContext, request: Request, _facts: RequestFacts, clientId: string): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    const client = await findClient(ctx, clientId);
    const body = await readBody(request, UpdateBody);
    if (body.redirect_uris && body.redirect_uris.length === 0) throw badRequest('validation_failed', 'redirect_uris cannot be empty');
    checkFields(body);
    if (body.token_endpoint_auth_method && typeOfMethod(body.token_endpoint_auth_method) !== client.client_type) {
        throw badRequest('validation_failed', `token_endpoint_auth_method '${body.token_endpoint_auth_method}' is incompatible with client_type '${client.client_type}'`);
    }
    const { rows } = await ctx.pool.query<ClientRow>(
        `update auth.oauth_clients set
             client_name = coalesce($2, client_name), client_uri = coalesce($3, client_uri), logo_uri = coalesce($4, logo_uri),
             redirect_uris = coalesce($5, redirect_uris), grant_types = coalesce($6, grant_types),
             token_endpoint_auth_method = coalesce($7, token_endpoint_auth_method), updated_at = $8
         where id = $1 and deleted_at is null returning *`,
        [
            client.id,
            body.client_name ?? null,
            body.client_uri ?? null,
            body.logo_uri ?? null,
            body.redirect_uris?.join(',') ?? null,
            body.grant_types?.length ? body.grant_types.join(',') : null,
            body.token_endpoint_auth_method ?? null,
            ctx.now(),
        ],
    );
    if (!rows[0]) throw clientNotFound();
    return json(200, clientJson(rows[0]));
}

/** DELETE /admin/oauth/clients/{client_id}: soft delete (deleted_at), 204. */
export async function deleteClient(ctx: AuthContext, request: Request, _facts: RequestFacts, clientId: string): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    const client = await findClient(ctx, clientId);
    await ctx.pool.query('update auth.oauth_clients set deleted_at = $2, updated_at = $2 where id = $1', [client.id, ctx.now()]);
    return new Response(null, { status: 204 });
}

/** POST /admin/oauth/clients/{client_id}/regenerate_secret: a new secret, shown once; the old one stops working. */
export async function regenerateSecret(ctx: AuthContext, request: Request, _facts: RequestFacts, clientId: string): Promise<Response> {
    await requireOAuthAdmin(ctx, request);
    const client = await findClient(ctx, clientId);
    if (client.client_type === 'public') throw badRequest('validation_failed', 'Cannot regenerate secret for public client');
    const secret = newSecret();
    const { rows } = await ctx.pool.query<ClientRow>(
        'update auth.oauth_clients set client_secret_hash = $2, updated_at = $3 where id = $1 returning *',
        [client.id, secret.hash, ctx.now()],
    );
    return json(200, clientJson(rows[0]!, secret.secret));
}
