// The local stand-in for pg_cron + pg_net. Time is an injected clock: the tests move it
// and call tick(); nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../../stack/gateway/index.js';
import { apiKeysFor } from '../../../stack/gateway/keys.js';
import { listen, type FetchHandler, type Listening } from '../../../stack/http.js';
import { LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from '../../../stack/keys.js';
import { dueSlot, parseSchedule } from '../../../stack/scheduler/cron.js';
import { createScheduler, invokeThroughGateway, jobsFromDatabase, type ScheduledJob } from '../../../stack/scheduler/index.js';
import { useTestDatabase } from '../../harness/db.js';

const at = (iso: string) => new Date(`2026-11-21T${iso}Z`);
const everyMinute: ScheduledJob = { name: 'sync', schedule: '* * * * *', functionName: 'erp-sync', body: {}, timeoutMs: 2000 };

function deferred() {
    let resolve!: (status: number) => void;
    const promise = new Promise<number>((r) => (resolve = r));
    return { promise, resolve };
}

function harness(jobs: ScheduledJob[]) {
    let clock = at('10:00:00');
    const calls: Array<{ job: string; at: Date; done: ReturnType<typeof deferred> }> = [];
    const scheduler = createScheduler({
        loadJobs: async () => jobs,
        invoke: (job) => {
            const done = deferred();
            calls.push({ job: job.name, at: clock, done });
            return done.promise;
        },
        now: () => clock,
        log: () => {},
    });
    return {
        scheduler,
        calls,
        setClock: (iso: string) => (clock = at(iso)),
        finishAll: () => calls.forEach((c) => c.done.resolve(200)),
    };
}

describe('schedules (pg_cron syntax)', () => {
    it('matches five-field cron expressions in UTC', () => {
        const quarterHours = parseSchedule('*/15 9-17 * * mon-fri');
        expect(dueSlot(quarterHours, new Date('2026-11-20T09:30:00Z'))).toBeDefined(); // a Friday
        expect(dueSlot(quarterHours, new Date('2026-11-20T09:31:00Z'))).toBeUndefined();
        expect(dueSlot(quarterHours, new Date('2026-11-21T09:30:00Z'))).toBeUndefined(); // a Saturday
    });

    it('supports the last day of the month ($) and "<n> seconds"', () => {
        expect(dueSlot(parseSchedule('0 0 $ * *'), new Date('2026-11-30T00:00:10Z'))).toBeDefined();
        expect(dueSlot(parseSchedule('0 0 $ * *'), new Date('2026-11-29T00:00:10Z'))).toBeUndefined();
        const fiveSeconds = parseSchedule('5 seconds');
        expect(dueSlot(fiveSeconds, at('10:00:01'))).toBe(dueSlot(fiveSeconds, at('10:00:04')));
        expect(dueSlot(fiveSeconds, at('10:00:05'))).not.toBe(dueSlot(fiveSeconds, at('10:00:04')));
    });

    it('rejects what pg_cron rejects', () => {
        expect(() => parseSchedule('61 * * * *')).toThrow(/minute/);
        expect(() => parseSchedule('* * * *')).toThrow(/five cron fields/);
        expect(() => parseSchedule('90 seconds')).toThrow(/1 to 59/);
    });
});

describe('running due jobs', () => {
    it('invokes a due job once per slot however often it ticks', async () => {
        const h = harness([everyMinute]);
        await h.scheduler.tick();
        h.setClock('10:00:30');
        await h.scheduler.tick();
        h.finishAll();
        await h.scheduler.idle();
        h.setClock('10:00:59');
        await h.scheduler.tick();
        expect(h.calls.map((c) => c.job)).toEqual(['sync']);
        h.setClock('10:01:00');
        await h.scheduler.tick();
        expect(h.calls).toHaveLength(2);
    });

    it('never runs a job twice at the same time: a due slot is skipped while the previous run is in flight', async () => {
        const h = harness([everyMinute]);
        await h.scheduler.tick();
        h.setClock('10:01:00');
        await h.scheduler.tick();
        expect(h.calls).toHaveLength(1);
        h.finishAll();
        await h.scheduler.idle();
        h.setClock('10:01:30');
        await h.scheduler.tick();
        expect(h.calls).toHaveLength(1);
        h.setClock('10:02:00');
        await h.scheduler.tick();
        expect(h.calls).toHaveLength(2);
    });

    it('runs different jobs independently and ignores jobs that are not due', async () => {
        const hourly = { ...everyMinute, name: 'hourly', schedule: '0 * * * *' };
        const h = harness([everyMinute, hourly, { ...everyMinute, name: 'broken', schedule: 'not a schedule' }]);
        h.setClock('10:00:00');
        await h.scheduler.tick();
        h.setClock('10:01:00');
        await h.scheduler.tick();
        expect(h.calls.map((c) => c.job)).toEqual(['sync', 'hourly']);
        h.finishAll();
        await h.scheduler.idle();
    });
});

describe('the declared schedule and the call through the gateway', () => {
    const db = useTestDatabase();
    let gateway: Listening;
    const received: Array<{ path: string; authorization: string | null; body: unknown }> = [];

    beforeAll(async () => {
        const jwt = { secret: LOCAL_JWT_SECRET, signingKeys: [] };
        const keys = await apiKeysFor(jwt);
        const functions: FetchHandler = async (request) => {
            received.push({ path: new URL(request.url).pathname, authorization: request.headers.get('authorization'), body: await request.json() });
            return Response.json({ ok: true });
        };
        gateway = await listen(createGateway({ routes: { '/functions/v1': functions }, keys, jwt, accessLog: () => {} }), { port: 0 });
    });
    afterAll(() => gateway?.close());

    it('reads enabled jobs from scheduler.jobs and calls the function as service_role with the body', async () => {
        // This database's own schedule: without the jobs the project's migrations declare.
        await db.query('delete from scheduler.jobs');
        await db.query(
            `insert into scheduler.jobs (name, schedule, function_name, body, enabled)
             values ('erp-sync', '*/5 * * * *', 'erp-sync', '{"batch": 50}', true),
                    ('paused', '* * * * *', 'erp-sync', '{}', false)`,
        );
        const source = jobsFromDatabase(db.url);
        try {
            const jobs = await source.loadJobs();
            expect(jobs).toEqual([{ name: 'erp-sync', schedule: '*/5 * * * *', functionName: 'erp-sync', body: { batch: 50 }, timeoutMs: 2000 }]);
            const scheduler = createScheduler({
                loadJobs: source.loadJobs,
                invoke: invokeThroughGateway(gateway.url, { serviceRole: LOCAL_SERVICE_ROLE_KEY, secret: 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz' }),
                now: () => at('10:05:00'),
                log: () => {},
            });
            await scheduler.tick();
            await scheduler.idle();
            expect(received).toEqual([{ path: '/erp-sync', authorization: `Bearer ${LOCAL_SERVICE_ROLE_KEY}`, body: { batch: 50 } }]);
        } finally {
            await source.close();
        }
    });

    it('keeps the schedule out of reach of API roles', async () => {
        await expect(db.asAnon((q) => q('select * from scheduler.jobs'))).rejects.toThrow(/permission denied/);
        await expect(db.asUser({ sub: '00000000-0000-0000-0000-000000000001' }, (q) => q('select * from scheduler.jobs'))).rejects.toThrow(/permission denied/);
    });

    it('leaves pg_cron alone where it does not exist (local PostgreSQL)', async () => {
        const [row] = await db.query<{ command: string }>(`select scheduler.cron_command('erp-sync', '{"a":1}', 2000) as command`);
        expect(row!.command).toContain(`/functions/v1/erp-sync`);
        expect(row!.command).toContain(`'{"a": 1}'::jsonb`);
        await db.query(`update scheduler.jobs set schedule = '0 * * * *' where name = 'erp-sync'`);
    });
});
