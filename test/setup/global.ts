// One embedded Postgres per test run, and one migrated template database that every test
// file clones (test/harness/db.ts).
import type { TestProject } from 'vitest/node';
import { startThrowawayCluster } from '../../stack/db/cluster.js';
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
    const { cluster, dispose } = await startThrowawayCluster('tillbase-test');
    try {
        await resetDatabase({ url: cluster.url(TEMPLATE_DATABASE), workdir: PROJECT_ROOT, seed: false });
    } catch (error) {
        await dispose();
        throw error;
    }
    project.provide('clusterUrl', cluster.url());
    project.provide('templateDatabase', TEMPLATE_DATABASE);
    return dispose;
}
