// One embedded Postgres per test run, and one migrated template database that every test
// file clones (test/harness/db.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { Cluster, EPHEMERAL_SETTINGS, freePort } from '../../stack/db/cluster.js';
import { resetDatabase } from '../../stack/db/reset.js';
import { PROJECT_ROOT } from '../../stack/paths.js';

export const TEMPLATE_DATABASE = 'tillbase_template';

declare module 'vitest' {
    export interface ProvidedContext {
        /** Superuser URL of the test cluster's `postgres` database. */
        clusterUrl: string;
        templateDatabase: string;
    }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-test-'));
    fs.chmodSync(dataRoot, 0o755);
    const cluster = new Cluster({ dataDir: path.join(dataRoot, 'data'), port: await freePort(), settings: EPHEMERAL_SETTINGS });
    await cluster.start();
    try {
        await resetDatabase({ url: cluster.url(TEMPLATE_DATABASE), workdir: PROJECT_ROOT, seed: false });
    } catch (error) {
        await cluster.stop();
        throw error;
    }
    project.provide('clusterUrl', cluster.url());
    project.provide('templateDatabase', TEMPLATE_DATABASE);
    return async () => {
        await cluster.stop();
        fs.rmSync(dataRoot, { recursive: true, force: true });
    };
}
