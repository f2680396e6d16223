// The expire-reservations job end to end on real Deno: the repository's own config.toml
// serves functions/expire-reservations, the local scheduler reads the job row the
// migration declared and calls it through the gateway with the service key, and the
// function releases the stock of overdue orders in a real test database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../../stack/config.js';
import { createFunctionsService, type FunctionsService, type LogEntry } from '../../../stack/functions/index.js';
import { createGateway } from '../../../stack/gateway/index.js';
import { apiKeysFor } from '../../../stack/gateway/keys.js';
import { listen, type Listening } from '../../../stack/http.js';
import { jwtKeysFromConfig } from '../../../stack/jwt.js';
import { LOCAL_ANON_KEY, LOCAL_SECRET_KEY, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { createScheduler, invokeThroughGateway, jobsFromDatabase, type SchedulerLog } from '../../../stack/scheduler/index.js';
import { createShop, placeOrderAt, type Shop } from '../../harness/commerce-shop.js';
import { useTestDatabase } from '../../harness/db.js';

const db = useTestDatabase();
const denoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-deno-'));
let functions: FunctionsService | undefined;
let gateway: Listening | undefined;
let shop: Shop;
const functionLogs: LogEntry[] = [];

beforeAll(async () => {
    shop = await createShop(db, 10);
    const config = loadProjectConfig(PROJECT_ROOT);
    const jwt = jwtKeysFromConfig(config);
    const keys = await apiKeysFor(jwt);
    functions = await createFunctionsService({
        config,
        jwt,
        keys,
        apiUrl: 'http://127.0.0.1:0',
        dbUrl: db.url,
        denoDir,
        wallClockMs: 60_000,
        log: (entry) => functionLogs.push(entry),
    });
    gateway = await listen(createGateway({ routes: { '/functions/v1': functions.handler }, keys, jwt, accessLog: () => {} }), { port: 0 });
});

afterAll(async () => {
    await functions?.close();
    await gateway?.close();
    fs.rmSync(denoDir, { recursive: true, force: true });
});

const levelOf = async (variantId: string) =>
    (await db.query<{ reserved: number }>('select reserved from public.inventory_levels where variant_id = $1', [variantId]))[0]!.reserved;

describe('expire-reservations on Deno', () => {
    it('the scheduler calls it through the gateway with the service key, and overdue stock comes back', async () => {
        const variant = shop.variants[0]!.id;
        const now = Date.now();
        const overdue = await placeOrderAt(db, await db.createUser(), [{ variant_id: variant, quantity: 4 }], new Date(now - 120_000));
        const running = await placeOrderAt(db, await db.createUser(), [{ variant_id: variant, quantity: 1 }], new Date(now), '30 minutes');
        expect(await levelOf(variant)).toBe(5);

        const source = jobsFromDatabase(db.url);
        const runs: Array<Parameters<SchedulerLog>[0]> = [];
        try {
            const scheduler = createScheduler({
                loadJobs: async () => (await source.loadJobs()).filter((job) => job.name === 'expire-reservations'),
                invoke: invokeThroughGateway(gateway!.url, { serviceRole: LOCAL_SERVICE_ROLE_KEY, secret: LOCAL_SECRET_KEY }),
                now: () => new Date(),
                log: (entry) => runs.push(entry),
            });
            await scheduler.tick();
            await scheduler.idle();
        } finally {
            await source.close();
        }
        expect(runs, JSON.stringify(functionLogs)).toEqual([expect.objectContaining({ msg: 'scheduled job ran', job: 'expire-reservations', status: 200 })]);
        const statuses = await db.query<{ id: string; status: string }>('select id, status from public.orders where id in ($1, $2)', [overdue.id, running.id]);
        expect(Object.fromEntries(statuses.map((s) => [s.id, s.status]))).toEqual({ [overdue.id]: 'expired', [running.id]: 'pending_payment' });
        expect(await levelOf(variant)).toBe(1);
    });

    it('answers a call with the anon key 403 and one without a JWT 401, changing nothing', async () => {
        const variant = shop.variants[1]!.id;
        const overdue = await placeOrderAt(db, await db.createUser(), [{ variant_id: variant, quantity: 2 }], new Date(Date.now() - 120_000));
        const url = `${gateway!.url}/functions/v1/expire-reservations`;
        const anon = await fetch(url, { method: 'POST', headers: { apikey: LOCAL_ANON_KEY, authorization: `Bearer ${LOCAL_ANON_KEY}` }, body: '{}' });
        expect([anon.status, ((await anon.json()) as { code: string }).code]).toEqual([403, 'forbidden']);
        const forged = await fetch(url, { method: 'POST', headers: { apikey: LOCAL_ANON_KEY, authorization: 'Bearer not-a-jwt' }, body: '{}' });
        expect(forged.status).toBe(401);
        await forged.arrayBuffer();
        expect(await db.query('select status from public.orders where id = $1', [overdue.id])).toEqual([{ status: 'pending_payment' }]);
        expect(await levelOf(variant)).toBe(2);
    });
});
