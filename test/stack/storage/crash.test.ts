// Crash safety: the storage process is killed (SIGKILL) in the middle of uploads — while
// bytes stream in, and between writing an object's file and committing its row — and
// after a restart no partial object is visible, no row points at a missing file, no file
// is left without a row, and objects committed before the crash are intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProjectConfig } from '../../../stack/config.js';
import { LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { PROJECT_ROOT } from '../../../stack/paths.js';
import { createStorageService } from '../../../stack/storage/index.js';
import { useTestDatabase } from '../../harness/db.js';

const db = useTestDatabase();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-storage-crash-'));
const children: ChildProcess[] = [];
const auth = { authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}` };
const KEPT = Buffer.from('committed before any crash');

async function startServer(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; exited: Promise<void> }> {
    // `node --import tsx`, not the tsx wrapper: the killed pid must be the server itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/storage/server.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, STORAGE_DB_URL: db.url, STORAGE_DATA_DIR: dataDir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await vi.waitFor(
        () => {
            if (child.exitCode !== null) throw new Error(`server exited early: ${out}`);
            expect(out).toMatch(/listening (\S+)/);
        },
        { timeout: 30_000, interval: 50 },
    );
    return { url: /listening (\S+)/.exec(out)![1]!, child, exited };
}

/** Restarts the service in this process on the same database and directory: the startup sweep runs. */
async function restartService() {
    const config = { project_id: 'crash', workdir: dataDir, raw: {}, auth: {} } as unknown as ProjectConfig;
    return createStorageService({ dbUrl: db.url, config, jwt: { secret: LOCAL_JWT_SECRET, signingKeys: [] }, dataDir, seed: false, log: () => {} });
}

async function restart() {
    const service = await restartService();
    await service.close();
    return service.startup;
}

const filesIn = (dir: string): string[] =>
    fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesIn(path.join(dir, e.name)) : [path.join(dir, e.name)])) : [];

/** Every row has its file and every file its row. */
async function expectConsistent() {
    const rows = await db.query<{ version: string }>(`select version from storage.objects`);
    const files = filesIn(path.join(dataDir, 'objects')).map((f) => path.basename(f));
    expect(files.sort()).toEqual(rows.map((r) => r.version).sort());
    expect(filesIn(path.join(dataDir, 'tmp'))).toEqual([]);
}

const objectNamed = (name: string) => db.query(`select 1 from storage.objects where bucket_id = 'crash' and name = $1`, [name]);

beforeAll(async () => {
    await db.query(`insert into storage.buckets (id, name) values ('crash', 'crash')`);
    const { url, child, exited } = await startServer();
    const response = await fetch(`${url}/object/crash/kept.bin`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: KEPT });
    expect(response.status).toBe(200);
    child.kill('SIGKILL');
    await exited;
});

afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('killing the storage process during uploads', { timeout: 120_000 }, () => {
    it('mid-stream: no row, only a temp file, which the restart removes', async () => {
        const { url, child, exited } = await startServer();
        const body = new ReadableStream<Uint8Array>({
            start(controller) {
                controller.enqueue(new Uint8Array(256 * 1024).fill(7)); // …and never closes
            },
        });
        const abort = new AbortController();
        const upload = fetch(`${url}/object/crash/partial.bin`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body, duplex: 'half', signal: abort.signal } as RequestInit).catch(() => undefined);
        await vi.waitFor(() => expect(filesIn(path.join(dataDir, 'tmp')).some((f) => fs.statSync(f).size > 0)).toBe(true), { timeout: 10_000, interval: 20 });
        child.kill('SIGKILL');
        await exited;
        abort.abort();
        await upload;
        expect(await objectNamed('partial.bin')).toEqual([]);
        const startup = await restart();
        expect(startup.temp).toBeGreaterThanOrEqual(1);
        await expectConsistent();
    });

    it('between the file and the row: the orphan file is removed at restart, nothing else changes', async () => {
        const before = filesIn(path.join(dataDir, 'objects')).length;
        const { url, exited } = await startServer({ CRASH_AFTER_FILE: '1' });
        await fetch(`${url}/object/crash/orphan.bin`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1000, 1) }).catch(() => undefined);
        await exited;
        expect(filesIn(path.join(dataDir, 'objects')).length).toBe(before + 1);
        expect(await objectNamed('orphan.bin')).toEqual([]);
        const startup = await restart();
        expect(startup.orphans).toBe(1);
        await expectConsistent();
    });

    it('an overwrite killed before its commit leaves the previous bytes served', async () => {
        const { url, exited } = await startServer({ CRASH_AFTER_FILE: '1' });
        await fetch(`${url}/object/crash/kept.bin`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: Buffer.from('new bytes that never land') }).catch(() => undefined);
        await exited;
        const service = await restartService();
        try {
            await expectConsistent();
            const response = await service.handler(new Request('http://storage.local/object/crash/kept.bin', { headers: auth }), { remoteAddr: '127.0.0.1' });
            const bytes = Buffer.from(await response.arrayBuffer());
            expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(KEPT).digest('hex'));
        } finally {
            await service.close();
        }
    });
});
