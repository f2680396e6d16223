// The platform can be applied to several databases of one cluster at once (roles are
// cluster-wide; their creation must not race).
import { afterAll, expect, it } from 'vitest';
import { applyPlatform } from '../../stack/db/platform.js';
import { cloneTemplate, dropDatabase } from '../harness/db.js';

const names = ['platform_race_a', 'platform_race_b', 'platform_race_c'].map((n) => `${n}_${process.pid}`);

afterAll(async () => {
    for (const name of names) await dropDatabase(name);
});

it('applies to three databases concurrently without errors', async () => {
    const urls = await Promise.all(names.map((name) => cloneTemplate(name)));
    await expect(Promise.all(urls.map((url) => applyPlatform(url)))).resolves.toHaveLength(3);
});
