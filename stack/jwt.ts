// The project's JWT keys, shared by every service that issues or checks tokens (auth, REST,
// the gateway, functions' verify_jwt): the HS256 secret, and optionally asymmetric signing
// keys from [auth] signing_keys_path (a JSON array of JWKs; the first private key signs,
// all verify, their public halves are published at /auth/v1/.well-known/jwks.json).
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, errors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { ProjectConfig } from './config.js';
import { ConfigError } from './config.js';
import { LOCAL_JWT_SECRET } from './keys.js';

export interface JwtKeys {
    /** HS256 secret ([auth] jwt_secret, default the CLI's local one). */
    secret: string;
    /** JWKs from signing_keys_path (with private parts); empty for HS256-only projects. */
    signingKeys: JWK[];
}

export function jwtKeysFromConfig(config: ProjectConfig): JwtKeys {
    const auth = config.auth as { jwt_secret?: unknown; signing_keys_path?: unknown };
    const secret = typeof auth.jwt_secret === 'string' && auth.jwt_secret ? auth.jwt_secret : LOCAL_JWT_SECRET;
    if (secret.length < 32) throw new ConfigError('[auth] jwt_secret must be at least 32 characters');
    let signingKeys: JWK[] = [];
    if (typeof auth.signing_keys_path === 'string' && auth.signing_keys_path) {
        const file = path.resolve(config.workdir, 'supabase', auth.signing_keys_path);
        try {
            signingKeys = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK[];
        } catch (error) {
            throw new ConfigError(`[auth] signing_keys_path ${file}: ${(error as Error).message}`);
        }
        if (!Array.isArray(signingKeys)) throw new ConfigError(`[auth] signing_keys_path ${file}: expected a JSON array of JWKs`);
    }
    return { secret, signingKeys };
}

/** Public halves of the signing keys, as published in a JWKS document. */
export function publicJwks(keys: JwtKeys): JWK[] {
    return keys.signingKeys
        .filter((k) => k.kty === 'RSA' || k.kty === 'EC' || k.kty === 'OKP')
        .map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, key_ops: _ops, ...rest }) => ({ ...rest, key_ops: ['verify'] }));
}

export type JwtFailure = 'invalid' | 'expired';

export class JwtError extends Error {
    constructor(
        readonly reason: JwtFailure,
        message: string,
    ) {
        super(message);
    }
}

export type JwtVerifier = (token: string) => Promise<JWTPayload>;

/** Verifies a token signed with the secret (HS256) or any of the signing keys; `alg: none` never passes. */
export function createJwtVerifier(keys: JwtKeys): JwtVerifier {
    const secret = new TextEncoder().encode(keys.secret);
    const jwks = keys.signingKeys.length ? createLocalJWKSet({ keys: publicJwks(keys) }) : undefined;
    return async (token) => {
        try {
            const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
            if (header.alg === 'HS256') return (await jwtVerify(token, secret, { algorithms: ['HS256'] })).payload;
            if (jwks && (header.alg === 'RS256' || header.alg === 'ES256'))
                return (await jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256'] })).payload;
            throw new JwtError('invalid', `unsupported JWT algorithm ${String(header.alg)}`);
        } catch (error) {
            if (error instanceof JwtError) throw error;
            if (error instanceof errors.JWTExpired) throw new JwtError('expired', 'JWT expired');
            throw new JwtError('invalid', error instanceof Error ? error.message : 'invalid JWT');
        }
    };
}
