// expire-reservations: the adapter. Env read once, dependencies built, requests handed to
// the handler. Called every minute by the scheduler (pg_cron + pg_net on Supabase) with
// the service key; see handler.ts.
import { createDb } from '../_shared/db.ts';
import { PlatformEnv, readEnv } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { serviceKeys } from '../_shared/service-role.ts';
import { handle } from './handler.ts';

const env = readEnv(PlatformEnv, Deno.env.toObject());

const deps = {
    db: createDb(env.SUPABASE_DB_URL, 2),
    serviceKeys: serviceKeys(env),
    now: () => new Date(),
    log: createLogger({ function: 'expire-reservations' }),
};

Deno.serve((request) => handle(request, deps));
