// Who is asking: the caller's role and claims from `Authorization: Bearer <jwt>` (the gateway
// puts the API key's JWT there when the client sent only `apikey`), verified with the
// project's keys. The role claim decides the Postgres role (default anon); `sub` is the owner.
import { createJwtVerifier, type JwtKeys } from '../jwt.js';
import { errors } from './errors.js';

export interface Identity {
    role: string;
    claims: Record<string, unknown>;
    /** The raw token, for `request.jwt`. */
    jwt: string;
    /** `sub` claim, when there is one. */
    sub: string | undefined;
}

/** The service role, as Storage's "superuser" connection uses it: BYPASSRLS, claims {role}. */
export const SUPERUSER: Identity = { role: 'service_role', claims: { role: 'service_role' }, jwt: '', sub: undefined };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `owner` (uuid column) and `owner_id` (text) of rows the caller writes. */
export function ownerOf(identity: Identity): { owner: string | null; ownerId: string | null } {
    const sub = identity.sub ?? null;
    return { owner: sub && UUID.test(sub) ? sub : null, ownerId: sub };
}

export type Authenticate = (headers: Headers) => Promise<Identity>;
/** Like Authenticate, but no or a bad token is simply no identity (routes that fall back to public access). */
export type AuthenticateOptional = (headers: Headers) => Promise<Identity | undefined>;

export function createAuthenticator(keys: JwtKeys): { required: Authenticate; optional: AuthenticateOptional } {
    const verify = createJwtVerifier(keys);
    const identify = async (token: string): Promise<Identity> => {
        let payload: Record<string, unknown>;
        try {
            payload = (await verify(token)) as Record<string, unknown>;
        } catch (error) {
            throw errors.accessDenied((error as Error).message);
        }
        const role = typeof payload.role === 'string' && payload.role ? payload.role : 'anon';
        return { role, claims: payload, jwt: token, sub: typeof payload.sub === 'string' ? payload.sub : undefined };
    };
    const tokenOf = (headers: Headers) => /^bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')?.[1];
    return {
        async required(headers) {
            if (!headers.has('authorization')) throw errors.invalidRequest("headers must have required property 'authorization'");
            const token = tokenOf(headers);
            if (!token) throw errors.accessDenied('Invalid Compact JWS');
            return identify(token);
        },
        async optional(headers) {
            const token = tokenOf(headers);
            if (!token) return undefined;
            return identify(token).catch(() => undefined);
        },
    };
}
