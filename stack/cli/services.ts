// The services a Supabase project's config.toml can turn on that the local stack may not
// run, and how the stack treats each — one table, read at start. A service enabled in
// config.toml that no component runs is listed in the status (`components`) as "not
// available locally", as `supabase start` lists the services it runs; requests to its API
// path answer 503 saying so, instead of Kong's "no Route matched".
//
// The services the stack always runs (api → gateway, db → database, auth, realtime,
// edge_runtime → functions, local_smtp/inbucket → mail, with its SMTP listener) are
// components of their own and not listed here.

export interface OptionalService {
    /** Its name in the status (`components`). */
    name: string;
    /** What it is, for people. */
    what: string;
    /** Its config.toml table, e.g. ['storage', 's3_protocol']; the first present of several alternatives. */
    table: string[] | string[][];
    /** The key that turns it on: `enabled = true`, or the presence of a port key (`smtp_port`). */
    enabledBy: 'enabled' | { key: string };
    /** Gateway prefix of its API, when it has one. */
    prefix?: string;
    /** The stack component that runs it when registered (e.g. `storage`); none = never run locally. */
    component?: string;
}

export const OPTIONAL_SERVICES: OptionalService[] = [
    { name: 'storage', what: 'Storage API', table: ['storage'], enabledBy: 'enabled', prefix: '/storage/v1', component: 'storage' },
    { name: 'storage-image-transformation', what: 'Storage image transformations (imgproxy)', table: ['storage', 'image_transformation'], enabledBy: 'enabled', component: 'storage' },
    { name: 'storage-s3', what: "Storage's S3 protocol", table: ['storage', 's3_protocol'], enabledBy: 'enabled' },
    { name: 'storage-vector', what: 'Storage vector buckets', table: ['storage', 'vector'], enabledBy: 'enabled' },
    { name: 'storage-analytics', what: 'Storage analytics buckets (Iceberg)', table: ['storage', 'analytics'], enabledBy: 'enabled' },
    { name: 'studio', what: 'Supabase Studio', table: ['studio'], enabledBy: 'enabled' },
    { name: 'analytics', what: 'log analytics (Logflare)', table: ['analytics'], enabledBy: 'enabled', prefix: '/analytics/v1' },
    { name: 'pooler', what: 'connection pooler (Supavisor)', table: ['db', 'pooler'], enabledBy: 'enabled' },
    { name: 'mail-smtp', what: "the mail catcher's SMTP port", table: [['local_smtp'], ['inbucket']], enabledBy: { key: 'smtp_port' }, component: 'mail' },
    { name: 'mail-pop3', what: "the mail catcher's POP3 port", table: [['local_smtp'], ['inbucket']], enabledBy: { key: 'pop3_port' } },
];

export interface UnavailableService {
    name: string;
    /** The status line: "not available locally: …". */
    reason: string;
    prefix?: string;
}

function tableAt(config: Record<string, unknown>, keys: string[]): Record<string, unknown> | undefined {
    let value: unknown = config;
    for (const key of keys) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

/**
 * The services `config` (config.toml as parsed) enables that no registered component runs.
 * Only what the file itself turns on counts: a table left out is not listed.
 */
export function unavailableServices(config: Record<string, unknown>, registered: ReadonlySet<string>): UnavailableService[] {
    const unavailable: UnavailableService[] = [];
    for (const service of OPTIONAL_SERVICES) {
        if (service.component && registered.has(service.component)) continue;
        const paths = (Array.isArray(service.table[0]) ? service.table : [service.table]) as string[][];
        for (const keys of paths) {
            const table = tableAt(config, keys);
            if (!table) continue;
            const on = service.enabledBy === 'enabled' ? table.enabled === true : table[service.enabledBy.key] !== undefined;
            if (!on) break;
            const setting = service.enabledBy === 'enabled' ? 'enabled = true' : `${service.enabledBy.key} = ${String(table[service.enabledBy.key])}`;
            unavailable.push({
                name: service.name,
                reason: `not available locally: ${service.what} ([${keys.join('.')}] ${setting} in config.toml)`,
                ...(service.prefix ? { prefix: service.prefix } : {}),
            });
            break;
        }
    }
    return unavailable;
}

/** The gateway's answer on the API path of a service the stack does not run. */
export function unavailableRoute(service: UnavailableService): () => Promise<Response> {
    const body = JSON.stringify({ message: `${service.name} is ${service.reason}` });
    return async () => new Response(body, { status: 503, headers: { 'content-type': 'application/json' } });
}
