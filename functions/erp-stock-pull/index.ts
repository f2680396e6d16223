// erp-stock-pull adapter: the ERP secrets as erp-sync reads them. Scheduled with the service role.
import { createDb } from '../_shared/db.ts';
import { readEnv, PlatformEnv } from '../_shared/env.ts';
import { createErpAdapter, ErpEnv } from '../_shared/erp/config.ts';
import { createLogger } from '../_shared/log.ts';
import { serviceKeys } from '../_shared/service-role.ts';
import { handle } from './handler.ts';

const source = Deno.env.toObject();
const platform = readEnv(PlatformEnv, source);
const deps = {
    serviceKeys: serviceKeys(platform),
    db: createDb(platform.SUPABASE_DB_URL),
    erp: createErpAdapter(readEnv(ErpEnv, source)),
    clock: () => new Date(),
    log: createLogger({ function: 'erp-stock-pull' }),
};

Deno.serve((request) => handle(request, deps));
