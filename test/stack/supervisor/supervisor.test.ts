// The supervisor on fake components: restarts with backoff after a crash, gives up after
// fast failures and says so, reports live health truthfully, isolates a component that
// fails to start. Time is injected: backoff delays are recorded, never slept.
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLine } from '../../../stack/log.js';
import type { ComponentHandle } from '../../../stack/supervisor/component.js';
import { Supervisor } from '../../../stack/supervisor/supervisor.js';

function harness(policy = {}) {
    const lines: LogLine[] = [];
    const delays: number[] = [];
    let now = 1_000_000;
    const supervisor = new Supervisor({
        log: createLogger('stack', (line) => lines.push(JSON.parse(line) as LogLine)),
        policy,
        sleep: async (ms) => {
            delays.push(ms);
            now += ms;
        },
        now: () => now,
    });
    return { supervisor, lines, delays, advance: (ms: number) => (now += ms) };
}

/** A component whose process can be "killed" by the test. */
function crashable() {
    let kill!: (cause: string) => void;
    let starts = 0;
    const run = async (): Promise<ComponentHandle> => {
        starts++;
        return { stop: async () => {}, exited: new Promise<string>((resolve) => (kill = resolve)), pids: () => [4200 + starts] };
    };
    return { run, kill: (cause: string) => kill(cause), starts: () => starts };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('supervisor', () => {
    it('restarts a component whose process died, counting and logging the restart with its cause', async () => {
        const { supervisor, lines, delays, advance } = harness();
        const db = crashable();
        await supervisor.component('database', db.run);
        advance(60_000);
        db.kill('PostgreSQL was killed by SIGKILL');
        await settle();
        await settle();
        expect(db.starts()).toBe(2);
        expect(delays).toEqual([250]);
        expect(supervisor.reports().database).toMatchObject({ state: 'running', restarts: 1, pids: [4202], last_error: { message: 'PostgreSQL was killed by SIGKILL' } });
        expect(lines.filter((l) => l.component === 'database').map((l) => [l.level, l.msg])).toEqual([
            ['error', 'database stopped unexpectedly: PostgreSQL was killed by SIGKILL; restarting it'],
            ['info', 'database restarted (restart 1) after: PostgreSQL was killed by SIGKILL'],
        ]);
    });

    it('backs off exponentially while restarts fail, then gives up and says so in status and log', async () => {
        const { supervisor, lines, delays } = harness({ maxFastFailures: 4 });
        let kill!: (cause: string) => void;
        let attempts = 0;
        await supervisor.component('database', async () => {
            if (attempts++ > 0) throw new Error('pre-existing shared memory block is still in use');
            return { stop: async () => {}, exited: new Promise<string>((resolve) => (kill = resolve)) };
        });
        kill('PostgreSQL exited with code 1');
        for (let i = 0; i < 10; i++) await settle();
        expect(delays).toEqual([250, 500, 1000, 2000]);
        const report = supervisor.reports().database!;
        expect(report.state).toBe('failed');
        expect(report.reason).toMatch(/^gave up after 5 failures within 30 s: pre-existing shared memory block is still in use/);
        expect(supervisor.summary().database).toMatch(/^failed: gave up after 5 failures/);
        const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
        // the crash, the first failed attempt (once for the streak), the give-up
        expect(errors).toHaveLength(3);
        expect(errors[2]).toMatch(/^database is down: gave up/);
    });

    it('reports a component that failed to start while the others run', async () => {
        const { supervisor } = harness();
        await supervisor.component('rest', async () => ({ stop: async () => {} }));
        const handle = await supervisor.component('fake', async () => {
            throw new Error('port 9999 on 127.0.0.1 is already in use');
        });
        expect(handle).toBeUndefined();
        expect(supervisor.summary()).toEqual({ rest: 'running', fake: 'failed: port 9999 on 127.0.0.1 is already in use' });
        await expect(supervisor.component('db', async () => Promise.reject(new Error('no binaries')), { required: true })).rejects.toThrow('no binaries');
    });

    it('reports live health: unhealthy with the reason (logged once), degraded, then healthy again', async () => {
        const { supervisor, lines } = harness();
        let health: () => Promise<{ degraded?: string } | void> = async () => {};
        await supervisor.component('rest', async () => ({ stop: async () => {}, health: () => health() }));
        health = async () => {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        };
        await supervisor.check();
        await supervisor.check();
        expect(supervisor.summary().rest).toBe('unhealthy: connect ECONNREFUSED 127.0.0.1:5432');
        health = async () => ({ degraded: '1 of 2 function(s) cannot run' });
        await supervisor.check();
        expect(supervisor.summary().rest).toBe('degraded: 1 of 2 function(s) cannot run');
        health = async () => {};
        await supervisor.check();
        expect(supervisor.summary().rest).toBe('running');
        expect(supervisor.reports().rest!.last_error?.message).toBe('connect ECONNREFUSED 127.0.0.1:5432');
        expect(lines.map((l) => l.msg)).toEqual(['rest is unhealthy: connect ECONNREFUSED 127.0.0.1:5432', 'rest is degraded: 1 of 2 function(s) cannot run', 'rest is healthy again']);
    });

    it('counts a health check that does not answer in time as failed', async () => {
        const lines: LogLine[] = [];
        const supervisor = new Supervisor({ log: createLogger('stack', (l) => lines.push(JSON.parse(l) as LogLine)), healthTimeoutMs: 20 });
        await supervisor.component('auth', async () => ({ stop: async () => {}, health: () => new Promise<void>(() => {}) }));
        await supervisor.check();
        expect(supervisor.summary().auth).toBe('unhealthy: no answer within 20 ms');
    });

    it('stops components last-started first and does not restart what dies while stopping', async () => {
        const { supervisor } = harness();
        const stopped: string[] = [];
        const db = crashable();
        await supervisor.component('database', async () => ({ ...(await db.run()), stop: async () => void stopped.push('database') }));
        await supervisor.component('rest', async () => ({ stop: async () => void stopped.push('rest') }));
        await supervisor.stopAll();
        db.kill('PostgreSQL exited with code 0');
        await settle();
        expect(stopped).toEqual(['rest', 'database']);
        expect(db.starts()).toBe(1);
        expect(supervisor.summary()).toEqual({ database: 'stopped', rest: 'stopped' });
    });
});
