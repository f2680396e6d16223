// What every helper module gets: the typed supabase-js client, the client's options, and
// the few ways a helper turns supabase-js answers into data or a TillbaseError.
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../database.types.ts';
import { fromFunctions, fromPostgrest, isFunctionsErrorLike, toTillbaseError, type PostgrestFailure } from './error-mapping.ts';
import { TillbaseRequest } from './result.ts';

export type TypedSupabaseClient = SupabaseClient<Database>;

/** Storage image transformation of a thumbnail (Supabase's `TransformOptions`). */
export interface ThumbnailOptions {
    width?: number;
    height?: number;
    resize?: 'cover' | 'contain' | 'fill';
    quality?: number;
    format?: 'origin';
}

export interface Context {
    supabase: TypedSupabaseClient;
    thumbnail: ThumbnailOptions;
    /** Starts `work` and answers `{data, error}` (or `.orThrow()`). */
    run<T>(work: () => Promise<T>): TillbaseRequest<T>;
    /** The data of a postgrest-js answer, or throws its error mapped to a contract code. */
    rows<R extends PostgrestAnswer>(response: R): Promise<Extract<R, { error: null }>['data']>;
    /** POST /functions/v1/<name> with a JSON body: the answer, or throws the function's error. */
    invoke<T>(name: string, body: unknown): Promise<T>;
}

/** A postgrest-js answer: `{data, error: null}` or `{data: null, error}`, with the HTTP status. */
export type PostgrestAnswer = { data: unknown; error: PostgrestFailure['error'] | null; status: number };

export function createContext(supabase: TypedSupabaseClient, thumbnail: ThumbnailOptions): Context {
    return {
        supabase,
        thumbnail,
        run: (work) => new TillbaseRequest(work, toTillbaseError),
        async rows(response) {
            if (!response.error) return response.data as never;
            // Only an aal2 refusal needs to know the session's level (mfa_required vs forbidden).
            const needsAal = response.error.code === '42501' && /\baal2\b/.test(response.error.message ?? '');
            const aal = needsAal ? (await supabase.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel ?? undefined : undefined;
            throw fromPostgrest({ error: response.error, status: response.status }, { aal });
        },
        async invoke(name, body) {
            const { data, error } = await supabase.functions.invoke(name, { body: body as Record<string, unknown>, method: 'POST' });
            if (error) throw isFunctionsErrorLike(error) ? await fromFunctions(error) : toTillbaseError(error);
            return data as never;
        },
    };
}
