// How a function's imports resolve on the local stack, as they do on Supabase but without
// depending on the network for the ones Supabase's own templates, examples and client
// tests use.
//
// Before a worker boots, the function's module graph is scanned (its local files, through
// its own import map) and a Deno config is generated for it:
//   - the function's own import map (deno.json `imports`/`scopes`, or an import map file),
//     with relative targets made absolute;
//   - every import in OFFLINE_EQUIVALENTS (deno.land/std `serve`, `jsr:@supabase/…`,
//     `https://esm.sh/<package>`, the functions-js `edge-runtime.d.ts` types…) mapped to the
//     npm package installed in node_modules, or to a small equivalent shipped in
//     stack/functions/shims;
//   - `"nodeModulesDir": "manual"` over the node_modules nearest to the function (else the
//     stack's own), so `npm:` specifiers come from what `npm ci` installed.
// Any other remote import (https:, jsr:) is left to Deno: fetched and cached in the stack's
// DENO_DIR when the network reaches its host (probed first, see `reachable`), taken from
// that cache otherwise (`--cached-only`). One that cannot be had fails the boot with a
// reason naming it (`explainBootError`).
//
// The scan reads import specifiers with a regular expression: a specifier it finds in a
// comment only adds an unused mapping; Deno stays the judge of what the code imports.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../paths.js';
import type { FunctionSpec } from './registry.js';

/** An import map: `imports` and `scopes`, targets as absolute URLs or bare/`npm:`/`jsr:` specifiers. */
export interface ImportMap {
    imports: Record<string, string>;
    scopes: Record<string, Record<string, string>>;
}

export interface ImportPlan {
    /** The generated Deno config the worker runs with. */
    configFile: string;
    /** Imports mapped to a local equivalent: as written → what it runs as. */
    localized: Record<string, string>;
    /** Remote imports left to Deno (fetched when the network allows, else from its cache). */
    remote: string[];
    /** Origins (`https://deno.land`) of `remote`. */
    hosts: string[];
    /** The node_modules directory `npm:` specifiers resolve from. */
    nodeModules: string;
}

const SHIMS = path.join(PROJECT_ROOT, 'stack', 'functions', 'shims');
const STACK_NODE_MODULES = path.join(PROJECT_ROOT, 'node_modules');
const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
/** `from "x"`, `import "x"`, `import("x")` — enough for static import/export forms. */
const SPECIFIER = /\bfrom\s*["']([^"'\r\n]+)["']|\bimport\s*\(?\s*["']([^"'\r\n]+)["']/g;
const MAX_FILES = 2_000;

/** A package version as `npm:` needs it, when `nodeModules` holds a version whose major matches `wanted`. */
function installed(nodeModules: string, name: string, wanted: string | undefined): string | undefined {
    try {
        const { version } = JSON.parse(fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8')) as { version: string };
        const major = (v: string) => /^[\^~>=v\s]*(\d+)/.exec(v)?.[1];
        if (wanted && major(wanted) !== undefined && major(wanted) !== major(version)) return undefined;
        return version;
    } catch {
        return undefined;
    }
}

const npm = (nodeModules: string, name: string, version: string | undefined, subpath = '') => {
    const found = installed(nodeModules, name, version);
    return found ? `npm:${name}@${found}${subpath}` : undefined;
};

/**
 * The imports the stack serves without a network, and what each becomes. Checked in order;
 * the first that matches decides. `undefined` = no local equivalent (the package is not
 * installed, or in another major version): Deno gets the import as written.
 */
export const OFFLINE_EQUIVALENTS: Array<{ what: string; match: RegExp; to: (m: RegExpExecArray, nodeModules: string) => string | undefined }> = [
    {
        // (Not the copy in node_modules: Deno would load a file there as CommonJS.)
        what: "the edge runtime's type declarations (`functions new` template): stack/functions/shims/edge-runtime.d.ts",
        match: /^(?:jsr:|npm:|https:\/\/esm\.sh\/|https:\/\/jsr\.io\/)?@supabase\/functions-js(?:@[^/]+)?\/(?:src\/)?edge-runtime\.d\.ts$/,
        to: () => pathToFileURL(path.join(SHIMS, 'edge-runtime.d.ts')).href,
    },
    {
        what: "deno.land/std's `serve` (older templates): stack/functions/shims/std-http-server.js over Deno.serve",
        match: /^https:\/\/deno\.land\/std@[^/]+\/http\/server\.ts$/,
        to: () => pathToFileURL(path.join(SHIMS, 'std-http-server.js')).href,
    },
    {
        what: 'Supabase client packages from JSR (`jsr:@supabase/supabase-js@2`, `/cors`, functions-js…), as their npm builds',
        match: /^jsr:(@supabase\/[a-z-]+)(?:@([^/]+))?(\/.*)?$/,
        to: (m, nodeModules) => npm(nodeModules, m[1]!, m[2], m[3]),
    },
    {
        what: 'npm packages from esm.sh (`https://esm.sh/@supabase/supabase-js@2`), as the installed npm package',
        match: /^https:\/\/esm\.sh\/(?:v\d+\/|stable\/)?((?:@[^/@?]+\/)?[^/@?]+)(?:@([^/?]+))?(\/[^?]*)?(?:\?.*)?$/,
        to: (m, nodeModules) => npm(nodeModules, m[1]!, m[2], m[3]),
    },
    {
        what: 'npm packages from jsDelivr (`https://cdn.jsdelivr.net/npm/<package>@<version>/+esm`), as the installed npm package',
        match: /^https:\/\/cdn\.jsdelivr\.net\/npm\/((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*?)?(?:\/\+esm)?$/,
        to: (m, nodeModules) => npm(nodeModules, m[1]!, m[2], m[3]),
    },
];

/** The local equivalent of an import, or undefined. */
export function offlineEquivalent(specifier: string, nodeModules: string): string | undefined {
    for (const rule of OFFLINE_EQUIVALENTS) {
        const match = rule.match.exec(specifier);
        if (match) return rule.to(match, nodeModules);
    }
    return undefined;
}

const isRemote = (specifier: string) => /^(?:https?|jsr):/.test(specifier);

/** Strips // and /* *\/ comments outside strings (deno.jsonc). */
function stripJsonComments(text: string): string {
    let out = '';
    for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (c === '"') {
            const end = /"(?:[^"\\]|\\.)*"/y;
            end.lastIndex = i;
            const str = end.exec(text)?.[0] ?? text.slice(i);
            out += str;
            i += str.length - 1;
        } else if (c === '/' && text[i + 1] === '/') {
            while (i < text.length && text[i] !== '\n') i++;
            out += '\n';
        } else if (c === '/' && text[i + 1] === '*') {
            const close = text.indexOf('*/', i + 2);
            i = close === -1 ? text.length : close + 1;
        } else {
            out += c;
        }
    }
    return out.replace(/,(\s*[}\]])/g, '$1');
}

function readJson(file: string): Record<string, unknown> {
    const parsed = JSON.parse(stripJsonComments(fs.readFileSync(file, 'utf8'))) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${file} is not a JSON object`);
    return parsed as Record<string, unknown>;
}

/** Relative targets and scope keys made absolute against the map's own URL, as Deno reads them. */
function absoluteMap(raw: Record<string, unknown>, base: string): ImportMap {
    const absolute = (target: string) => (/^\.{0,2}\//.test(target) ? new URL(target, base).href : target);
    const table = (value: unknown): Record<string, string> =>
        Object.fromEntries(Object.entries((value && typeof value === 'object' ? value : {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string').map(([k, v]) => [absolute(k), absolute(v as string)]));
    const scopes = Object.fromEntries(Object.entries((raw.scopes && typeof raw.scopes === 'object' ? raw.scopes : {}) as Record<string, unknown>).map(([scope, map]) => [absolute(scope), table(map)]));
    return { imports: table(raw.imports), scopes };
}

/** The function's own Deno config (other keys, such as compilerOptions, are kept) and import map. */
function ownConfig(spec: FunctionSpec): { config: Record<string, unknown>; map: ImportMap } {
    if (!spec.denoConfig) return { config: {}, map: { imports: {}, scopes: {} } };
    const file = spec.denoConfig.file;
    const raw = readJson(file);
    if (spec.denoConfig.kind === 'import-map') return { config: {}, map: absoluteMap(raw, pathToFileURL(file).href) };
    const { imports, scopes, importMap, lock, nodeModulesDir, vendor, workspace, ...rest } = raw;
    void lock, nodeModulesDir, vendor, workspace;
    if (typeof importMap === 'string') {
        const mapFile = new URL(importMap, pathToFileURL(file)).href;
        return { config: rest, map: absoluteMap(readJson(fileURLToPath(mapFile)), mapFile) };
    }
    return { config: rest, map: absoluteMap({ imports, scopes }, pathToFileURL(file).href) };
}

/** Where `specifier` (imported from `referrer`) goes by the import map, and which table said so. */
export function resolveWithMap(map: ImportMap, specifier: string, referrer: string): { target: string; scope?: string } | undefined {
    const candidates = /^\.{0,2}\//.test(specifier) ? [new URL(specifier, referrer).href, specifier] : [specifier];
    const lookup = (table: Record<string, string>): string | undefined => {
        for (const key of candidates) {
            if (table[key] !== undefined) return table[key];
        }
        const key = candidates[0]!;
        let best: string | undefined;
        for (const prefix of Object.keys(table)) {
            const value = table[prefix]!;
            // Deno: a bare key mapped to npm:/jsr: also maps its subpaths.
            const matches = prefix.endsWith('/') ? key.startsWith(prefix) : /^(npm|jsr):/.test(value) && key.startsWith(`${prefix}/`);
            if (matches && (!best || prefix.length > best.length)) best = prefix;
        }
        return best === undefined ? undefined : table[best]! + key.slice(best.length);
    };
    const scopes = Object.keys(map.scopes)
        .filter((scope) => referrer === scope || (scope.endsWith('/') && referrer.startsWith(scope)))
        .sort((a, b) => b.length - a.length);
    for (const scope of scopes) {
        const target = lookup(map.scopes[scope]!);
        if (target !== undefined) return { target, scope };
    }
    const target = lookup(map.imports);
    return target === undefined ? undefined : { target };
}

/** The nearest node_modules above the function, else the stack's own. */
function nodeModulesFor(entrypoint: string): string {
    for (let dir = path.dirname(entrypoint); ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, 'node_modules');
        if (fs.existsSync(candidate)) return candidate;
        if (path.dirname(dir) === dir) return STACK_NODE_MODULES;
    }
}

/** Every import of the function's local module graph: as written, where its map sends it, from which scope. */
function scanImports(entrypoint: string, map: ImportMap): Array<{ written: string; target: string; scope?: string }> {
    const found = new Map<string, { written: string; target: string; scope?: string }>();
    const seen = new Set<string>();
    const queue = [pathToFileURL(entrypoint).href];
    while (queue.length && seen.size < MAX_FILES) {
        const url = queue.shift()!;
        if (seen.has(url)) continue;
        seen.add(url);
        let text: string;
        try {
            const file = fileURLToPath(url);
            if (!SOURCE.test(file) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
            text = fs.readFileSync(file, 'utf8');
        } catch {
            continue; // a missing file is Deno's to report
        }
        for (const match of text.matchAll(SPECIFIER)) {
            const written = (match[1] ?? match[2])!;
            const mapped = resolveWithMap(map, written, url);
            const target = mapped?.target ?? (/^\.{0,2}\//.test(written) ? new URL(written, url).href : written);
            if (target.startsWith('file:')) queue.push(target.split(/[?#]/)[0]!);
            else found.set(`${mapped?.scope ?? ''}\0${written}`, { written, target, ...(mapped?.scope ? { scope: mapped.scope } : {}) });
        }
    }
    return [...found.values()];
}

function writeAtomically(file: string, content: string): void {
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(temporary, content);
    fs.renameSync(temporary, file);
}

/**
 * Plans the imports of one function and writes its Deno config under `denoDir`. Throws when
 * the function's own config or import map cannot be read (the caller then lets Deno report it).
 */
export function planImports(spec: FunctionSpec, denoDir: string): ImportPlan {
    const { config, map } = ownConfig(spec);
    const nodeModules = nodeModulesFor(spec.entrypoint);
    const localize = (target: string) => offlineEquivalent(target, nodeModules);
    const imports: Record<string, string> = Object.fromEntries(Object.entries(map.imports).map(([k, v]) => [k, localize(v) ?? v]));
    const scopes: Record<string, Record<string, string>> = Object.fromEntries(
        Object.entries(map.scopes).map(([scope, table]) => [scope, Object.fromEntries(Object.entries(table).map(([k, v]) => [k, localize(v) ?? v]))]),
    );
    const localized: Record<string, string> = {};
    const remote = new Set<string>();
    for (const { written, target, scope } of scanImports(spec.entrypoint, map)) {
        const local = localize(target);
        if (local) {
            (scope ? scopes[scope]! : imports)[written] = local;
            localized[written] = local;
        } else if (isRemote(target)) {
            remote.add(target);
        }
    }
    const hosts = [...new Set([...remote].map((specifier) => (specifier.startsWith('jsr:') ? 'https://jsr.io' : new URL(specifier).origin)))];

    // Deno takes node_modules from beside the config's package.json: a folder per node_modules used.
    const folder = path.join(denoDir, 'import-maps', createHash('sha1').update(nodeModules).digest('hex').slice(0, 12));
    fs.mkdirSync(folder, { recursive: true });
    const link = path.join(folder, 'node_modules');
    if (!fs.existsSync(link)) {
        try {
            fs.symlinkSync(nodeModules, link, 'junction');
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
    }
    if (!fs.existsSync(path.join(folder, 'package.json'))) writeAtomically(path.join(folder, 'package.json'), '{ "private": true }\n');
    const configFile = path.join(folder, `${spec.name}.json`);
    const generated = { ...config, nodeModulesDir: 'manual', lock: false, imports, ...(Object.keys(scopes).length ? { scopes } : {}) };
    writeAtomically(configFile, `${JSON.stringify(generated, null, 2)}\n`);
    return { configFile, localized, remote: [...remote], hosts, nodeModules };
}

const reachability = new Map<string, { ok: boolean; at: number }>();

/**
 * Whether a TCP connection to the origin (`https://deno.land`) opens within `timeoutMs` —
 * the honest test of "is there a network to fetch this import from": name resolution and a
 * route to the host, without sending a request. Remembered for 10 s per origin.
 */
export function reachable(origin: string, timeoutMs = 1_500): Promise<boolean> {
    const now = Date.now();
    const known = reachability.get(origin);
    if (known && now - known.at < 10_000) return Promise.resolve(known.ok);
    const url = new URL(origin);
    const port = Number(url.port) || (url.protocol === 'http:' ? 80 : 443);
    return new Promise((resolve) => {
        const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
        const done = (ok: boolean) => {
            socket.destroy();
            reachability.set(origin, { ok, at: now });
            resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once('error', () => done(false));
        socket.once('connect', () => done(true));
    });
}

/**
 * A boot failure in terms of the import that caused it, when Deno's error names one the
 * stack could not resolve; undefined when the error is about something else.
 */
export function explainBootError(error: string, plan: ImportPlan, offline: boolean): string | undefined {
    const missingPackage = /Could not find a matching package for '(npm:[^']+)'/.exec(error)?.[1];
    if (missingPackage) return `import "${missingPackage}" cannot be resolved: no matching package in ${plan.nodeModules} (add it with npm install)`;
    for (const specifier of plan.remote) {
        const names = [specifier, specifier.startsWith('jsr:') ? /^jsr:(@[^/@]+\/[^/@]+)/.exec(specifier)?.[1] : undefined].filter((n): n is string => !!n);
        if (!names.some((name) => error.includes(name))) continue;
        return offline
            ? `import "${specifier}" cannot be resolved offline: no network to fetch it and it is not in Deno's cache; offline the stack resolves only the imports listed in docs/functions.md`
            : `import "${specifier}" could not be loaded: ${error.split('\n').find((line) => line.includes(names.at(-1)!))?.trim() ?? 'fetch failed'}`;
    }
    return undefined;
}
