// Sign-in methods that need a third party the local stack cannot reach — OIDC providers'
// ID tokens, Web3 wallets, SAML identity providers, OAuth providers for identity linking —
// answered as Supabase Auth answers when they are disabled, which is the CLI's default.
// When config.toml enables one, the answer says the local stack cannot reach it (no
// internet), with a stable code: never a 404 or a 5xx.
import { z } from 'zod';
import type { AuthContext, RequestFacts } from './context.js';
import { badRequest, notFound, OAuthError, unprocessable } from './errors.js';
import { optString, readBody, requireAdmin, requireUser } from './request.js';
import { EXTERNAL_PROVIDERS } from './settings.js';

/** GoTrue's well-known ID token issuers (internal/api/provider), by provider name. */
const ID_TOKEN_ISSUERS: Record<string, string> = {
    apple: 'https://appleid.apple.com',
    google: 'https://accounts.google.com',
    azure: 'https://login.microsoftonline.com/common/v2.0',
    facebook: 'https://www.facebook.com',
    kakao: 'https://kauth.kakao.com',
};

const IdTokenBody = z
    .object({ id_token: optString, access_token: optString, nonce: optString, provider: optString, client_id: optString, issuer: optString })
    .passthrough();

/** The provider an id_token grant names, by name or by issuer, as GoTrue's IdTokenGrantParams.getProvider. */
function idTokenProvider(ctx: AuthContext, provider: string, issuer: string): { name: string; issuer: string } | null {
    for (const [name, known] of Object.entries(ID_TOKEN_ISSUERS)) {
        if (provider === name || issuer === known || (name === 'azure' && issuer.startsWith('https://login.microsoftonline.com/'))) {
            return { name, issuer: name === 'azure' && issuer ? issuer : known };
        }
    }
    const keycloak = ctx.settings.keycloakUrl;
    if (provider === 'keycloak' || (keycloak && issuer === keycloak)) return { name: 'keycloak', issuer: keycloak ?? '' };
    return null;
}

/** POST /token?grant_type=id_token: sign in with an OIDC provider's ID token. */
export async function idTokenGrant(ctx: AuthContext, request: Request): Promise<Response> {
    const body = await readBody(request, IdTokenBody);
    if (!body.id_token) throw new OAuthError('invalid request', 'id_token required');
    if (!body.provider && (!body.client_id || !body.issuer)) throw new OAuthError('invalid request', 'provider or client_id and issuer required');
    const provider = idTokenProvider(ctx, body.provider, body.issuer);
    // [auth.external] allowed ID token issuers are not configurable from config.toml: none is allowed.
    if (!provider) throw badRequest('validation_failed', `Custom OIDC provider ${JSON.stringify(body.issuer)} not allowed`);
    if (!ctx.settings.externalProviders.has(provider.name)) {
        throw badRequest('provider_disabled', `Provider (issuer ${JSON.stringify(provider.issuer)}) is not enabled`);
    }
    // Verifying the token needs the provider's signing keys from the internet: as a token GoTrue cannot verify.
    throw new OAuthError('invalid request', 'Bad ID token');
}

const Web3Body = z.object({ chain: optString, message: optString, signature: optString }).passthrough();

const CHAINS: Record<string, { key: 'solana' | 'ethereum'; label: string }> = {
    solana: { key: 'solana', label: 'Solana' },
    ethereum: { key: 'ethereum', label: 'Ethereum' },
};

/** POST /token?grant_type=web3: Sign in with Solana / Ethereum ([auth.web3.<chain>] enabled). */
export async function web3Grant(ctx: AuthContext, request: Request): Promise<Response> {
    const { solana, ethereum } = ctx.settings.web3;
    if (!solana && !ethereum) throw unprocessable('web3_provider_disabled', 'Web3 provider is disabled');
    const body = await readBody(request, Web3Body);
    const chain = CHAINS[body.chain];
    if (!chain) throw badRequest('web3_unsupported_chain', 'Unsupported chain');
    if (!ctx.settings.web3[chain.key]) throw unprocessable('web3_provider_disabled', `${chain.label} Web3 provider is disabled`);
    throw unprocessable('web3_provider_disabled', `${chain.label} Web3 sign-in is not available in the local stack`);
}

/** SAML is configured per project on the platform only: locally, always GoTrue's answer when it is off. */
const samlDisabled = () => notFound('saml_provider_disabled', 'SAML 2.0 is disabled');

/** /sso, /sso/saml/metadata, /sso/saml/acs. */
export async function sso(): Promise<Response> {
    throw samlDisabled();
}

/** /admin/sso/providers[/{id}]: admin credentials are checked first, as GoTrue's /admin group does. */
export async function ssoProvidersAdmin(ctx: AuthContext, request: Request): Promise<Response> {
    await requireAdmin(ctx, request);
    throw samlDisabled();
}

/** The 404 GoTrue's /user/identities routes answer while [auth] enable_manual_linking is off. */
export function requireManualLinking(ctx: AuthContext): void {
    if (!ctx.settings.manualLinking) throw notFound('manual_linking_disabled', 'Manual linking is disabled');
}

/** GET /user/identities/authorize?provider=…: start linking an OAuth identity to the signed-in user. */
export async function linkIdentity(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    await requireUser(ctx, request);
    requireManualLinking(ctx);
    const provider = facts.url.searchParams.get('provider') ?? '';
    if (!ctx.settings.externalProviders.has(provider)) {
        const reason = EXTERNAL_PROVIDERS.includes(provider) ? 'provider is not enabled' : `Provider ${provider} could not be found`;
        throw badRequest('validation_failed', `Unsupported provider: ${reason}`);
    }
    throw badRequest('validation_failed', `Unsupported provider: ${provider} sign-in is not available in the local stack`);
}
