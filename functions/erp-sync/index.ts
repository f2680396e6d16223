// erp-sync adapter: env (platform + ERP secrets) validated once, dependencies built, the
// request handed to the handler. Scheduled by scheduler.jobs with the service role.
import { createDb } from '../_shared/db.ts';
import { readEnv, PlatformEnv } from '../_shared/env.ts';
import { createErpAdapter, ErpEnv } from '../_shared/erp/config.ts';
import { createLogger } from '../_shared/log.ts';
import { serviceKeys } from '../_shared/service-role.ts';
import { handle } from './handler.ts';

const source = Deno.env.toObject();
const platform = readEnv(PlatformEnv, source);
const erp = readEnv(ErpEnv, source);
const deps = {
    serviceKeys: serviceKeys(platform),
    db: createDb(platform.SUPABASE_DB_URL),
    erp: createErpAdapter(erp),
    clock: () => new Date(),
    log: createLogger({ function: 'erp-sync' }),
    worker: `erp-sync:${crypto.randomUUID().slice(0, 8)}`,
};

Deno.serve((request) => handle(request, deps));
