// A strict reader of the Prometheus text exposition format (version 0.0.4), as a scraper
// reads it: every sample must belong to a family declared by `# TYPE` (histograms add
// _bucket/_sum/_count, counters may carry _total), names and labels must be valid, values
// must be numbers. Throws on the first malformed line, naming it.

export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

export interface Family {
    name: string;
    type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
    help?: string;
    samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\]|\\\\.)*)"(,|$)`);

function parseLabels(text: string, line: string): Record<string, string> {
    const labels: Record<string, string> = {};
    let rest = text;
    while (rest.length) {
        const match = LABEL_PAIR.exec(rest);
        if (!match) throw new Error(`bad labels in: ${line}`);
        labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        rest = rest.slice(match[0].length);
    }
    return labels;
}

function parseValue(text: string, line: string): number {
    // As Prometheus reads values (Go's ParseFloat): Inf and NaN in any letter case.
    if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
    if (/^-inf(inity)?$/i.test(text)) return -Infinity;
    if (/^nan$/i.test(text)) return NaN;
    const value = Number(text);
    if (Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
    return value;
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
    if (families.has(sample)) return families.get(sample);
    for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
        if (!sample.endsWith(suffix)) continue;
        const family = families.get(sample.slice(0, -suffix.length));
        if (family && (family.type !== 'gauge' || suffix === '_total')) return family;
    }
    return undefined;
}

export function parseExposition(text: string): Map<string, Family> {
    const families = new Map<string, Family>();
    for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const comment = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
        if (comment) {
            const [, kind, name, rest] = comment;
            const family = families.get(name!) ?? { name: name!, type: 'untyped' as const, samples: [] };
            if (kind === 'TYPE') {
                if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) throw new Error(`bad type in: ${line}`);
                if (family.samples.length) throw new Error(`TYPE after samples in: ${line}`);
                family.type = rest as Family['type'];
            } else {
                family.help = rest;
            }
            families.set(name!, family);
            continue;
        }
        if (line.startsWith('#')) continue;
        const match = SAMPLE.exec(line);
        if (!match) throw new Error(`not a sample line: ${line}`);
        const family = familyOf(match[1]!, families);
        if (!family) throw new Error(`sample of an undeclared family: ${line}`);
        family.samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? '', line), value: parseValue(match[3]!, line) });
    }
    return families;
}

/** The value of the one sample `name` with (at least) these labels; undefined when absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
    for (const family of families.values()) {
        for (const sample of family.samples) {
            if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value;
        }
    }
    return undefined;
}
