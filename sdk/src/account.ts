// The signed-in user's own account: their profile (the columns customers may change are
// exactly the ones with an update grant: name, phone, addresses) and multi-factor
// authentication with TOTP — enrol a factor, verify a code to raise the session to
// aal2 (what staff need for refunds and replays), list and remove factors.
import type { Tables, TablesUpdate } from '../database.types.ts';
import type { Context } from './context.ts';
import { failure } from './error-mapping.ts';
import type { TillbaseRequest } from './result.ts';
import { currentUserId } from './session.ts';

export type Profile = Pick<Tables<'profiles'>, 'id' | 'email' | 'full_name' | 'phone' | 'shipping_address' | 'billing_address'>;

/** What a user may change of their profile (the columns `authenticated` may update). */
export type ProfileChanges = Pick<TablesUpdate<'profiles'>, 'full_name' | 'phone' | 'shipping_address' | 'billing_address'>;

export interface TotpEnrolment {
    factorId: string;
    /** The shared secret (base32), for typing into an authenticator app. */
    secret: string;
    /** The `otpauth://` URI the QR code encodes. */
    uri: string;
    /** An SVG data URL of the QR code. */
    qrCode: string;
}

export interface MfaFactor {
    id: string;
    type: 'totp' | 'phone' | 'webauthn';
    friendlyName: string | null;
    status: 'verified' | 'unverified';
}

export type AssuranceLevel = 'aal1' | 'aal2';

export interface MfaApi {
    /** Starts a TOTP enrolment: show `qrCode` (or `secret`), then `verifyTotp` with a code from the app. */
    enrollTotp(options?: { friendlyName?: string }): TillbaseRequest<TotpEnrolment>;
    /** Checks a code of the factor; the session is then aal2. A wrong code is `invalid_argument`. */
    verifyTotp(factorId: string, code: string): TillbaseRequest<{ aal: AssuranceLevel }>;
    /** The user's factors. */
    factors(): TillbaseRequest<MfaFactor[]>;
    /** The session's level and the level it can reach (`aal2` once a factor is verified). */
    assurance(): TillbaseRequest<{ current: AssuranceLevel | null; next: AssuranceLevel | null }>;
    /** Removes a factor (a verified one needs an aal2 session). */
    unenroll(factorId: string): TillbaseRequest<void>;
}

export interface AccountApi {
    profile(): TillbaseRequest<Profile>;
    update(changes: ProfileChanges): TillbaseRequest<Profile>;
    mfa: MfaApi;
}

const PROFILE_COLUMNS = 'id, email, full_name, phone, shipping_address, billing_address';

export function createAccount(ctx: Context): AccountApi {
    const { supabase } = ctx;
    /** auth-js answers `{data, error}`: the data, or its error thrown (mapped by ctx.run). */
    const auth = async <T>(call: Promise<{ data: T; error: unknown }>): Promise<NonNullable<T>> => {
        const { data, error } = await call;
        if (error) throw error;
        return data as NonNullable<T>;
    };

    return {
        profile() {
            return ctx.run(async () => {
                const id = await currentUserId(supabase);
                const row = await ctx.rows(await supabase.from('profiles').select(PROFILE_COLUMNS).eq('id', id).maybeSingle());
                if (!row) throw failure('not_found', 'This account has no profile', undefined, 404);
                return row;
            });
        },

        update(changes) {
            return ctx.run(async () => {
                const id = await currentUserId(supabase);
                const row = await ctx.rows(await supabase.from('profiles').update(changes).eq('id', id).select(PROFILE_COLUMNS).maybeSingle());
                if (!row) throw failure('not_found', 'This account has no profile', undefined, 404);
                return row;
            });
        },

        mfa: {
            enrollTotp(options = {}) {
                return ctx.run(async () => {
                    const factor = await auth(supabase.auth.mfa.enroll({ factorType: 'totp', ...(options.friendlyName ? { friendlyName: options.friendlyName } : {}) }));
                    if (factor.type !== 'totp') throw failure('internal', 'The auth server did not enrol a TOTP factor');
                    return { factorId: factor.id, secret: factor.totp.secret, uri: factor.totp.uri, qrCode: factor.totp.qr_code };
                });
            },
            verifyTotp(factorId, code) {
                return ctx.run(async () => {
                    await auth(supabase.auth.mfa.challengeAndVerify({ factorId, code }));
                    // Realtime joins carry the raised session's token from now on.
                    await supabase.realtime.setAuth();
                    return { aal: 'aal2' as const };
                });
            },
            factors() {
                return ctx.run(async () => {
                    const data = await auth(supabase.auth.mfa.listFactors());
                    return data.all.map((f) => ({
                        id: f.id,
                        type: f.factor_type as MfaFactor['type'],
                        friendlyName: f.friendly_name ?? null,
                        status: f.status,
                    }));
                });
            },
            assurance() {
                return ctx.run(async () => {
                    const data = await auth(supabase.auth.mfa.getAuthenticatorAssuranceLevel());
                    return { current: data.currentLevel as AssuranceLevel | null, next: data.nextLevel as AssuranceLevel | null };
                });
            },
            unenroll(factorId) {
                return ctx.run(async () => {
                    await auth(supabase.auth.mfa.unenroll({ factorId }));
                });
            },
        },
    };
}
