// Which functions a project has and how each is configured, from config.toml and the
// supabase/functions folder, as the Supabase CLI reads them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadProjectConfig } from '../../../stack/config.js';
import { parseDotenv, resolveFunctions, userSecrets } from '../../../stack/functions/registry.js';

const projects: string[] = [];
afterEach(() => projects.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-registry-'));
    projects.push(dir);
    for (const [file, content] of Object.entries({ 'supabase/config.toml': 'project_id = "p"\n', ...files })) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
}

const fn = 'Deno.serve(() => new Response("ok"));\n';

describe('resolveFunctions', () => {
    it('serves supabase/functions/<name>/index.ts with verify_jwt on, skipping _shared', () => {
        const dir = project({ 'supabase/functions/orders/index.ts': fn, 'supabase/functions/_shared/db.ts': 'export {};\n' });
        const specs = resolveFunctions(loadProjectConfig(dir));
        expect([...specs.keys()]).toEqual(['orders']);
        expect(specs.get('orders')).toMatchObject({ entrypoint: path.join(dir, 'supabase/functions/orders/index.ts'), verifyJwt: true, denoConfig: undefined });
    });

    it('reads entrypoint, import_map, verify_jwt and enabled from [functions.<name>]', () => {
        const dir = project({
            'supabase/config.toml':
                'project_id = "p"\n[functions.checkout]\nentrypoint = "../functions/checkout/index.ts"\nimport_map = "../functions/deno.json"\nverify_jwt = false\n' +
                '[functions.orders]\nenabled = false\n',
            'functions/checkout/index.ts': fn,
            'functions/deno.json': '{"imports":{}}',
            'supabase/functions/orders/index.ts': fn,
        });
        const specs = resolveFunctions(loadProjectConfig(dir));
        expect([...specs.keys()]).toEqual(['checkout']);
        expect(specs.get('checkout')).toMatchObject({
            entrypoint: path.join(dir, 'functions/checkout/index.ts'),
            denoConfig: { kind: 'config', file: path.join(dir, 'functions/deno.json') },
            verifyJwt: false,
            watch: [path.join(dir, 'functions'), path.join(dir, 'functions/deno.json')],
        });
    });

    it('finds the nearest deno.json, else the shared supabase/functions/import_map.json', () => {
        const dir = project({
            'supabase/functions/a/index.ts': fn,
            'supabase/functions/a/deno.json': '{}',
            'supabase/functions/b/index.ts': fn,
            'supabase/functions/import_map.json': '{"imports":{}}',
        });
        const specs = resolveFunctions(loadProjectConfig(dir));
        expect(specs.get('a')!.denoConfig).toEqual({ kind: 'config', file: path.join(dir, 'supabase/functions/a/deno.json') });
        expect(specs.get('b')!.denoConfig).toEqual({ kind: 'import-map', file: path.join(dir, 'supabase/functions/import_map.json') });
    });

    it('keeps a function whose entrypoint does not exist as broken, naming the key, beside the good ones', () => {
        const dir = project({
            'supabase/config.toml': 'project_id = "p"\n[functions.ghost]\nentrypoint = "./nowhere.ts"\n',
            'supabase/functions/orders/index.ts': fn,
        });
        const specs = resolveFunctions(loadProjectConfig(dir));
        expect(specs.get('ghost')!.problem).toMatch(/^\[functions\.ghost\] entrypoint: .*nowhere\.ts does not exist$/);
        expect(specs.get('orders')!.problem).toBeUndefined();
    });

    it('reports a missing import map and a wrong verify_jwt type as problems of that function only', () => {
        const dir = project({
            'supabase/config.toml':
                'project_id = "p"\n[functions.a]\nentrypoint = "./functions/a/index.ts"\nimport_map = "./nowhere.json"\n' +
                '[functions.b]\nentrypoint = "./functions/a/index.ts"\nverify_jwt = "yes"\n[functions."bad name"]\nentrypoint = "./functions/a/index.ts"\n',
            'supabase/functions/a/index.ts': fn,
        });
        const specs = resolveFunctions(loadProjectConfig(dir));
        expect(specs.get('a')!.problem).toMatch(/\[functions\.a\] import_map: .*nowhere\.json does not exist/);
        expect(specs.get('b')!.problem).toBe('[functions.b] verify_jwt must be true or false');
        expect(specs.get('bad name')!.problem).toMatch(/a function name may only hold/);
    });
});

describe('user secrets', () => {
    it('parses dotenv lines: comments, export, quotes, inline comments', () => {
        expect(parseDotenv('# c\nexport A=1\nB="two words"\nC=\'x#y\'\nD=plain # note\nE="line\\nbreak"\nnot a line\n')).toEqual({
            A: '1',
            B: 'two words',
            C: 'x#y',
            D: 'plain',
            E: 'line\nbreak',
        });
    });

    it('takes supabase/functions/.env and [edge_runtime.secrets], refusing SUPABASE_ names', () => {
        process.env.TILLBASE_REGISTRY_TEST = 'from-shell';
        const dir = project({
            'supabase/config.toml': 'project_id = "p"\n[edge_runtime.secrets]\nFROM_CONFIG = "env(TILLBASE_REGISTRY_TEST)"\n',
            'supabase/functions/.env': 'STRIPE_SECRET_KEY=sk_test_1\nSUPABASE_URL=http://evil\n',
        });
        const warnings: string[] = [];
        expect(userSecrets(loadProjectConfig(dir), (w) => warnings.push(w))).toEqual({ STRIPE_SECRET_KEY: 'sk_test_1', FROM_CONFIG: 'from-shell' });
        expect(warnings).toEqual([expect.stringContaining('SUPABASE_URL')]);
        delete process.env.TILLBASE_REGISTRY_TEST;
    });
});
