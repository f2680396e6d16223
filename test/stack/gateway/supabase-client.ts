// supabase-js for tests on Node 20, which has no global WebSocket: realtime is never used
// here, so its transport is a stand-in that refuses to connect.
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';

type Transport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

class NoWebSocket {
    constructor() {
        throw new Error('realtime is not available in these tests');
    }
}

export function testClient(url: string, key: string, accessToken?: string): SupabaseClient {
    return createClient(url, key, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        accessToken: accessToken ? async () => accessToken : undefined,
        realtime: { transport: NoWebSocket as unknown as Transport },
    });
}
