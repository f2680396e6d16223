// freePort: ports for servers started later come from the test worker's own slice below
// Linux's ephemeral range (where outgoing connections take their source ports), are free
// when handed out, and are handed out once, even to concurrent callers.
import { describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../../stack/db/cluster.js';

describe('freePort', () => {
    it("hands concurrent callers distinct free ports from this worker's slice below the ephemeral range", async () => {
        const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
        expect(new Set(ports).size).toBe(50);
        const slice = 20_000 + (Number(process.env.VITEST_POOL_ID) % 12) * 1_000;
        for (const port of ports) {
            expect(port).toBeGreaterThanOrEqual(slice);
            expect(port).toBeLessThan(slice + 1_000);
        }
        expect(await Promise.all(ports.map((port) => isPortFree(port)))).toEqual(ports.map(() => true));
    });
});
