// Benchmark: /storage/v1 uploads and downloads of 1 KB, 1 MB and 50 MB objects through the
// gateway (supabase-js's storage client: JWT, RLS probe, streaming to disk, fsync, commit),
// next to plain file-system writes (with fsync, as Storage does) and reads of the same sizes
// in the same run; and image transform latency (sharp) for a 1600×1200 JPEG.
//
//   npm run bench:storage [-- --rounds 5]
//
// Starts its own throwaway Postgres cluster with the Supabase platform (storage schema).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { ProjectConfig } from '../stack/config.js';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { createPgClient } from '../stack/db/connect.js';
import { applyPlatform } from '../stack/db/platform.js';
import { createGateway } from '../stack/gateway/index.js';
import { apiKeysFor } from '../stack/gateway/keys.js';
import { listen } from '../stack/http.js';
import { LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../stack/keys.js';
import { createStorageService } from '../stack/storage/index.js';
import { testClient } from '../test/stack/gateway/supabase-client.js';
import { mean, percentile } from './stats.js';

const args = process.argv.slice(2);
const ROUNDS = (() => {
    const i = args.indexOf('--rounds');
    return i >= 0 ? Number(args[i + 1]) : 5;
})();

const SIZES = [
    { label: '1 KB', bytes: 1024, rounds: ROUNDS * 20 },
    { label: '1 MB', bytes: 1024 * 1024, rounds: ROUNDS * 4 },
    { label: '50 MB', bytes: 50 * 1024 * 1024, rounds: ROUNDS },
];

const mbps = (bytes: number, ms: number) => (bytes / (1024 * 1024) / (ms / 1000)).toPrecision(3);

async function time(fn: () => Promise<void>): Promise<number> {
    const started = performance.now();
    await fn();
    return performance.now() - started;
}

const { cluster, dispose } = await startThrowawayCluster('tillbase-bench-storage');
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-bench-storage-'));
const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-bench-plain-'));
try {
    const admin = createPgClient(cluster.url());
    await admin.connect();
    await admin.query('create database bench');
    await admin.end();
    const dbUrl = cluster.url('bench');
    await applyPlatform(dbUrl);

    const jwt = { secret: LOCAL_JWT_SECRET, signingKeys: [] };
    const config = { project_id: 'bench', workdir: storageDir, raw: { storage: { file_size_limit: '100MiB', image_transformation: { enabled: true } } }, auth: {} } as unknown as ProjectConfig;
    const service = await createStorageService({ dbUrl, config, jwt, dataDir: storageDir, seed: false, log: () => {} });
    const gateway = await listen(createGateway({ routes: { '/storage/v1': service.handler }, keys: await apiKeysFor(jwt), jwt, accessLog: () => {} }), {
        port: 0,
        streamBodies: (p) => p.startsWith('/storage/v1/'),
    });
    const client = testClient(gateway.url, LOCAL_SERVICE_ROLE_KEY);
    await client.storage.createBucket('bench', { public: true });
    const bucket = client.storage.from('bench');

    console.log(`storage benchmark: ${os.cpus().length} CPUs, ${ROUNDS} base rounds (1 KB ×20, 1 MB ×4, 50 MB ×1)\n`);
    console.log('size    | storage upload | storage download | fs write+fsync | fs read');
    console.log('--------|----------------|------------------|----------------|--------');
    for (const size of SIZES) {
        const data = randomBytes(size.bytes);
        const up: number[] = [];
        const down: number[] = [];
        const write: number[] = [];
        const read: number[] = [];
        for (let i = 0; i < size.rounds; i++) {
            const key = `${size.label.replace(' ', '')}/${i}.bin`;
            up.push(
                await time(async () => {
                    const { error } = await bucket.upload(key, data, { contentType: 'application/octet-stream', upsert: true });
                    if (error) throw error;
                }),
            );
            down.push(
                await time(async () => {
                    const { data: blob, error } = await bucket.download(key);
                    if (error || blob!.size !== size.bytes) throw error ?? new Error('short download');
                }),
            );
            const file = path.join(plainDir, `${i}.bin`);
            write.push(
                await time(async () => {
                    const handle = await fsp.open(file, 'w');
                    await handle.writeFile(data);
                    await handle.sync();
                    await handle.close();
                }),
            );
            read.push(
                await time(async () => {
                    await fsp.readFile(file);
                }),
            );
        }
        const cell = (samples: number[]) => `${mbps(size.bytes, mean(samples)).padStart(7)} MB/s`.padEnd(14);
        console.log(`${size.label.padEnd(7)} | ${cell(up)} | ${cell(down).padEnd(16)} | ${cell(write)} | ${mbps(size.bytes, mean(read))} MB/s`);
        console.log(`        | p50 ${percentile(up, 50).toFixed(1)} ms`.padEnd(25) + `| p50 ${percentile(down, 50).toFixed(1)} ms`.padEnd(19) + `| p50 ${percentile(write, 50).toFixed(1)} ms`.padEnd(17) + `| p50 ${percentile(read, 50).toFixed(2)} ms`);
    }

    const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 120, g: 80, b: 40 } } })
        .composite([{ input: Buffer.from('<svg width="1600" height="1200"><circle cx="800" cy="600" r="400" fill="#3a6b5c"/></svg>') }])
        .jpeg({ quality: 90 })
        .toBuffer();
    await bucket.upload('photo.jpg', photo, { contentType: 'image/jpeg', upsert: true });
    console.log('\nimage transform of a 1600×1200 JPEG (public render URL)');
    for (const [label, query] of [
        ['200×200 cover, jpeg', 'width=200&height=200'],
        ['400 wide, webp', 'width=400&format=webp'],
        ['400 wide, avif', 'width=400&format=avif'],
    ] as const) {
        const samples: number[] = [];
        for (let i = 0; i < ROUNDS * 4; i++) {
            samples.push(
                await time(async () => {
                    const response = await fetch(`${gateway.url}/storage/v1/render/image/public/bench/photo.jpg?${query}`);
                    await response.arrayBuffer();
                    if (response.status !== 200) throw new Error(`render: ${response.status}`);
                }),
            );
        }
        console.log(`  ${label.padEnd(22)} p50 ${percentile(samples, 50).toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms`);
    }
    await gateway.close();
    await service.close();
} finally {
    fs.rmSync(storageDir, { recursive: true, force: true });
    fs.rmSync(plainDir, { recursive: true, force: true });
    await dispose();
}
