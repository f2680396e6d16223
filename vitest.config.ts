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
        // Type tests (*.test-d.ts, expectTypeOf): vitest runs tsc on them, each failed assertion a failed test.
        typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    },
});
