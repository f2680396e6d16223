// The signed-in user, as the client's session says (the API checks the token itself:
// this only decides which rows to ask for, RLS decides what comes back).
import type { TypedSupabaseClient } from './context.ts';
import { failure } from './error-mapping.ts';

export async function currentUserId(supabase: TypedSupabaseClient): Promise<string> {
    const { data, error } = await supabase.auth.getSession();
    if (error) throw error;
    const id = data.session?.user.id;
    if (!id) throw failure('unauthenticated', 'Sign in first: there is no session', undefined, 401);
    return id;
}
