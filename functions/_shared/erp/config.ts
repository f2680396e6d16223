// Which ERP the functions talk to, from their secrets (supabase/functions/.env locally,
// `supabase secrets set` hosted), validated once at boot: a missing key stops the
// function with the key's name.
//   ERP_ADAPTER=odoo  ODOO_URL, ODOO_DATABASE, ODOO_API_KEY [, ODOO_PROTOCOL=json2|jsonrpc,
//                     ODOO_LOGIN (jsonrpc), ODOO_CREATE_MISSING_PRODUCTS=true (default)|false]
//   ERP_ADAPTER=http  ERP_HTTP_URL, ERP_HTTP_TOKEN
//   ERP_TIMEOUT_MS    per HTTP call (default 10000)
import { z } from 'zod';
import type { ErpAdapter } from './adapter.ts';
import { createHttpErpAdapter } from './http.ts';
import { createOdooAdapter } from './odoo.ts';

const flag = (byDefault: 'true' | 'false') => z.enum(['true', 'false']).default(byDefault).transform((v) => v === 'true');
const timeout = z.coerce.number().int().min(100).max(120_000).default(10_000);

export const ErpEnv = z.discriminatedUnion('ERP_ADAPTER', [
    z.object({
        ERP_ADAPTER: z.literal('odoo'),
        ODOO_URL: z.string().url(),
        ODOO_DATABASE: z.string().min(1),
        ODOO_API_KEY: z.string().min(1),
        ODOO_PROTOCOL: z.enum(['json2', 'jsonrpc']).default('json2'),
        ODOO_LOGIN: z.string().min(1).optional(),
        // A SKU the shop sells but Odoo lacks is created (name, SKU, list price) rather than
        // holding the order back; `false` makes it a dead letter for staff instead.
        ODOO_CREATE_MISSING_PRODUCTS: flag('true'),
        ERP_TIMEOUT_MS: timeout,
    }).refine((env) => env.ODOO_PROTOCOL !== 'jsonrpc' || env.ODOO_LOGIN, { message: 'ODOO_LOGIN is required with ODOO_PROTOCOL=jsonrpc', path: ['ODOO_LOGIN'] }),
    z.object({
        ERP_ADAPTER: z.literal('http'),
        ERP_HTTP_URL: z.string().url(),
        ERP_HTTP_TOKEN: z.string().min(1),
        ERP_TIMEOUT_MS: timeout,
    }),
]);

export type ErpEnv = z.infer<typeof ErpEnv>;

export function createErpAdapter(env: ErpEnv, fetcher?: typeof fetch): ErpAdapter {
    if (env.ERP_ADAPTER === 'http') {
        return createHttpErpAdapter({ url: env.ERP_HTTP_URL, token: env.ERP_HTTP_TOKEN, timeoutMs: env.ERP_TIMEOUT_MS, fetch: fetcher });
    }
    return createOdooAdapter({
        url: env.ODOO_URL,
        database: env.ODOO_DATABASE,
        apiKey: env.ODOO_API_KEY,
        protocol: env.ODOO_PROTOCOL,
        login: env.ODOO_LOGIN,
        createMissingProducts: env.ODOO_CREATE_MISSING_PRODUCTS,
        timeoutMs: env.ERP_TIMEOUT_MS,
        fetch: fetcher,
    });
}
