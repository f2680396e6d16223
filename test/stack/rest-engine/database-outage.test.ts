// REST while its database is unreachable answers as PostgREST does — 503 with PGRST000
// ("Database connection error. Retrying the connection.") — instead of hanging or 500,
// reports itself unhealthy, and serves again by itself once the database is back.
// The fault: the database stops accepting connections and its sessions are terminated.
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { withClient } from '../../../stack/db/connect.js';
import { useEngine } from './engine-harness.js';

const engine = useEngine({ poolSize: 4 });

const onCluster = (sql: string) => withClient(inject('clusterUrl'), (client) => client.query(sql));
const setConnections = async (allowed: boolean) => {
    await onCluster(`alter database ${engine.database} allow_connections ${allowed}`);
    if (!allowed) await onCluster(`select pg_terminate_backend(pid) from pg_catalog.pg_stat_activity where datname = '${engine.database}'`);
};

afterAll(() => setConnections(true));

describe('database outage', () => {
    it('answers 503 PGRST000 while the database refuses connections, and 200 again once it is back', async () => {
        expect((await engine.request('/items?select=id')).status).toBe(200);
        await setConnections(false);

        // The pool may first hand out a connection whose end it has not noticed yet (PGRST001).
        await vi.waitFor(async () => {
            const response = await engine.request('/items?select=id');
            expect(response.status).toBe(503);
            expect(await response.json()).toMatchObject({ code: 'PGRST000', message: 'Database connection error. Retrying the connection.', details: expect.stringContaining('not currently accepting connections') });
        });
        await expect(engine.service.health()).rejects.toThrow(/not currently accepting connections/);

        await setConnections(true);
        await vi.waitFor(async () => expect((await engine.request('/items?select=id')).status).toBe(200));
        await expect(engine.service.health()).resolves.toBeUndefined();
    });
});
