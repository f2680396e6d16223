// Adapter: env, dependencies, Deno.serve. The logic is in handler.ts.
import { createDb } from '../_shared/db.ts';
import { PlatformEnv, readEnv } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { createStripe, stripeCrypto, StripeEnv, StripeWebhookEnv } from '../_shared/stripe.ts';
import { handle } from './handler.ts';

const env = readEnv(PlatformEnv.extend(StripeEnv.shape).extend(StripeWebhookEnv.shape), Deno.env.toObject());
const deps = {
    db: createDb(env.SUPABASE_DB_URL, 8),
    stripe: createStripe(env),
    webhookSecret: env.STRIPE_WEBHOOK_SECRET,
    cryptoProvider: stripeCrypto,
    now: () => new Date(),
    log: createLogger({ function: 'stripe-webhook' }),
};

Deno.serve((request) => handle(request, deps));
