// Passkeys ([auth.passkey], relying party from [auth.webauthn]): a signed-in user registers
// discoverable WebAuthn credentials, then signs in with one and no password. Credentials
// live in auth.webauthn_credentials, ceremonies in progress in auth.webauthn_challenges
// (one use, 5 minutes). Request and response shapes are auth-js's (`auth.passkey.*`,
// `auth.signInWithPasskey`, `auth.admin.passkey.*`). A passkey sign-in is a first factor:
// the session is aal1 with a `passkey` AMR entry, and MFA raises it to aal2 as usual.
import { randomUUID } from 'node:crypto';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { z } from 'zod';
import { audit, CommitWithError, transaction, transactionCommittingErrors, type AuthContext, type RequestFacts, type Tx } from './context.js';
import { badRequest, INVALID_LOGIN, notFound, tooManyRequests, unprocessable } from './errors.js';
import { json, optString, readBody, requireAdmin, requireUser, type Authenticated } from './request.js';
import { issueSession } from './tokens.js';
import { findUserById, isBanned } from './users.js';
import {
    CEREMONY_TTL_MS,
    creationOptions,
    parseCredential,
    passkeyRelyingParty,
    requestOptions,
    verifyAssertion,
    verifyCreation,
    type CeremonyState,
    type RegisteredCredential,
} from './webauthn.js';

interface CredentialRow {
    id: string;
    user_id: string;
    credential_id: Buffer;
    public_key: Buffer;
    sign_count: string;
    transports: string[];
    friendly_name: string;
    created_at: Date;
    last_used_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FRIENDLY_NAME_MAX = 120;

/** The passkey endpoints answer like GoTrue's route group while [auth.passkey] is off. */
function requirePasskeys(ctx: AuthContext): void {
    if (!ctx.settings.passkeys) throw notFound('passkey_disabled', 'Passkeys are disabled');
}

/**
 * A user who set up MFA proves it before adding or removing a passkey (as before enrolling
 * or unenrolling a factor): a stolen password alone cannot plant a passkey that outlives a
 * password change, nor remove the owner's.
 */
function requireAal2WhenMfa({ user, session }: Authenticated, what: string): void {
    if (user.factors.some((f) => f.status === 'verified') && session?.aal !== 'aal2') throw unprocessable('insufficient_aal', `AAL2 required to ${what}`);
}

const passkeyNotFound = () => notFound('passkey_not_found', 'Passkey not found');
const challengeNotFound = () => notFound('webauthn_challenge_not_found', 'WebAuthn challenge not found');
const challengeExpired = () => unprocessable('webauthn_challenge_expired', 'WebAuthn challenge has expired, start the ceremony again');

function passkeyJson(row: CredentialRow): Record<string, unknown> {
    const body: Record<string, unknown> = { id: row.id, created_at: row.created_at.toISOString() };
    if (row.friendly_name) body.friendly_name = row.friendly_name;
    if (row.last_used_at) body.last_used_at = row.last_used_at.toISOString();
    return body;
}

function registered(row: CredentialRow): RegisteredCredential {
    return { id: isoBase64URL.fromBuffer(new Uint8Array(row.credential_id)), publicKey: new Uint8Array(row.public_key), counter: Number(row.sign_count), transports: row.transports };
}

async function passkeysOf(db: Pick<Tx, 'query'>, userId: string): Promise<CredentialRow[]> {
    const { rows } = await db.query<CredentialRow>('select * from auth.webauthn_credentials where user_id = $1 order by created_at, id', [userId]);
    return rows;
}

/** Stores a ceremony's state; expired ceremonies are swept at the same time so the table stays small. */
async function startCeremony(ctx: AuthContext, tx: Tx, userId: string | null, kind: 'registration' | 'authentication', state: CeremonyState): Promise<{ id: string; expiresAt: number }> {
    const now = ctx.now();
    const expires = new Date(now.getTime() + CEREMONY_TTL_MS);
    await tx.query('delete from auth.webauthn_challenges where expires_at < $1', [now]);
    const id = randomUUID();
    await tx.query(
        `insert into auth.webauthn_challenges (id, user_id, challenge_type, session_data, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)`,
        [id, userId, kind, state, now, expires],
    );
    return { id, expiresAt: Math.floor(expires.getTime() / 1000) };
}

/** Takes (deletes) a ceremony: it is used once, whatever the outcome. */
async function takeCeremony(ctx: AuthContext, tx: Tx, id: string, kind: 'registration' | 'authentication', userId: string | null): Promise<CeremonyState> {
    if (!UUID.test(id)) throw challengeNotFound();
    const { rows } = await tx.query<{ session_data: CeremonyState; expires_at: Date; user_id: string | null }>(
        'delete from auth.webauthn_challenges where id = $1 and challenge_type = $2 returning session_data, expires_at, user_id',
        [id, kind],
    );
    const row = rows[0];
    if (!row || (userId !== null && row.user_id !== userId)) throw challengeNotFound();
    if (row.expires_at.getTime() < ctx.now().getTime()) throw new CommitWithError(challengeExpired());
    return row.session_data;
}

/** POST /passkeys/registration/options: creation options for the signed-in user. */
export async function registrationOptions(ctx: AuthContext, request: Request): Promise<Response> {
    requirePasskeys(ctx);
    const auth = await requireUser(ctx, request);
    const { user } = auth;
    await readBody(request, z.object({}).passthrough());
    if (user.is_anonymous) throw unprocessable('validation_failed', 'Anonymous users cannot register a passkey');
    requireAal2WhenMfa(auth, 'register a passkey');
    const rp = passkeyRelyingParty(ctx);
    const existing = await passkeysOf(ctx.pool, user.id);
    const { options, state } = await creationOptions(rp, { id: user.id, name: user.email || user.phone || user.id }, existing.map(registered), {
        residentKey: 'required',
        userVerification: 'required',
    });
    const ceremony = await transaction(ctx, async (tx) => startCeremony(ctx, tx, user.id, 'registration', state));
    return json(200, { challenge_id: ceremony.id, options, expires_at: ceremony.expiresAt });
}

const VerifyBody = z.object({ challenge_id: optString, credential: z.unknown() }).passthrough();

/** POST /passkeys/registration/verify: stores the new passkey. */
export async function registrationVerify(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    requirePasskeys(ctx);
    const auth = await requireUser(ctx, request);
    const { user } = auth;
    requireAal2WhenMfa(auth, 'register a passkey');
    const body = await readBody(request, VerifyBody);
    const response = parseCredential(body.credential, 'credential');
    const row = await transactionCommittingErrors(ctx, async (tx) => {
        const state = await takeCeremony(ctx, tx, body.challenge_id, 'registration', user.id);
        const credential = await verifyCreation(state, response);
        if (!credential) throw new CommitWithError(unprocessable('webauthn_verification_failed', 'Invalid passkey registration'));
        const now = ctx.now();
        const { rows } = await tx.query<CredentialRow>(
            `insert into auth.webauthn_credentials (id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count, transports,
                 backup_eligible, backed_up, friendly_name, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', $11, $11)
             on conflict (credential_id) do nothing returning *`,
            [
                randomUUID(),
                user.id,
                Buffer.from(isoBase64URL.toBuffer(credential.id)),
                Buffer.from(credential.publicKey),
                credential.attestationType,
                credential.aaguid,
                credential.counter,
                JSON.stringify(credential.transports),
                credential.backupEligible,
                credential.backedUp,
                now,
            ],
        );
        if (!rows[0]) throw new CommitWithError(unprocessable('webauthn_credential_exists', 'This passkey is already registered'));
        await audit(ctx, tx, facts, user, 'user_modified', { passkey_id: rows[0].id });
        return rows[0];
    });
    return json(200, passkeyJson(row));
}

/** POST /passkeys/authentication/options: request options for a discoverable credential (no user is named). */
export async function authenticationOptions(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    requirePasskeys(ctx);
    await readBody(request, z.object({}).passthrough());
    // Each ceremony is a stored row: an unauthenticated client may start only so many.
    if (!ctx.limits.passkeyCeremonies.take(facts.ip)) throw tooManyRequests('over_request_rate_limit', 'Request rate limit reached');
    const { options, state } = await requestOptions(passkeyRelyingParty(ctx), [], 'required');
    const ceremony = await transaction(ctx, async (tx) => startCeremony(ctx, tx, null, 'authentication', state));
    return json(200, { challenge_id: ceremony.id, options, expires_at: ceremony.expiresAt });
}

/** POST /passkeys/authentication/verify: a session for the passkey's user. */
export async function authenticationVerify(ctx: AuthContext, request: Request, facts: RequestFacts): Promise<Response> {
    requirePasskeys(ctx);
    if (ctx.limits.signInSignUp.exhausted(facts.ip)) throw tooManyRequests('over_request_rate_limit', 'Request rate limit reached');
    const body = await readBody(request, VerifyBody);
    const response = parseCredential(body.credential, 'credential');
    // Unknown credential, wrong user handle or bad signature: one answer, counted like a wrong password.
    const invalid = () => {
        ctx.limits.signInSignUp.take(facts.ip);
        return new CommitWithError(badRequest('invalid_credentials', INVALID_LOGIN));
    };
    const session = await transactionCommittingErrors(ctx, async (tx) => {
        const state = await takeCeremony(ctx, tx, body.challenge_id, 'authentication', null);
        const { rows } = await tx.query<CredentialRow>('select * from auth.webauthn_credentials where credential_id = $1 for update', [
            Buffer.from(isoBase64URL.toBuffer(response.id)),
        ]);
        const row = rows[0];
        if (!row) throw invalid();
        const handle = (response.response as { userHandle?: unknown }).userHandle;
        if (typeof handle === 'string' && handle && Buffer.from(isoBase64URL.toBuffer(handle)).toString('hex') !== row.user_id.replaceAll('-', '')) throw invalid();
        const asserted = await verifyAssertion(state, response, registered(row));
        if (!asserted) throw invalid();
        const user = await findUserById(tx, row.user_id);
        if (!user) throw invalid();
        if (isBanned(user, ctx.now())) throw new CommitWithError(badRequest('user_banned', 'User is banned'));
        await tx.query('update auth.webauthn_credentials set sign_count = $2, last_used_at = $3, updated_at = $3 where id = $1', [
            row.id,
            asserted.counter,
            ctx.now(),
        ]);
        return issueSession(ctx, tx, facts, user, 'passkey');
    });
    return json(200, session);
}

/** GET /passkeys: the signed-in user's passkeys. */
export async function listPasskeys(ctx: AuthContext, request: Request): Promise<Response> {
    requirePasskeys(ctx);
    const { user } = await requireUser(ctx, request);
    return json(200, (await passkeysOf(ctx.pool, user.id)).map(passkeyJson));
}

const UpdateBody = z.object({ friendly_name: optString }).passthrough();

/** PATCH /passkeys/{id}: rename (1–120 characters). */
export async function updatePasskey(ctx: AuthContext, request: Request, facts: RequestFacts, passkeyId: string): Promise<Response> {
    requirePasskeys(ctx);
    const { user } = await requireUser(ctx, request);
    const body = await readBody(request, UpdateBody);
    const name = body.friendly_name.trim();
    if (!name) throw badRequest('validation_failed', 'friendly_name is required');
    if (name.length > FRIENDLY_NAME_MAX) throw badRequest('validation_failed', `friendly_name must be at most ${FRIENDLY_NAME_MAX} characters`);
    if (!UUID.test(passkeyId)) throw passkeyNotFound();
    const row = await transaction(ctx, async (tx) => {
        const { rows } = await tx.query<CredentialRow>(
            'update auth.webauthn_credentials set friendly_name = $3, updated_at = $4 where id = $1 and user_id = $2 returning *',
            [passkeyId, user.id, name, ctx.now()],
        );
        if (!rows[0]) throw passkeyNotFound();
        await audit(ctx, tx, facts, user, 'user_modified', { passkey_id: passkeyId });
        return rows[0];
    });
    return json(200, passkeyJson(row));
}

async function removePasskey(ctx: AuthContext, facts: RequestFacts, userId: string, passkeyId: string): Promise<Response> {
    if (!UUID.test(passkeyId)) throw passkeyNotFound();
    await transaction(ctx, async (tx) => {
        const { rowCount } = await tx.query('delete from auth.webauthn_credentials where id = $1 and user_id = $2', [passkeyId, userId]);
        if (!rowCount) throw passkeyNotFound();
        const user = await findUserById(tx, userId);
        await audit(ctx, tx, facts, user, 'user_modified', { passkey_id: passkeyId, action: 'passkey_deleted' });
    });
    return new Response(null, { status: 204 });
}

/** DELETE /passkeys/{id}. */
export async function deletePasskey(ctx: AuthContext, request: Request, facts: RequestFacts, passkeyId: string): Promise<Response> {
    requirePasskeys(ctx);
    const auth = await requireUser(ctx, request);
    requireAal2WhenMfa(auth, 'delete a passkey');
    return removePasskey(ctx, facts, auth.user.id, passkeyId);
}

async function adminUser(ctx: AuthContext, userId: string): Promise<string> {
    const user = await findUserById(ctx.pool, userId);
    if (!user) throw notFound('user_not_found', 'User not found');
    return user.id;
}

/** GET /admin/users/{id}/passkeys. */
export async function listPasskeysAdmin(ctx: AuthContext, request: Request, _facts: RequestFacts, userId: string): Promise<Response> {
    await requireAdmin(ctx, request);
    return json(200, (await passkeysOf(ctx.pool, await adminUser(ctx, userId))).map(passkeyJson));
}

/** DELETE /admin/users/{id}/passkeys/{passkey_id}. */
export async function deletePasskeyAdmin(ctx: AuthContext, request: Request, facts: RequestFacts, userId: string, passkeyId: string): Promise<Response> {
    await requireAdmin(ctx, request);
    return removePasskey(ctx, facts, await adminUser(ctx, userId), passkeyId);
}
