// The published shape of @tillbase/sdk, not its sources: `npm run build -w @tillbase/sdk`
// writes sdk/dist, and then
// - a plain Node ESM program (a child process, no configuration) imports the package,
//   uses REST, Auth and Realtime on the running stack and exits by itself;
// - esbuild bundles it for browsers (platform browser: no `ws`, no Node built-ins), the
//   bundle runs against the stack with the page's WebSocket, and an import of one error
//   class shakes supabase-js out entirely;
// - a TypeScript consumer compiles against the declarations.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../stack/paths.js';
import { createCatalogue, type Catalogue } from '../harness/sdk.js';
import { useStack } from '../harness/stack.js';

const run = promisify(execFile);
const SDK = path.join(PROJECT_ROOT, 'sdk');
const FIXTURES = path.join(PROJECT_ROOT, 'test/sdk/fixtures');
const stack = useStack({ realtime: true, storage: true });
let shop: Catalogue;

interface PackageJson {
    name: string;
    version: string;
    type: string;
    sideEffects: boolean;
    types: string;
    files: string[];
    exports: Record<string, string | Record<string, string>>;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
}
const manifest = JSON.parse(fs.readFileSync(path.join(SDK, 'package.json'), 'utf8')) as PackageJson;

beforeAll(async () => {
    await run('npm', ['run', 'build', '-w', '@tillbase/sdk'], { cwd: PROJECT_ROOT });
    shop = await createCatalogue(stack);
}, 180_000);

/** Bundles `source` (an ES module importing the package) for browsers. */
async function bundle(source: string): Promise<esbuild.BuildResult & { metafile: esbuild.Metafile; outputFiles: esbuild.OutputFile[] }> {
    return esbuild.build({
        stdin: { contents: source, resolveDir: PROJECT_ROOT, loader: 'js' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        write: false,
        metafile: true,
        logLevel: 'silent',
    });
}

describe('the package', () => {
    it('declares an ESM, side-effect free package with types, its files and supabase-js as a peer', () => {
        expect(manifest).toMatchObject({ name: '@tillbase/sdk', type: 'module', sideEffects: false, types: './dist/src/index.d.ts', files: expect.arrayContaining(['dist']) });
        expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
        expect(Object.keys(manifest.peerDependencies)).toEqual(['@supabase/supabase-js']);
        expect(manifest.dependencies['@supabase/supabase-js']).toBeUndefined();
        const root = manifest.exports['.'] as Record<string, string>;
        expect(Object.keys(root)).toEqual(['types', 'node', 'browser', 'default']);
        // Every target the exports map names was built.
        for (const target of Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))) {
            expect(fs.existsSync(path.join(SDK, target)), target).toBe(true);
        }
        expect(fs.existsSync(path.join(SDK, 'CHANGELOG.md'))).toBe(true);
        expect(fs.readFileSync(path.join(SDK, 'CHANGELOG.md'), 'utf8')).toContain(`## ${manifest.version}`);
    });

    it('runs in a plain Node ESM process from sdk/dist: REST, Auth and Realtime (ws on Node 20), then exits by itself', async () => {
        const user = await stack.user('node-consumer');
        const { stdout, stderr } = await run(process.execPath, [path.join(FIXTURES, 'consumer.mjs')], {
            cwd: PROJECT_ROOT,
            timeout: 60_000,
            env: {
                PATH: process.env.PATH ?? '',
                TILLBASE_URL: stack.url,
                TILLBASE_ANON_KEY: stack.keys.anon,
                TILLBASE_EMAIL: user.email,
                TILLBASE_PASSWORD: user.password,
                TILLBASE_VARIANT: shop.variants.teeS.id,
            },
        });
        expect(stderr).not.toMatch(/WebSocket not found|Error/);
        expect(JSON.parse(stdout)).toEqual({
            products: [shop.tee, shop.poster, shop.mug],
            total: 3,
            anonymousCart: { code: 'unauthenticated', isTillbaseError: true },
            cart: [[shop.variants.teeS.id, 2]],
            statuses: ['pending_payment', 'canceled'],
        });
    }, 90_000);

    it('bundles for browsers without ws or Node built-ins, and the bundle works against the stack', async () => {
        const result = await bundle(`export { createTillbaseClient } from '@tillbase/sdk';`);
        const inputs = Object.keys(result.metafile.inputs);
        expect(inputs).toContain('sdk/dist/src/index.js');
        expect(inputs.filter((file) => file.includes('node_modules/ws/') || file.endsWith('dist/src/node.js'))).toEqual([]);

        // Run it as a page would: the browser's WebSocket (here `ws` standing in) and fetch.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-sdk-browser-'));
        try {
            const file = path.join(dir, 'bundle.mjs');
            fs.writeFileSync(file, result.outputFiles[0]!.contents);
            const page = `
                import WebSocket from 'ws';
                globalThis.WebSocket = WebSocket;
                const { createTillbaseClient } = await import(${JSON.stringify(file)});
                const tb = createTillbaseClient(process.env.TILLBASE_URL, process.env.TILLBASE_ANON_KEY);
                const page = await tb.catalog.list({ category: process.env.TILLBASE_CATEGORY }).orThrow();
                const channel = tb.supabase.channel('page-' + Date.now());
                const status = await new Promise((resolve) => channel.subscribe((s) => s !== 'CLOSED' && resolve(s)));
                await tb.supabase.removeChannel(channel);
                await tb.supabase.realtime.disconnect();
                console.log(JSON.stringify({ slugs: page.products.map((p) => p.slug), thumbnail: page.products[0].image.thumbnailUrl, status }));
            `;
            const { stdout } = await run(process.execPath, ['--input-type=module', '-e', page], {
                cwd: PROJECT_ROOT,
                timeout: 60_000,
                env: { PATH: process.env.PATH ?? '', TILLBASE_URL: stack.url, TILLBASE_ANON_KEY: stack.keys.anon, TILLBASE_CATEGORY: shop.tees },
            });
            expect(JSON.parse(stdout)).toEqual({
                slugs: [shop.tee],
                thumbnail: expect.stringMatching(/\/storage\/v1\/render\/image\/public\/product-images\/.+width=400/),
                status: 'SUBSCRIBED',
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 90_000);

    it('is tree-shakable: importing the error class alone bundles neither supabase-js nor the helpers', async () => {
        const result = await bundle(`import { TillbaseError } from '@tillbase/sdk'; console.log(new TillbaseError('not_found', 'x').status);`);
        // The modules that put bytes into the bundle (esbuild reads more than it keeps).
        const inputs = Object.values(result.metafile.outputs).flatMap((output) =>
            Object.entries(output.inputs)
                .filter(([, use]) => use.bytesInOutput > 0)
                .map(([file]) => file),
        );
        expect(inputs.filter((file) => file.includes('@supabase/'))).toEqual([]);
        expect(inputs.filter((file) => /dist\/src\/(catalog|cart|orders|staff|account)\.js$/.test(file))).toEqual([]);
        expect(inputs).toContain('sdk/dist/src/result.js');
    });

    it('gives a TypeScript consumer the declarations: its app compiles against sdk/dist', async () => {
        const tsc = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
        const outcome = await run(process.execPath, [tsc, '-p', path.join(FIXTURES, 'tsconfig.consumer.json'), '--pretty', 'false'], { cwd: PROJECT_ROOT }).then(
            () => ({ stdout: '', code: 0 }),
            (error: { stdout: string; code: number }) => error,
        );
        expect(outcome).toEqual({ stdout: '', code: 0 });
    }, 120_000);
});
