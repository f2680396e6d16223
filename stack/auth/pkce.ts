// PKCE flow state (auth.flow_state): created when a flow starts with a code challenge,
// turned into an auth code when the mailed link is followed, exchanged with the verifier.
import { createHash, randomUUID } from 'node:crypto';
import type { AuthContext, Tx } from './context.js';
import { badRequest, notFound, unprocessable } from './errors.js';
import type { FlowType } from './one-time-tokens.js';

const CODE_CHALLENGE = /^[a-zA-Z0-9~._-]{43,128}$/;
/** GoTrue's default flow state lifetime. */
const FLOW_STATE_TTL_MS = 300_000;

export interface PkceParams {
    code_challenge?: string | null;
    code_challenge_method?: string | null;
}

/** Validates the challenge pair; returns the flow type it implies. */
export function flowOf(params: PkceParams): FlowType {
    const challenge = params.code_challenge ?? '';
    const method = params.code_challenge_method ?? '';
    if ((challenge === '') !== (method === '')) throw badRequest('validation_failed', 'PKCE flow requires code_challenge_method and code_challenge');
    if (!challenge) return 'implicit';
    if (!CODE_CHALLENGE.test(challenge)) {
        throw badRequest('validation_failed', "code challenge has to be between 43 and 128 chars and only contain alphanumerics, '-', '.', '_', '~'");
    }
    if (!['s256', 'plain'].includes(method.toLowerCase())) {
        throw badRequest('validation_failed', `code challenge method not supported: ${method}`);
    }
    return 'pkce';
}

export interface FlowStateRecord {
    id: string;
    user_id: string | null;
    auth_code: string;
    code_challenge_method: string;
    code_challenge: string;
    authentication_method: string;
    created_at: Date;
    auth_code_issued_at: Date | null;
}

export async function createFlowState(ctx: AuthContext, tx: Tx, userId: string, authenticationMethod: string, params: PkceParams): Promise<void> {
    const now = ctx.now();
    await tx.query(
        `insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge, provider_type,
             created_at, updated_at, authentication_method)
         values ($1, $2, $3, $4, $5, 'email', $6, $6, $7)`,
        [randomUUID(), userId, randomUUID(), params.code_challenge_method!.toLowerCase(), params.code_challenge, now, authenticationMethod],
    );
}

/** The auth code for the user's latest flow of `authenticationMethod` (GET /verify, PKCE). */
export async function issueAuthCode(ctx: AuthContext, tx: Tx, userId: string, authenticationMethod: string): Promise<string> {
    const { rows } = await tx.query<FlowStateRecord>(
        `select * from auth.flow_state where user_id = $1 and authentication_method = $2 order by created_at desc limit 1`,
        [userId, authenticationMethod],
    );
    const state = rows[0];
    if (!state) throw badRequest('flow_state_not_found', 'No associated flow state found. flow state not found');
    await tx.query('update auth.flow_state set auth_code_issued_at = $2, updated_at = $2 where id = $1', [state.id, ctx.now()]);
    return state.auth_code;
}

/** Finds and consumes the flow state of an auth code after checking the verifier. */
export async function consumeAuthCode(ctx: AuthContext, tx: Tx, authCode: string, verifier: string): Promise<FlowStateRecord> {
    // Only a code /verify handed out can be exchanged: a flow whose link was never followed has no code yet.
    const { rows } = await tx.query<FlowStateRecord>('select * from auth.flow_state where auth_code = $1 and auth_code_issued_at is not null for update', [
        authCode,
    ]);
    const state = rows[0];
    if (!state || !state.user_id || !state.auth_code_issued_at) throw notFound('flow_state_not_found', 'invalid flow state, no valid flow state found');
    if (ctx.now().getTime() > state.auth_code_issued_at.getTime() + FLOW_STATE_TTL_MS) {
        throw unprocessable('flow_state_expired', 'invalid flow state, flow state has expired');
    }
    const expected = state.code_challenge_method === 's256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (expected !== state.code_challenge) {
        throw badRequest('bad_code_verifier', 'code challenge does not match previously saved code verifier');
    }
    await tx.query('delete from auth.flow_state where id = $1', [state.id]);
    return state;
}

export const FLOW_METHOD_BY_TYPE: Record<string, string> = {
    signup: 'email/signup',
    invite: 'invite',
    magiclink: 'magiclink',
    recovery: 'recovery',
    email_change: 'email_change',
};
