// How the local stack plays Stripe for a project: the fake, unless the functions'
// secrets (supabase/functions/.env, [edge_runtime.secrets]) hold a real Stripe secret
// key — then the real Stripe (test mode) is used and webhooks come from `stripe listen`.
// The fake's port is `[local_stripe] port` in supabase/config.toml (a local-stack key
// the Supabase CLI ignores), default 54330, next to the CLI's 54321–54329.
import { z } from 'zod';
import { ConfigError, type ProjectConfig } from '../../config.js';
import { userSecrets } from '../../functions/registry.js';
import { LOCAL_STRIPE_PORT, LOCAL_STRIPE_PUBLISHABLE_KEY, LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET } from './keys.js';

export type LocalStripe =
    | {
          kind: 'fake';
          port: number;
          /** Variables the functions get (over their own secrets). */
          functionsEnv: Record<string, string>;
          apiUrl: string;
          webhookSecret: string;
      }
    | { kind: 'real'; apiUrl: string; webhookSecret: string | undefined };

const LocalStripeConfig = z
    .object({ port: z.number().int().min(1).max(65535).default(LOCAL_STRIPE_PORT) })
    .strict()
    .default({ port: LOCAL_STRIPE_PORT });

export function localStripeFor(config: ProjectConfig, warn: (message: string) => void = () => {}): LocalStripe {
    const parsed = LocalStripeConfig.safeParse(config.raw.local_stripe);
    if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ConfigError(`[local_stripe] ${issue.path.join('.') || '(section)'}: ${issue.message}`);
    }
    const secrets = userSecrets(config, warn);
    const key = secrets.STRIPE_SECRET_KEY;
    if (key && key !== LOCAL_STRIPE_SECRET_KEY) {
        return { kind: 'real', apiUrl: 'https://api.stripe.com', webhookSecret: secrets.STRIPE_WEBHOOK_SECRET };
    }
    const apiUrl = `http://127.0.0.1:${parsed.data.port}`;
    return {
        kind: 'fake',
        port: parsed.data.port,
        apiUrl,
        webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
        functionsEnv: {
            STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
            STRIPE_PUBLISHABLE_KEY: LOCAL_STRIPE_PUBLISHABLE_KEY,
            STRIPE_WEBHOOK_SECRET: LOCAL_STRIPE_WEBHOOK_SECRET,
            STRIPE_API_URL: apiUrl,
        },
    };
}
