import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/setup/global.ts'],
        reporters: ['default', './test/setup/summary-reporter.ts'],
        pool: 'forks',
        // Tests wait on Postgres and servers far more than on the CPU.
        maxWorkers: 4,
        testTimeout: 30_000,
        hookTimeout: 120_000,
        allowOnly: false,
        passWithNoTests: false,
    },
});
