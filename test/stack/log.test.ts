// The stack's structured log: the line shape every component writes, error causes, and
// once-per-streak logging of retried failures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, createStreak, fileSink, teeSink, type LogLine } from '../../stack/log.js';

function capture() {
    const lines: string[] = [];
    const parsed = () => lines.map((l) => JSON.parse(l) as LogLine);
    return { lines, parsed, sink: (line: string) => lines.push(line) };
}

const clock = () => new Date('2026-11-26T10:00:00.000Z');

describe('logger', () => {
    it('writes one JSON line per event with level, time, component and msg first, then the fields', () => {
        const out = capture();
        createLogger('rest', out.sink, clock).info('request served', { request_id: 'r-1', status: 200 });
        expect(out.lines).toEqual(['{"level":"info","time":"2026-11-26T10:00:00.000Z","component":"rest","msg":"request served","request_id":"r-1","status":200}']);
    });

    it('describes an error field by message, SQLSTATE and cause chain', () => {
        const out = capture();
        const cause = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
        createLogger('auth', out.sink, clock).error('query failed', { error: new Error('sign-in failed', { cause }) });
        expect(out.parsed()[0]!.error).toEqual({ message: 'sign-in failed', cause: { message: 'terminating connection due to administrator command', code: '57P01' } });
    });

    it('never lets a field override level, time, component or msg', () => {
        const out = capture();
        createLogger('functions', out.sink, clock).write({ level: 'warn', msg: 'from a function', component: 'forged', time: 'forged', function: 'hello' });
        expect(out.parsed()[0]).toEqual({ level: 'warn', time: '2026-11-26T10:00:00.000Z', component: 'functions', msg: 'from a function', function: 'hello' });
    });

    it('tees lines to a file that keeps the previous run as .1', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillbase-log-'));
        const file = path.join(dir, 'stack.log');
        fs.writeFileSync(file, 'previous run\n');
        const out = capture();
        const logFile = fileSink(file);
        createLogger('stack', teeSink(out.sink, logFile.sink), clock).info('ready');
        logFile.close();
        expect(fs.readFileSync(file, 'utf8')).toBe(`${out.lines[0]}\n`);
        expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('previous run\n');
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

describe('streaks', () => {
    it('logs a retried failure once when it starts and once when it recovers, not per attempt', () => {
        const out = capture();
        let now = 0;
        const streak = createStreak(createLogger('rest', out.sink, clock), 'database connection', () => now);
        for (let attempt = 0; attempt < 50; attempt++) {
            streak.fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
            now += 100;
        }
        expect(streak.failing).toBe(true);
        streak.succeed();
        streak.succeed();
        expect(out.parsed().map((l) => [l.level, l.msg])).toEqual([
            ['error', 'database connection failed: connect ECONNREFUSED 127.0.0.1:5432; retrying (logged once until it recovers)'],
            ['info', 'database connection recovered after 50 failed attempt(s) in 5.0 s'],
        ]);
        streak.fail(new Error('again'));
        expect(out.lines).toHaveLength(3);
    });
});
