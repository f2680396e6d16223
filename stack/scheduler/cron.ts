// The schedule syntax pg_cron accepts: five cron fields (minute hour day-of-month month
// day-of-week; `*`, lists, ranges, steps, `$` = last day of month) or `'<n> seconds'`.
// Times are UTC, as pg_cron's default.

export type Schedule =
    | { kind: 'cron'; minute: Set<number>; hour: Set<number>; dayOfMonth: Set<number> | 'last'; month: Set<number>; dayOfWeek: Set<number>; domStar: boolean; dowStar: boolean }
    | { kind: 'seconds'; every: number };

export class ScheduleError extends Error {}

const FIELDS = [
    { name: 'minute', min: 0, max: 59 },
    { name: 'hour', min: 0, max: 23 },
    { name: 'day of month', min: 1, max: 31 },
    { name: 'month', min: 1, max: 12 },
    { name: 'day of week', min: 0, max: 7 },
] as const;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export function parseSchedule(text: string): Schedule {
    const trimmed = text.trim();
    const seconds = /^(\d+)\s+seconds?$/i.exec(trimmed);
    if (seconds) {
        const every = Number(seconds[1]);
        if (every < 1 || every > 59) throw new ScheduleError(`"${text}": pg_cron accepts 1 to 59 seconds`);
        return { kind: 'seconds', every };
    }
    const parts = trimmed.split(/\s+/);
    if (parts.length !== 5) throw new ScheduleError(`"${text}": expected five cron fields or "<n> seconds"`);
    const sets = parts.map((part, i) => (i === 2 && part === '$' ? 'last' : parseField(part, FIELDS[i]!, i, text)));
    const dow = sets[4] as Set<number>;
    if (dow.has(7)) dow.add(0);
    return {
        kind: 'cron',
        minute: sets[0] as Set<number>,
        hour: sets[1] as Set<number>,
        dayOfMonth: sets[2] as Set<number> | 'last',
        month: sets[3] as Set<number>,
        dayOfWeek: dow,
        domStar: parts[2] === '*',
        dowStar: parts[4] === '*',
    };
}

function parseField(part: string, field: (typeof FIELDS)[number], index: number, text: string): Set<number> {
    const names = index === 3 ? MONTHS : index === 4 ? DAYS : undefined;
    const value = (token: string): number => {
        const named = names?.indexOf(token.toLowerCase()) ?? -1;
        const n = named >= 0 ? named + (index === 3 ? 1 : 0) : /^\d+$/.test(token) ? Number(token) : NaN;
        if (!Number.isInteger(n) || n < field.min || n > field.max) throw new ScheduleError(`"${text}": bad ${field.name} "${token}"`);
        return n;
    };
    const out = new Set<number>();
    for (const item of part.split(',')) {
        const [range, stepText] = item.split('/');
        const step = stepText === undefined ? 1 : Number(stepText);
        if (!Number.isInteger(step) || step < 1) throw new ScheduleError(`"${text}": bad step in ${field.name} "${item}"`);
        let from: number;
        let to: number;
        if (range === '*') [from, to] = [field.min, field.max];
        else if (range!.includes('-')) [from, to] = range!.split('-').map(value) as [number, number];
        else [from, to] = [value(range!), stepText === undefined ? value(range!) : field.max];
        if (from > to) throw new ScheduleError(`"${text}": empty range in ${field.name} "${item}"`);
        for (let n = from; n <= to; n += step) out.add(n);
    }
    return out;
}

/**
 * The slot `at` falls in when the schedule is due then, else undefined. A slot identifies
 * one run: the minute (cron) or the n-second window ('n seconds').
 */
export function dueSlot(schedule: Schedule, at: Date): number | undefined {
    if (schedule.kind === 'seconds') return Math.floor(at.getTime() / 1000 / schedule.every);
    const lastDay = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
    const dom = schedule.dayOfMonth === 'last' ? at.getUTCDate() === lastDay : schedule.dayOfMonth.has(at.getUTCDate());
    const dow = schedule.dayOfWeek.has(at.getUTCDay());
    // Vixie cron: when both day fields are restricted, either may match.
    const day = schedule.domStar || schedule.dowStar ? dom && dow : dom || dow;
    const due =
        day && schedule.minute.has(at.getUTCMinutes()) && schedule.hour.has(at.getUTCHours()) && schedule.month.has(at.getUTCMonth() + 1);
    return due ? Math.floor(at.getTime() / 60_000) : undefined;
}
