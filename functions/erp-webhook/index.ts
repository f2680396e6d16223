// erp-webhook adapter. verify_jwt = false in config.toml: the ERP cannot hold a Supabase
// JWT; the handler checks the ERP's HMAC signature itself.
import { createDb } from '../_shared/db.ts';
import { readEnv, PlatformEnv } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { z } from 'zod';
import { handle } from './handler.ts';

const source = Deno.env.toObject();
const platform = readEnv(PlatformEnv, source);
const { ERP_WEBHOOK_SECRET } = readEnv(z.object({ ERP_WEBHOOK_SECRET: z.string().min(16) }), source);
const deps = {
    db: createDb(platform.SUPABASE_DB_URL),
    secret: ERP_WEBHOOK_SECRET,
    clock: () => new Date(),
    log: createLogger({ function: 'erp-webhook' }),
};

Deno.serve((request) => handle(request, deps));
