// The ERP fake as a stack component: started by `npm start` when the project configures
// no ERP of its own (no ERP_ADAPTER in supabase/functions/.env or [edge_runtime.secrets]).
// The functions then get the fake's URL, database and key as their ERP secrets, under the
// names a real Odoo is configured with (ERP_ADAPTER, ODOO_URL, ODOO_DATABASE, ODOO_API_KEY),
// plus a local webhook secret for erp-webhook. The port is ERP_FAKE_PORT, or any free port
// (the URL is in `npm run status -- -o json` and used by `npm run erp`).
import type { ProjectConfig } from '../../config.js';
import { userSecrets } from '../../functions/registry.js';
import { startErpFake, type ErpFake } from './index.js';

/** The webhook secret of the local stack (Standard Webhooks form); never used outside it. */
export const LOCAL_ERP_WEBHOOK_SECRET = 'whsec_dGlsbGJhc2UtbG9jYWwtZXJwLXdlYmhvb2stc2VjcmV0';
export const LOCAL_ODOO_DATABASE = 'tillbase';
export const LOCAL_ODOO_API_KEY = 'local-erp-fake-key';

export interface LocalErp {
    fake: ErpFake;
    /** Secrets the functions get (the project's own secrets override them). */
    secrets: Record<string, string>;
}

/** Whether the project's function secrets name an ERP (then no fake is started). */
export function erpConfigured(config: ProjectConfig): boolean {
    return Boolean(userSecrets(config, () => {}).ERP_ADAPTER);
}

export async function startLocalErp(port = Number(process.env.ERP_FAKE_PORT ?? 0)): Promise<LocalErp> {
    // The fake forgets on restart while the shop's database remembers the ERP documents it
    // linked: ids that start at the clock's milliseconds are never handed out twice.
    const fake = await startErpFake({ port, database: LOCAL_ODOO_DATABASE, apiKey: LOCAL_ODOO_API_KEY, firstId: Date.now() });
    return {
        fake,
        secrets: {
            ERP_ADAPTER: 'odoo',
            ODOO_URL: fake.url,
            ODOO_DATABASE: LOCAL_ODOO_DATABASE,
            ODOO_API_KEY: LOCAL_ODOO_API_KEY,
            // The fake starts with no products: the shop's SKUs are created on first use.
            ODOO_CREATE_MISSING_PRODUCTS: 'true',
            ERP_WEBHOOK_SECRET: LOCAL_ERP_WEBHOOK_SECRET,
        },
    };
}
