// Checks on the migrated schema with the real Supabase CLI: the committed generated types
// match the migrations (drift check), and Supabase's advisors find nothing to fix.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocking, runAdvisors } from '../../stack/db/advisors.js';
import { generateTypes, TYPES_FILE } from '../../stack/db/types.js';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { useTestDatabase } from '../harness/db.js';

const db = useTestDatabase();

describe('schema checks', () => {
    it('sdk/database.types.ts is what `supabase gen types` produces from the migrations (run npm run gen:types)', async () => {
        const generated = await generateTypes(db.url, PROJECT_ROOT);
        const committed = fs.readFileSync(path.join(PROJECT_ROOT, TYPES_FILE), 'utf8');
        expect(generated).toBe(committed);
    });

    it('the security advisor reports nothing at WARN or above', async () => {
        const findings = await runAdvisors(db.url, PROJECT_ROOT, 'security');
        expect(blocking(findings)).toEqual([]);
    });

    it('the performance advisor reports nothing at WARN or above', async () => {
        const findings = await runAdvisors(db.url, PROJECT_ROOT, 'performance');
        expect(blocking(findings)).toEqual([]);
    });

    it('the security advisor catches a public table without RLS (the check can fail)', async () => {
        await db.query('create table public.advisor_probe (id int primary key)');
        try {
            const findings = await runAdvisors(db.url, PROJECT_ROOT, 'security');
            expect(blocking(findings).map((f) => f.name)).toContain('rls_disabled_in_public');
        } finally {
            await db.query('drop table public.advisor_probe');
        }
    });
});
