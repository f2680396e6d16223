// The WebAuthn relying party, shared by WebAuthn MFA factors and passkeys. Every ceremony
// is generated and verified by @simplewebauthn/server; this module only decides the
// relying party (rp_id, origins), keeps a ceremony's state between its two requests, and
// stores credentials the way GoTrue does (go-webauthn's Credential JSON on MFA factors).
import {
    generateAuthenticationOptions,
    generateRegistrationOptions,
    verifyAuthenticationResponse,
    verifyRegistrationResponse,
    type AuthenticationResponseJSON,
    type PublicKeyCredentialCreationOptionsJSON,
    type PublicKeyCredentialRequestOptionsJSON,
    type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { z } from 'zod';
import type { AuthContext } from './context.js';
import { badRequest } from './errors.js';
import type { WebAuthnRelyingParty } from './settings.js';

/** How long a ceremony may take (GoTrue's GOTRUE_WEBAUTHN_CHALLENGE_EXPIRY_DURATION default). */
export const CEREMONY_TTL_MS = 300_000;

export type UserVerification = 'required' | 'preferred';

/** What is kept between the options and the verify request of one ceremony. */
export interface CeremonyState {
    type: 'create' | 'request';
    challenge: string;
    rp_id: string;
    rp_origins: string[];
    user_verification: UserVerification;
}

/** A credential as the relying party needs it to check assertions. */
export interface RegisteredCredential {
    /** base64url credential ID. */
    id: string;
    publicKey: Uint8Array;
    counter: number;
    transports: string[];
}

export interface NewCredential extends RegisteredCredential {
    aaguid: string;
    attestationType: string;
    userVerified: boolean;
    backupEligible: boolean;
    backedUp: boolean;
}

const origin = z.string().refine((value) => {
    try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value.replace(/\/$/, '');
    } catch {
        return false;
    }
}, 'is not an origin (scheme://host[:port])');

/** The relying-party fields auth-js sends with an MFA challenge (`webauthn: {rpId, rpOrigins}`). */
export const RequestedRelyingParty = z.object({ rpId: z.string().optional(), rpOrigins: z.array(origin).optional() }).passthrough();

/**
 * The relying party of an MFA ceremony: [auth.webauthn] when configured (a client may not
 * ask for another rp_id or origin), else the rp_id and origins the client sends, as GoTrue
 * does without that section.
 */
export function mfaRelyingParty(ctx: AuthContext, requested: z.infer<typeof RequestedRelyingParty> | undefined): WebAuthnRelyingParty {
    const configured = ctx.settings.webauthn;
    if (configured) {
        if (requested?.rpId && requested.rpId !== configured.id) {
            throw badRequest('validation_failed', `rpId ${JSON.stringify(requested.rpId)} is not the relying party configured in [auth.webauthn]`);
        }
        const stranger = requested?.rpOrigins?.find((o) => !configured.origins.includes(o.replace(/\/$/, '')));
        if (stranger) throw badRequest('validation_failed', `origin ${JSON.stringify(stranger)} is not in [auth.webauthn] rp_origins`);
        return configured;
    }
    if (!requested?.rpId || !requested.rpOrigins?.length) {
        throw badRequest('validation_failed', 'WebAuthn requires webauthn.rpId and webauthn.rpOrigins (or [auth.webauthn] in config.toml)');
    }
    return { id: requested.rpId, name: requested.rpId, origins: requested.rpOrigins.map((o) => o.replace(/\/$/, '')) };
}

/** The passkey relying party: [auth.webauthn], which config validation requires with [auth.passkey]. */
export function passkeyRelyingParty(ctx: AuthContext): WebAuthnRelyingParty {
    const configured = ctx.settings.webauthn;
    if (!configured) throw badRequest('validation_failed', 'Passkeys need [auth.webauthn] rp_id and rp_origins');
    return configured;
}

/** The WebAuthn user handle of a user: the 16 bytes of its UUID. */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(Buffer.from(userId.replaceAll('-', ''), 'hex'));
}

export async function creationOptions(
    rp: WebAuthnRelyingParty,
    user: { id: string; name: string },
    exclude: RegisteredCredential[],
    selection: { residentKey: 'required' | 'discouraged'; userVerification: UserVerification },
): Promise<{ options: PublicKeyCredentialCreationOptionsJSON; state: CeremonyState }> {
    const options = await generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userName: user.name,
        userDisplayName: user.name,
        userID: userHandle(user.id),
        attestationType: 'none',
        excludeCredentials: exclude.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: { residentKey: selection.residentKey, requireResidentKey: selection.residentKey === 'required', userVerification: selection.userVerification },
        timeout: CEREMONY_TTL_MS,
    });
    return { options, state: { type: 'create', challenge: options.challenge, rp_id: rp.id, rp_origins: rp.origins, user_verification: selection.userVerification } };
}

export async function requestOptions(
    rp: WebAuthnRelyingParty,
    allow: RegisteredCredential[],
    userVerification: UserVerification,
): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; state: CeremonyState }> {
    const options = await generateAuthenticationOptions({
        rpID: rp.id,
        allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })),
        userVerification,
        timeout: CEREMONY_TTL_MS,
    });
    return { options, state: { type: 'request', challenge: options.challenge, rp_id: rp.id, rp_origins: rp.origins, user_verification: userVerification } };
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]*={0,2}$/);

/** The JSON a browser's PublicKeyCredential serialises to (auth-js sends it as is). */
const CredentialJson = z
    .object({
        id: base64url.min(1),
        rawId: base64url.min(1),
        type: z.literal('public-key'),
        response: z.record(z.string(), z.unknown()),
        clientExtensionResults: z.record(z.string(), z.unknown()).optional().default({}),
        authenticatorAttachment: z.string().optional(),
    })
    .passthrough();

/** Checks the shape of a credential response; a malformed one is a 400, like any bad body. */
export function parseCredential(value: unknown, field: string): z.infer<typeof CredentialJson> {
    const result = CredentialJson.safeParse(value);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        throw badRequest('validation_failed', `${field}: ${[...issue.path].join('.') || 'credential'}: ${issue.message}`);
    }
    return result.data;
}

/** Verifies a registration; null (never a throw) when it does not verify. */
export async function verifyCreation(state: CeremonyState, response: z.infer<typeof CredentialJson>): Promise<NewCredential | null> {
    if (state.type !== 'create') return null;
    try {
        const result = await verifyRegistrationResponse({
            response: response as unknown as RegistrationResponseJSON,
            expectedChallenge: state.challenge,
            expectedOrigin: state.rp_origins,
            expectedRPID: state.rp_id,
            requireUserVerification: state.user_verification === 'required',
        });
        if (!result.verified) return null;
        const info = result.registrationInfo;
        return {
            id: info.credential.id,
            publicKey: info.credential.publicKey,
            counter: info.credential.counter,
            transports: info.credential.transports ?? [],
            aaguid: info.aaguid,
            attestationType: info.fmt,
            userVerified: info.userVerified,
            backupEligible: info.credentialDeviceType === 'multiDevice',
            backedUp: info.credentialBackedUp,
        };
    } catch {
        return null;
    }
}

/** Verifies an assertion by `credential`; the authenticator's new counter, or null when it does not verify. */
export async function verifyAssertion(
    state: CeremonyState,
    response: z.infer<typeof CredentialJson>,
    credential: RegisteredCredential,
): Promise<{ counter: number; userVerified: boolean } | null> {
    if (state.type !== 'request' || response.id !== credential.id) return null;
    try {
        const result = await verifyAuthenticationResponse({
            response: response as unknown as AuthenticationResponseJSON,
            expectedChallenge: state.challenge,
            expectedOrigin: state.rp_origins,
            expectedRPID: state.rp_id,
            credential: { id: credential.id, publicKey: new Uint8Array(credential.publicKey), counter: credential.counter },
            requireUserVerification: state.user_verification === 'required',
        });
        return result.verified ? { counter: result.authenticationInfo.newCounter, userVerified: result.authenticationInfo.userVerified } : null;
    } catch {
        return null;
    }
}

/** go-webauthn's Credential as JSON: what GoTrue keeps in auth.mfa_factors.web_authn_credential. */
export interface GoWebAuthnCredential {
    ID: string;
    PublicKey: string;
    AttestationType: string;
    Transport: string[];
    Flags: { UserPresent: boolean; UserVerified: boolean; BackupEligible: boolean; BackupState: boolean };
    Authenticator: { AAGUID: string; SignCount: number; CloneWarning: boolean; Attachment: string };
}

/** Go encodes []byte as standard base64. */
const toStd = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function toStoredCredential(credential: NewCredential): GoWebAuthnCredential {
    return {
        ID: toStd(isoBase64URL.toBuffer(credential.id)),
        PublicKey: toStd(credential.publicKey),
        AttestationType: credential.attestationType,
        Transport: credential.transports,
        Flags: { UserPresent: true, UserVerified: credential.userVerified, BackupEligible: credential.backupEligible, BackupState: credential.backedUp },
        Authenticator: { AAGUID: toStd(Buffer.from(credential.aaguid.replaceAll('-', ''), 'hex')), SignCount: credential.counter, CloneWarning: false, Attachment: '' },
    };
}

export function fromStoredCredential(stored: GoWebAuthnCredential): RegisteredCredential {
    return {
        id: isoBase64URL.fromBuffer(new Uint8Array(Buffer.from(stored.ID, 'base64'))),
        publicKey: new Uint8Array(Buffer.from(stored.PublicKey, 'base64')),
        counter: stored.Authenticator.SignCount,
        transports: stored.Transport ?? [],
    };
}
