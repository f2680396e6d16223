// `npm run logs -- [component] [--follow] [-o json]`: the running (or last) stack's log,
// <workdir>/.local/stack.log, read back — all of it or one component's lines, as
// readable lines (default) or the JSON lines themselves; --follow keeps printing new
// lines until Ctrl-C, and starts over when a new stack run replaces the file.
import fs from 'node:fs';
import type { LogLine } from '../log.js';
import { openProject } from './project.js';
import { logFile } from './status-file.js';

const FOLLOW_POLL_MS = 200;

/** One log line for a terminal: time, level, component, message, then the other fields. */
export function renderLogLine(line: LogLine): string {
    const { time, level, component, msg, ...fields } = line;
    const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    return `${time} ${level.toUpperCase().padEnd(5)} ${component.padEnd(10)} ${msg}${extra}`;
}

export async function logs(workdir: string, component: string | undefined, options: { follow: boolean; output: string }): Promise<number> {
    const file = logFile(openProject(workdir));
    if (!fs.existsSync(file) && !options.follow) {
        console.error(`no stack log yet: ${file} is written by \`npm start\``);
        return 1;
    }
    const print = (text: string) => {
        if (!text.trim()) return;
        let line: LogLine;
        try {
            line = JSON.parse(text) as LogLine;
        } catch {
            return; // a line being written while it was read: the next read has it whole
        }
        if (component && line.component !== component) return;
        console.log(options.output === 'json' ? text : renderLogLine(line));
    };

    let offset = 0;
    let partial = '';
    let inode: number | undefined;
    const readNew = () => {
        let stat: fs.Stats;
        try {
            stat = fs.statSync(file);
        } catch {
            return; // not written yet
        }
        // A new stack run rotates the file: start from the top of the new one.
        if (stat.ino !== inode || stat.size < offset) {
            inode = stat.ino;
            offset = 0;
            partial = '';
        }
        if (stat.size === offset) return;
        const fd = fs.openSync(file, 'r');
        try {
            const buffer = Buffer.alloc(stat.size - offset);
            fs.readSync(fd, buffer, 0, buffer.length, offset);
            offset = stat.size;
            const lines = (partial + buffer.toString('utf8')).split('\n');
            partial = lines.pop() ?? '';
            lines.forEach(print);
        } finally {
            fs.closeSync(fd);
        }
    };

    readNew();
    if (!options.follow) {
        print(partial);
        return 0;
    }
    await new Promise<void>((resolve) => {
        const timer = setInterval(readNew, FOLLOW_POLL_MS);
        for (const signal of ['SIGINT', 'SIGTERM'] as const) {
            process.once(signal, () => {
                clearInterval(timer);
                resolve();
            });
        }
    });
    return 0;
}
