// Where Auth may send a user after a mailed link: redirect_to (or emailRedirectTo) is kept
// only when it is on the site URL's origin or matches [auth] additional_redirect_urls;
// anything else falls back to the Referer when that is allowed, else to site_url — GoTrue's
// GetReferrer. Patterns use GoTrue's glob syntax (github.com/gobwas/glob compiled with "."
// and "/" as separators):
//   *      any run of characters except "." and "/"      **   any run of characters
//   ?      one character except "." and "/"              [abc] [a-z] [!abc]  one of / none of
//   {a,b}  any of the comma-separated sub-patterns       \x   x literally
// A pattern without wildcards is an exact URL. Unlike GoTrue, which accepts any URL whose
// host name equals the site URL's, the site URL allows its own scheme, host and port only,
// and javascript:, data: and vbscript: URLs are never redirect targets (docs/auth.md).
import type { AuthContext, RequestFacts } from './context.js';

const SEPARATORS = '[^./]';
const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
const NEVER = new Set(['javascript:', 'data:', 'vbscript:']);

export class GlobSyntaxError extends Error {}

/** Compiles a gobwas glob (separators "." and "/") to an anchored regular expression. */
export function compileRedirectGlob(pattern: string): RegExp {
    let i = 0;
    const literal = (ch: string) => ch.replace(REGEX_SPECIAL, '\\$&');
    // Parses up to the end, or (inside braces) up to the "," or "}" that ends an alternative.
    const sequence = (inBraces: boolean): string => {
        let out = '';
        while (i < pattern.length) {
            const ch = pattern[i]!;
            if (inBraces && (ch === ',' || ch === '}')) return out;
            i++;
            if (ch === '\\') {
                if (i >= pattern.length) throw new GlobSyntaxError(`dangling "\\" in ${JSON.stringify(pattern)}`);
                out += literal(pattern[i++]!);
            } else if (ch === '*') {
                if (pattern[i] === '*') {
                    i++;
                    out += '.*';
                } else out += `${SEPARATORS}*`;
            } else if (ch === '?') out += SEPARATORS;
            else if (ch === '[') out += characterClass();
            else if (ch === '{') out += alternatives();
            else out += literal(ch);
        }
        if (inBraces) throw new GlobSyntaxError(`unclosed "{" in ${JSON.stringify(pattern)}`);
        return out;
    };
    const characterClass = (): string => {
        const close = pattern.indexOf(']', i);
        if (close < 0) throw new GlobSyntaxError(`unclosed "[" in ${JSON.stringify(pattern)}`);
        let body = pattern.slice(i, close);
        i = close + 1;
        const negated = body.startsWith('!');
        if (negated) body = body.slice(1);
        if (!body) throw new GlobSyntaxError(`empty "[]" in ${JSON.stringify(pattern)}`);
        const escaped = body.replace(/[\\\]^[]/g, '\\$&');
        return `[${negated ? '^' : ''}${escaped}]`;
    };
    const alternatives = (): string => {
        const options: string[] = [];
        for (;;) {
            options.push(sequence(true));
            const ch = pattern[i++];
            if (ch === '}') return `(?:${options.join('|')})`;
        }
    };
    return new RegExp(`^${sequence(false)}$`, 'su');
}

/** Whether `url` may receive a user: the site URL's own origin, or an allow-list match. */
export function isRedirectAllowed(siteUrl: string, patterns: RegExp[], url: string | null | undefined): boolean {
    if (!url) return false;
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return false;
    }
    if (NEVER.has(parsed.protocol)) return false;
    const site = new URL(siteUrl);
    const sameOrigin = (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.protocol === site.protocol && parsed.host === site.host;
    if (sameOrigin && !parsed.username && !parsed.password) return true;
    return patterns.some((pattern) => pattern.test(url));
}

/**
 * The redirect for this request: `explicit` (a body field) or the redirect_to query
 * parameter when allowed, else an allowed Referer, else site_url.
 */
export function redirectTarget(ctx: AuthContext, facts: RequestFacts, explicit?: string | null): string {
    const { siteUrl, redirectPatterns } = ctx.settings;
    const requested = explicit || facts.url.searchParams.get('redirect_to');
    if (isRedirectAllowed(siteUrl, redirectPatterns, requested)) return requested!;
    if (isRedirectAllowed(siteUrl, redirectPatterns, facts.referer)) return facts.referer!;
    return siteUrl;
}
