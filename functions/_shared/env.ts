// A function's environment, validated once at boot with zod: a missing or malformed
// variable stops the function with the variable's name (503 BOOT_ERROR), never a
// confusing failure on the first request.
import { z } from 'zod';

export function readEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.infer<S> {
    const result = schema.safeParse(source);
    if (result.success) return result.data;
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new Error(`invalid function environment: ${problems.join('; ')}`);
}

/** What every Supabase function is given by the platform. */
export const PlatformEnv = z.object({
    SUPABASE_URL: z.string().url(),
    SUPABASE_ANON_KEY: z.string().min(1),
    SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
    SUPABASE_DB_URL: z.string().min(1),
    /** JSON `{"default": "sb_secret_…"}`: the opaque secret keys, which also stand for the service role. */
    SUPABASE_SECRET_KEYS: z.string().optional(),
});
