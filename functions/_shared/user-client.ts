// supabase-js acting as the signed-in caller: the caller's own JWT goes to /rest/v1,
// so Row Level Security and the SQL API's own checks decide, exactly as for a call
// from the browser. (Platform work uses the service-role pool of db.ts instead.)
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import type { Database } from '../../sdk/database.types.ts';

export type UserClient = SupabaseClient<Database>;
export type UserClientFactory = (accessToken: string) => UserClient;

export function userClientFactory(
    env: { SUPABASE_URL: string; SUPABASE_ANON_KEY: string },
    options: Pick<SupabaseClientOptions<'public'>, 'realtime'> = {},
): UserClientFactory {
    return (accessToken) =>
        createClient<Database>(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, {
            ...options,
            auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
            global: { headers: { Authorization: `Bearer ${accessToken}` } },
        });
}
