// Tokens of signed URLs, as Storage makes them: HS256 JWTs with the project's JWT secret.
// Download: {url: "bucket/path", transformations?, iat, exp}; upload: {owner, url, upsert,
// iat, exp}. The clock is injected so expiry is testable without waiting.
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { errors } from './errors.js';

export type Clock = () => Date;

export interface DownloadClaims {
    url: string;
    transformations?: string;
}

export interface UploadClaims {
    url: string;
    owner: string | undefined;
    upsert: boolean;
}

/** Signed upload URLs are valid two hours, as Supabase documents them. */
export const SIGNED_UPLOAD_EXPIRY_SECONDS = 2 * 60 * 60;

export interface UrlSigner {
    signDownload(claims: DownloadClaims, expiresIn: number): Promise<string>;
    signUpload(claims: UploadClaims, expiresIn?: number): Promise<string>;
    /** Verified claims of a download token for `bucket/path`; InvalidJWT / InvalidSignature otherwise. */
    verifyDownload(token: string, url: string): Promise<DownloadClaims & { exp: number }>;
    verifyUpload(token: string, url: string): Promise<UploadClaims>;
}

export function createUrlSigner(secret: string, clock: Clock): UrlSigner {
    const key = new TextEncoder().encode(secret);
    const sign = (claims: Record<string, unknown>, expiresIn: number) => {
        const now = Math.floor(clock().getTime() / 1000);
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + expiresIn).sign(key);
    };
    const verify = async (token: string): Promise<Record<string, unknown>> => {
        try {
            return (await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: clock() })).payload as Record<string, unknown>;
        } catch (error) {
            if (error instanceof joseErrors.JWTExpired) throw errors.invalidJwt('"exp" claim timestamp check failed');
            throw errors.invalidJwt(error instanceof Error && error.message ? error.message : 'Invalid JWT');
        }
    };
    return {
        signDownload: (claims, expiresIn) => sign({ ...claims }, expiresIn),
        signUpload: (claims, expiresIn = SIGNED_UPLOAD_EXPIRY_SECONDS) => sign({ owner: claims.owner, url: claims.url, upsert: claims.upsert }, expiresIn),
        async verifyDownload(token, url) {
            const payload = await verify(token);
            // An upload token (it has `upsert`) is not a download token.
            if (payload.url !== url || 'upsert' in payload) throw errors.invalidSignature();
            return {
                url,
                transformations: typeof payload.transformations === 'string' ? payload.transformations : undefined,
                exp: Number(payload.exp),
            };
        },
        async verifyUpload(token, url) {
            const payload = await verify(token);
            if (payload.url !== url || !('upsert' in payload)) throw errors.invalidSignature();
            return { url, owner: typeof payload.owner === 'string' ? payload.owner : undefined, upsert: payload.upsert === true };
        },
    };
}
