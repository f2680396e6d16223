// The bytes of objects, on local disk (never in the database). Each write of an object is a
// new immutable file named by a fresh version id — `objects/<v[0..1]>/<version>` — which
// the object's row points at. Names never reach the file system, so no key can escape
// the directory.
//
// Crash safety comes from the order of operations, which callers follow:
//   write: bytes → tmp/<id> (fsync) → rename to objects/… (fsync dir) → commit the row
//          → remove the replaced version;
//   delete: commit the row's deletion → remove the file.
// So a committed row never points at a missing or partial file, and a crash leaves at
// worst a temp file or a file no row points at — both removed by `sweep` at startup.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from './errors.js';

export interface StoredBlob {
    version: string;
    size: number;
    /** Hex MD5 of the bytes (the ETag, as S3 computes it for a single-part upload). */
    md5: string;
    lastModified: Date;
}

export interface BlobStore {
    readonly root: string;
    /** Streams `source` into a new version; throws EntityTooLarge past `limit` bytes, leaving nothing behind. */
    write(source: Readable | ReadableStream<Uint8Array>, limit: number): Promise<StoredBlob>;
    /** Makes an existing file (same file system, e.g. a finished resumable upload) a new version. */
    adopt(file: string): Promise<StoredBlob>;
    /** A new version with the same bytes (copy, move): a hard link, the files being immutable. */
    duplicate(version: string): Promise<StoredBlob>;
    stat(version: string): Promise<{ size: number; lastModified: Date } | undefined>;
    read(version: string, range?: { start: number; end: number }): Readable;
    path(version: string): string;
    remove(version: string | null | undefined): Promise<void>;
    /** Removes temp files and every version not in `keep`; returns what it removed. */
    sweep(keep: Set<string>): Promise<{ temp: number; orphans: number }>;
}

const VERSION = /^[0-9a-f-]{36}$/;

export function createBlobStore(root: string): BlobStore {
    const objectsDir = path.join(root, 'objects');
    const tmpDir = path.join(root, 'tmp');
    fs.mkdirSync(objectsDir, { recursive: true });
    fs.mkdirSync(tmpDir, { recursive: true });

    const pathOf = (version: string) => {
        if (!VERSION.test(version)) throw errors.noSuchKey();
        return path.join(objectsDir, version.slice(0, 2), version);
    };

    const fsyncDir = async (dir: string) => {
        const handle = await fsp.open(dir, 'r');
        try {
            await handle.sync();
        } finally {
            await handle.close();
        }
    };

    /** Moves a complete, synced file into place under a new version. */
    const publish = async (file: string, size: number, md5: string): Promise<StoredBlob> => {
        const version = randomUUID();
        const target = pathOf(version);
        await fsp.mkdir(path.dirname(target), { recursive: true });
        await fsp.rename(file, target);
        await fsyncDir(path.dirname(target));
        const { mtime } = await fsp.stat(target);
        return { version, size, md5, lastModified: mtime };
    };

    const md5Of = async (file: string) => {
        const hash = createHash('md5');
        await pipeline(fs.createReadStream(file), hash);
        return hash.digest('hex');
    };

    return {
        root,
        async write(source, limit) {
            const temp = path.join(tmpDir, randomUUID());
            const hash = createHash('md5');
            let size = 0;
            const meter = new Transform({
                transform(chunk: Buffer, _encoding, done) {
                    size += chunk.length;
                    if (size > limit) return done(errors.entityTooLarge());
                    hash.update(chunk);
                    done(null, chunk);
                },
            });
            const out = fs.createWriteStream(temp, { flags: 'wx' });
            try {
                await pipeline(source as Readable, meter, out);
                const handle = await fsp.open(temp, 'r+');
                try {
                    await handle.sync();
                } finally {
                    await handle.close();
                }
                return await publish(temp, size, hash.digest('hex'));
            } catch (error) {
                await fsp.rm(temp, { force: true });
                throw error;
            }
        },
        async adopt(file) {
            const { size } = await fsp.stat(file);
            const md5 = await md5Of(file);
            const handle = await fsp.open(file, 'r+');
            try {
                await handle.sync();
            } finally {
                await handle.close();
            }
            return publish(file, size, md5);
        },
        async duplicate(version) {
            const source = pathOf(version);
            const copy = randomUUID();
            const target = pathOf(copy);
            await fsp.mkdir(path.dirname(target), { recursive: true });
            try {
                await fsp.link(source, target);
            } catch (error) {
                if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw errors.noSuchKey();
                throw error;
            }
            await fsyncDir(path.dirname(target));
            const stat = await fsp.stat(target);
            return { version: copy, size: stat.size, md5: await md5Of(target), lastModified: stat.mtime };
        },
        async stat(version) {
            try {
                const stat = await fsp.stat(pathOf(version));
                return { size: stat.size, lastModified: stat.mtime };
            } catch {
                return undefined;
            }
        },
        read(version, range) {
            // Large chunks: each one crosses several web-stream hops (service, gateway, HTTP).
            return fs.createReadStream(pathOf(version), { highWaterMark: 1024 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
        },
        path: pathOf,
        async remove(version) {
            if (!version || !VERSION.test(version)) return;
            await fsp.rm(pathOf(version), { force: true });
        },
        async sweep(keep) {
            let temp = 0;
            let orphans = 0;
            for (const entry of await fsp.readdir(tmpDir)) {
                await fsp.rm(path.join(tmpDir, entry), { force: true, recursive: true });
                temp++;
            }
            for (const shard of await fsp.readdir(objectsDir)) {
                const dir = path.join(objectsDir, shard);
                for (const version of await fsp.readdir(dir)) {
                    if (keep.has(version)) continue;
                    await fsp.rm(path.join(dir, version), { force: true });
                    orphans++;
                }
            }
            return { temp, orphans };
        },
    };
}
