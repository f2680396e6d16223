// A software WebAuthn authenticator for tests: what a browser and a security key return
// from navigator.credentials.create()/get(), serialised as auth-js sends it. Keys are P-256
// (ES256) from node:crypto; authenticator data and the attestation object are built per the
// WebAuthn spec and CBOR-encoded with @simplewebauthn's encoder. Nothing is verified here:
// the server under test does that.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;
const FLAG_ATTESTED_DATA = 0x40;

/** What create() reads of PublicKeyCredentialCreationOptionsJSON (auth-js's and @simplewebauthn's types both fit). */
export interface CreationOptionsLike {
    rp: { id?: string; name: string };
    user: { id: string; name: string; displayName: string };
    challenge: string;
}

/** What get() reads of PublicKeyCredentialRequestOptionsJSON. */
export interface RequestOptionsLike {
    challenge: string;
    rpId?: string;
    allowCredentials?: ReadonlyArray<{ id: string }>;
}

/** RegistrationResponseJSON as a browser's credential.toJSON() gives it. */
export interface RegistrationResponseJSON {
    id: string;
    rawId: string;
    type: 'public-key';
    response: { clientDataJSON: string; attestationObject: string; transports: Array<'internal'> };
    clientExtensionResults: Record<string, never>;
    authenticatorAttachment: 'platform';
}

/** AuthenticationResponseJSON as a browser's credential.toJSON() gives it. */
export interface AuthenticationResponseJSON {
    id: string;
    rawId: string;
    type: 'public-key';
    response: { authenticatorData: string; clientDataJSON: string; signature: string; userHandle?: string };
    clientExtensionResults: Record<string, never>;
    authenticatorAttachment: 'platform';
}

interface StoredKey {
    privateKey: KeyObject;
    rpId: string;
    userHandle: string;
    counter: number;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();
const b64url = (bytes: Uint8Array) => isoBase64URL.fromBuffer(new Uint8Array(bytes));

function u32(value: number): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out;
}

export interface CeremonyOverrides {
    /** The page's origin the browser reports (default: the authenticator's origin). */
    origin?: string;
    /** Sign for another RP ID than the options name (a phishing page's). */
    rpId?: string;
    /** Whether the user was verified (PIN, biometrics); default the authenticator's setting. */
    userVerified?: boolean;
    /** Whether the user touched the key; false forges an assertion nobody approved. */
    userPresent?: boolean;
    /** Answer with this credential whatever the options allow (a stranger's key). */
    credentialId?: string;
}

export class SoftwareAuthenticator {
    private readonly keys = new Map<string, StoredKey>();

    constructor(
        readonly origin: string,
        private readonly userVerifies = true,
    ) {}

    /** Credential IDs (base64url) this authenticator holds. */
    get credentialIds(): string[] {
        return [...this.keys.keys()];
    }

    /** navigator.credentials.create({ publicKey }) with "none" attestation. */
    create(options: CreationOptionsLike, overrides: CeremonyOverrides = {}): RegistrationResponseJSON {
        const rpId = overrides.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const jwk = publicKey.export({ format: 'jwk' });
        const coseKey = new Map<number, number | Uint8Array>([
            [1, 2], // kty: EC2
            [3, -7], // alg: ES256
            [-1, 1], // crv: P-256
            [-2, new Uint8Array(isoBase64URL.toBuffer(jwk.x!))],
            [-3, new Uint8Array(isoBase64URL.toBuffer(jwk.y!))],
        ]);
        const credentialId = randomBytes(16);
        const idLength = Buffer.alloc(2);
        idLength.writeUInt16BE(credentialId.length);
        const uv = overrides.userVerified ?? this.userVerifies;
        const authData = Buffer.concat([
            sha256(rpId),
            Buffer.from([FLAG_USER_PRESENT | (uv ? FLAG_USER_VERIFIED : 0) | FLAG_ATTESTED_DATA]),
            u32(0),
            Buffer.alloc(16), // AAGUID: a software authenticator has none
            idLength,
            credentialId,
            Buffer.from(isoCBOR.encode(coseKey)),
        ]);
        const attestationObject = isoCBOR.encode(
            new Map<string, unknown>([
                ['fmt', 'none'],
                ['attStmt', new Map()],
                ['authData', new Uint8Array(authData)],
            ]) as unknown as Parameters<typeof isoCBOR.encode>[0],
        );
        const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
        const id = b64url(credentialId);
        this.keys.set(id, { privateKey, rpId, userHandle: options.user.id, counter: 0 });
        return {
            id,
            rawId: id,
            type: 'public-key',
            response: {
                clientDataJSON: b64url(Buffer.from(clientDataJSON)),
                attestationObject: b64url(attestationObject),
                transports: ['internal'],
            },
            clientExtensionResults: {},
            authenticatorAttachment: 'platform',
        };
    }

    /** navigator.credentials.get({ publicKey }): an assertion by an allowed (or any discoverable) credential of the RP. */
    get(options: RequestOptionsLike, overrides: CeremonyOverrides = {}): AuthenticationResponseJSON {
        const rpId = overrides.rpId ?? options.rpId ?? new URL(this.origin).hostname;
        const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
        const entry = [...this.keys.entries()].find(([id, key]) =>
            overrides.credentialId ? id === overrides.credentialId : allowed.length ? allowed.includes(id) : key.rpId === rpId,
        );
        if (!entry) throw new Error(`no credential for ${rpId}`);
        const [id, key] = entry;
        key.counter += 1;
        const uv = overrides.userVerified ?? this.userVerifies;
        const up = overrides.userPresent === false ? 0 : FLAG_USER_PRESENT;
        const authData = Buffer.concat([sha256(rpId), Buffer.from([up | (uv ? FLAG_USER_VERIFIED : 0)]), u32(key.counter)]);
        const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }));
        const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), key.privateKey);
        return {
            id,
            rawId: id,
            type: 'public-key',
            response: {
                authenticatorData: b64url(authData),
                clientDataJSON: b64url(clientDataJSON),
                signature: b64url(signature),
                userHandle: key.userHandle,
            },
            clientExtensionResults: {},
            authenticatorAttachment: 'platform',
        };
    }

    /** Sets a credential's signature counter (a cloned authenticator replays an older one). */
    setCounter(credentialId: string, counter: number): void {
        const key = this.keys.get(credentialId);
        if (!key) throw new Error(`no credential ${credentialId}`);
        key.counter = counter;
    }
}

type Bytes = ArrayBuffer | ArrayBufferView | string;
const asBase64url = (value: Bytes): string =>
    typeof value === 'string' ? value : b64url(value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength));

/**
 * Back from what auth-js hands a browser (ArrayBuffers, after its
 * deserializeCredential*Options) to the JSON form the authenticator reads.
 */
export function optionsJson<T extends PublicKeyCredentialCreationOptionsJSON | PublicKeyCredentialRequestOptionsJSON>(publicKey: unknown): T {
    const options = publicKey as Record<string, unknown> & { challenge: Bytes; user?: { id: Bytes } };
    const ids = (list: unknown) => (list as Array<{ id: Bytes }> | undefined)?.map((c) => ({ ...c, id: asBase64url(c.id) }));
    return {
        ...options,
        challenge: asBase64url(options.challenge),
        ...(options.user ? { user: { ...options.user, id: asBase64url(options.user.id) } } : {}),
        ...(options.excludeCredentials ? { excludeCredentials: ids(options.excludeCredentials) } : {}),
        ...(options.allowCredentials ? { allowCredentials: ids(options.allowCredentials) } : {}),
    } as unknown as T;
}

/** What auth-js serialises: a credential with the Level 3 toJSON(), as browsers have it. */
export function asBrowserCredential<T = never>(json: RegistrationResponseJSON | AuthenticationResponseJSON): T {
    return { ...json, toJSON: () => json } as unknown as T;
}
