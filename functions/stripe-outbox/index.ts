// Adapter: env, dependencies, Deno.serve. The logic is in handler.ts and worker.ts.
import { createDb } from '../_shared/db.ts';
import { PlatformEnv, readEnv } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { createStripe, StripeEnv } from '../_shared/stripe.ts';
import { serviceKeys } from '../_shared/service-role.ts';
import { handle } from './handler.ts';

const env = readEnv(PlatformEnv.extend(StripeEnv.shape), Deno.env.toObject());
const deps = {
    serviceKeys: serviceKeys(env),
    db: createDb(env.SUPABASE_DB_URL),
    stripe: createStripe(env),
    now: () => new Date(),
    log: createLogger({ function: 'stripe-outbox' }),
};

Deno.serve((request) => handle(request, deps));
