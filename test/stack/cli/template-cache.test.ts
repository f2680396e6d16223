// Migrated data directories reused by fresh starts: a template saved from a stopped cluster
// comes back as a data directory PostgreSQL starts on, with its data; a different schema
// fingerprint finds none, and TILLBASE_DB_TEMPLATES=off uses none.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, EPHEMERAL_SETTINGS, freePort, startThrowawayCluster } from '../../../stack/db/cluster.js';
import { withClient } from '../../../stack/db/connect.js';
import { restoreTemplate, saveTemplate, templateKey } from '../../../stack/db/template-cache.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';

const CACHE = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'tillbase', 'db-templates');
const schema = `test-schema-${randomUUID()}`;
const key = templateKey(schema);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-template-'));
fs.chmodSync(scratch, 0o755); // PostgreSQL runs as its own OS user under root

afterAll(() => {
    fs.rmSync(path.join(CACHE, key), { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
});

describe('migrated data directory templates', () => {
    it('saves a stopped cluster and restores it as a data directory PostgreSQL starts on, data included', async () => {
        const source = await startThrowawayCluster('tillbase-template-source');
        try {
            await withClient(source.cluster.url(), (client) => client.query(`create table public.marker (note text); insert into public.marker values ('from the template')`));
            await source.cluster.stop();
            saveTemplate(key, source.cluster.dataDirectory);
        } finally {
            await source.dispose();
        }

        const dataDir = path.join(scratch, 'restored');
        expect(restoreTemplate(key, dataDir)).toBe(true);
        expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
        const restored = new Cluster({ dataDir, port: await freePort(), settings: EPHEMERAL_SETTINGS });
        await restored.start();
        try {
            const { rows } = await withClient(restored.url(), (client) => client.query<{ note: string }>('select note from public.marker'));
            expect(rows).toEqual([{ note: 'from the template' }]);
        } finally {
            await restored.stop();
        }
    }, 60_000);

    it('finds no template for another schema fingerprint, and none at all when templates are off', () => {
        expect(templateKey(`${schema}-changed`)).not.toBe(key);
        expect(restoreTemplate(templateKey(`${schema}-changed`), path.join(scratch, 'other'))).toBe(false);
        process.env.TILLBASE_DB_TEMPLATES = 'off';
        try {
            expect(restoreTemplate(key, path.join(scratch, 'off'))).toBe(false);
        } finally {
            delete process.env.TILLBASE_DB_TEMPLATES;
        }
        expect(fs.existsSync(path.join(scratch, 'other'))).toBe(false);
    });
});
