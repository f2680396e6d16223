// "Perhaps you meant …" suggestions: the fuzzyset algorithm PostgREST uses (n-gram cosine
// similarity for gram sizes 3 then 2, rescored by Levenshtein distance, minimum score 0.33).

const MIN_SCORE = 0.33;

function normalize(s: string): string {
    return s.toLowerCase().replace(/[^\p{L}\p{N}_, ]+/gu, '');
}

function grams(value: string, size: number): Map<string, number> {
    let padded = '-' + normalize(value) + '-';
    if (padded.length < size) padded += '-'.repeat(size - padded.length);
    const out = new Map<string, number>();
    for (let i = 0; i + size <= padded.length; i++) {
        const g = padded.slice(i, i + size);
        out.set(g, (out.get(g) ?? 0) + 1);
    }
    return out;
}

function norm(v: Map<string, number>): number {
    let s = 0;
    for (const n of v.values()) s += n * n;
    return Math.sqrt(s);
}

function levenshtein(a: string, b: string): number {
    const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let diag = prev[0]!;
        prev[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = prev[j]!;
            prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = tmp;
        }
    }
    return prev[b.length]!;
}

/** Candidates similar to `query`, best first. */
export function fuzzyMatches(candidates: string[], query: string): string[] {
    const unique = [...new Set(candidates)];
    for (const size of [3, 2]) {
        const q = grams(query, size);
        const qn = norm(q);
        const scored: { value: string; score: number }[] = [];
        for (const c of unique) {
            const g = grams(c, size);
            let dot = 0;
            for (const [k, n] of q) dot += n * (g.get(k) ?? 0);
            if (dot > 0) scored.push({ value: c, score: dot / (qn * norm(g)) });
        }
        if (!scored.length) continue;
        scored.sort((a, b) => b.score - a.score);
        const rescored = scored.slice(0, 50).map(({ value }) => {
            const a = value.toLowerCase();
            const b = query.toLowerCase();
            return { value, score: 1 - levenshtein(a, b) / Math.max(a.length, b.length, 1) };
        });
        rescored.sort((a, b) => b.score - a.score);
        const good = rescored.filter((r) => r.score >= MIN_SCORE);
        if (good.length) return good.map((r) => r.value);
    }
    return [];
}

export function fuzzyBest(candidates: string[], query: string): string | null {
    return fuzzyMatches(candidates, query)[0] ?? null;
}
