// Services config.toml enables that the stack does not run are listed as "not available
// locally" — from the config that `supabase init` writes, and only when enabled there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unavailableRoute, unavailableServices } from '../../../stack/cli/services.js';
import { runSupabaseCli } from '../../../stack/db/supabase-cli.js';

describe('services not available locally', () => {
    let initConfig: Record<string, unknown>;
    let dir: string;
    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-init-'));
        await runSupabaseCli(['init'], { workdir: dir });
        initConfig = parse(fs.readFileSync(path.join(dir, 'supabase', 'config.toml'), 'utf8')) as Record<string, unknown>;
    }, 60_000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('lists what `supabase init` enables and the stack does not run, naming the config.toml table', () => {
        const listed = unavailableServices(initConfig, new Set(['database', 'rest', 'auth', 'functions', 'realtime', 'gateway']));
        expect(listed.map((s) => s.name).sort()).toEqual(['analytics', 'storage', 'storage-s3', 'storage-vector', 'studio']);
        expect(listed.find((s) => s.name === 'studio')!.reason).toBe('not available locally: Supabase Studio ([studio] enabled = true in config.toml)');
        expect(listed.find((s) => s.name === 'storage')).toMatchObject({ prefix: '/storage/v1' });
    });

    it('does not list storage once a storage component is registered', () => {
        const listed = unavailableServices(initConfig, new Set(['storage']));
        expect(listed.map((s) => s.name)).not.toContain('storage');
        expect(listed.map((s) => s.name)).toContain('storage-s3');
    });

    it('lists nothing a config.toml leaves out or disables, and a mail port only when set', () => {
        expect(unavailableServices({ project_id: 'x' }, new Set())).toEqual([]);
        expect(unavailableServices({ studio: { enabled: false }, db: { pooler: { enabled: false } } }, new Set())).toEqual([]);
        expect(unavailableServices({ local_smtp: { enabled: true, pop3_port: 54326 } }, new Set())).toEqual([
            { name: 'mail-pop3', reason: "not available locally: the mail catcher's POP3 port ([local_smtp] pop3_port = 54326 in config.toml)" },
        ]);
    });

    it('answers 503 on the API path of such a service, saying why', async () => {
        const [storage] = unavailableServices({ storage: { enabled: true } }, new Set());
        const response = await unavailableRoute(storage!)();
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({ message: 'storage is not available locally: Storage API ([storage] enabled = true in config.toml)' });
    });
});
