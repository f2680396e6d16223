// The process tree below a pid, read from /proc: the e2e test checks that nothing
// outlives the stack, the stack benchmark sums its resident memory.
import fs from 'node:fs';

/** pid → command line (arguments joined by spaces) of every process below `root`. */
export function descendants(root: number): Map<number, string> {
    const parents = new Map<number, number>();
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
            parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
        } catch {
            // exited meanwhile
        }
    }
    const found = new Map<number, string>();
    const visit = (pid: number) => {
        for (const [child, parent] of parents) {
            if (parent !== pid || found.has(child)) continue;
            try {
                found.set(child, fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
            } catch {
                continue;
            }
            visit(child);
        }
    };
    visit(root);
    return found;
}

/** The program a command line runs: `/usr/bin/node x.js` → `node`, `postgres: checkpointer` → `postgres:`. */
export function programName(commandLine: string): string {
    return (commandLine.split(' ')[0] ?? '').split('/').pop() ?? '';
}
