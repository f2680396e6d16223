// The query-string grammar of PostgREST (select trees, filters, logic trees, order), parsed
// into plain data. Errors are PGRST100 with PostgREST's message shape:
// `"failed to parse <what> (<input>)" (line 1, column N)` and Parsec-like details.
import { haskellShow, parseError, type ApiError } from './errors.js';

export type JsonOp = { arrow: '->' | '->>'; key: string; index: boolean };

export interface FieldRef {
    name: string;
    jsonPath: JsonOp[];
}

export type AggregateFn = 'count' | 'sum' | 'avg' | 'max' | 'min';

export type SelectItem =
    | { kind: 'star' }
    | {
          kind: 'field';
          field: FieldRef;
          alias?: string;
          cast?: string;
          aggregate?: AggregateFn;
          aggregateCast?: string;
      }
    | { kind: 'count'; alias?: string; cast?: string }
    | {
          kind: 'embed';
          name: string;
          alias?: string;
          hint?: string;
          joinType?: 'inner' | 'left';
          spread: boolean;
          children: SelectItem[];
      };

export type Operator =
    | 'eq'
    | 'neq'
    | 'gt'
    | 'gte'
    | 'lt'
    | 'lte'
    | 'like'
    | 'ilike'
    | 'match'
    | 'imatch'
    | 'is'
    | 'isdistinct'
    | 'in'
    | 'cs'
    | 'cd'
    | 'ov'
    | 'sl'
    | 'sr'
    | 'nxl'
    | 'nxr'
    | 'adj'
    | 'fts'
    | 'plfts'
    | 'phfts'
    | 'wfts';

export type OpExpr =
    | { kind: 'simple'; op: Exclude<Operator, 'in' | 'is' | 'fts' | 'plfts' | 'phfts' | 'wfts'>; value: string; quantifier?: 'any' | 'all' }
    | { kind: 'in'; values: string[] }
    | { kind: 'is'; value: 'null' | 'not_null' | 'true' | 'false' | 'unknown' }
    | { kind: 'fts'; op: 'fts' | 'plfts' | 'phfts' | 'wfts'; language?: string; value: string };

export interface Filter {
    field: FieldRef;
    negated: boolean;
    expr: OpExpr;
}

export type LogicTree = { kind: 'expr'; negated: boolean; op: 'and' | 'or'; children: LogicTree[] } | { kind: 'filter'; filter: Filter; path: string[] };

export interface OrderTerm {
    relation?: string;
    field: FieldRef;
    direction?: 'asc' | 'desc';
    nulls?: 'first' | 'last';
}

const SIMPLE_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch', 'isdistinct', 'cs', 'cd', 'ov', 'sl', 'sr', 'nxl', 'nxr', 'adj'] as const;
const QUANTIFIABLE = new Set(['eq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch']);
const FTS_OPS = ['fts', 'plfts', 'phfts', 'wfts'] as const;
const ALL_OPS = [...SIMPLE_OPS, 'in', 'is', ...FTS_OPS];
const OPERATOR_LIST = 'eq, neq, lt, lte, gt, gte, like, ilike, match, imatch, is, isdistinct, in, cs, cd, ov, sl, sr, nxl, nxr, adj, fts, plfts, phfts, wfts';

/**
 * Limits on input shape. PostgREST has none, but deeper or wider input only exhausts a stack
 * (here, or Postgres' max_stack_depth) or Postgres' 1664-entry target lists and would answer
 * 500; past these limits the request is a 400 PGRST100 naming the limit instead.
 */
export const MAX_NESTING = 32;
export const MAX_JSON_PATH = 32;
export const MAX_SELECT_ITEMS = 1000;

class ParseFailure extends Error {
    constructor(
        readonly pos: number,
        readonly details: string,
    ) {
        super(details);
    }
}

/** A character cursor with Parsec-like failure reporting. */
class Cursor {
    pos = 0;
    private depth = 0;
    private items = 0;
    constructor(readonly input: string) {}
    /** Runs `parse` one nesting level deeper (embeds, logic trees), refusing past MAX_NESTING. */
    nested<T>(parse: () => T): T {
        if (this.depth >= MAX_NESTING) throw new ParseFailure(this.pos, `nesting deeper than ${MAX_NESTING} levels is not supported`);
        this.depth++;
        try {
            return parse();
        } finally {
            this.depth--;
        }
    }
    /** Counts one more select item, refusing past MAX_SELECT_ITEMS. */
    countItem(): void {
        if (++this.items > MAX_SELECT_ITEMS) throw new ParseFailure(this.pos, `more than ${MAX_SELECT_ITEMS} items in one select are not supported`);
    }
    get done(): boolean {
        return this.pos >= this.input.length;
    }
    peek(offset = 0): string {
        return this.input[this.pos + offset] ?? '';
    }
    startsWith(s: string): boolean {
        return this.input.startsWith(s, this.pos);
    }
    eat(s: string): boolean {
        if (this.startsWith(s)) {
            this.pos += s.length;
            return true;
        }
        return false;
    }
    fail(expecting: string): never {
        const unexpected = this.done ? 'end of input' : haskellShow(this.peek());
        throw new ParseFailure(this.pos, `unexpected ${unexpected} expecting ${expecting}`);
    }
    expect(s: string, expecting = haskellShow(s)): void {
        if (!this.eat(s)) this.fail(expecting);
    }
}

function run<T>(what: string, input: string, parse: (c: Cursor) => T): T {
    const c = new Cursor(input);
    try {
        return parse(c);
    } catch (error) {
        if (error instanceof ParseFailure) throw failure(what, input, error.pos, error.details);
        throw error;
    }
}

export function failure(what: string, input: string, pos: number, details: string): ApiError {
    // Parsec columns count characters from 1 (tabs to the next multiple of 8 + 1).
    let column = 1;
    for (const ch of input.slice(0, pos)) column = ch === '\t' ? column + 8 - ((column - 1) % 8) : column + 1;
    return parseError(`${haskellShow(`failed to parse ${what} (${input})`)} (line 1, column ${column})`, details);
}

const isIdentChar = (ch: string): boolean => ch !== '' && /[\p{L}\p{N}_ $]/u.test(ch);

function parseIdentifier(c: Cursor, expecting: string): string {
    const start = c.pos;
    while (isIdentChar(c.peek())) c.pos++;
    if (c.pos === start) c.fail(expecting);
    return c.input.slice(start, c.pos);
}

function parseQuoted(c: Cursor): string {
    c.expect('"');
    let out = '';
    while (!c.done && c.peek() !== '"') {
        if (c.peek() === '\\' && c.pos + 1 < c.input.length) {
            out += c.peek(1);
            c.pos += 2;
        } else {
            out += c.peek();
            c.pos++;
        }
    }
    c.expect('"', 'end of quoted value');
    return out;
}

/** A field name: quoted, or identifiers joined by dashes (a dash followed by `>` starts a JSON arrow). */
function parseFieldName(c: Cursor): string {
    if (c.peek() === '"') return parseQuoted(c);
    let name = parseIdentifier(c, 'field name (* or [a..z0..9_$])');
    while (c.peek() === '-' && c.peek(1) !== '>' && isIdentChar(c.peek(1))) {
        c.pos++;
        name += '-' + parseIdentifier(c, 'field name');
    }
    return name;
}

function parseJsonPath(c: Cursor): JsonOp[] {
    const path: JsonOp[] = [];
    for (;;) {
        if (path.length >= MAX_JSON_PATH && c.startsWith('->')) {
            throw new ParseFailure(c.pos, `JSON paths longer than ${MAX_JSON_PATH} steps are not supported`);
        }
        let arrow: '->' | '->>';
        if (c.startsWith('->>')) arrow = '->>';
        else if (c.startsWith('->')) arrow = '->';
        else break;
        c.pos += arrow.length;
        const m = /^-?\d+/.exec(c.input.slice(c.pos));
        if (m && !isIdentChar(c.input[c.pos + m[0].length] ?? '') && c.input[c.pos + m[0].length] !== '-') {
            c.pos += m[0].length;
            path.push({ arrow, key: m[0], index: true });
        } else {
            path.push({ arrow, key: parseFieldName(c), index: false });
        }
    }
    return path;
}

function parseField(c: Cursor): FieldRef {
    const name = parseFieldName(c);
    return { name, jsonPath: parseJsonPath(c) };
}

function parseCast(c: Cursor): string | undefined {
    if (!c.eat('::')) return undefined;
    const start = c.pos;
    while (/[\p{L}\p{N}_ []/u.test(c.peek()) || c.peek() === ']') c.pos++;
    if (c.pos === start) c.fail('letter, digit or "_"');
    return c.input.slice(start, c.pos);
}

/** Alias `name:` (but not a `::` cast). */
function tryAlias(c: Cursor): string | undefined {
    const save = c.pos;
    try {
        const name = parseFieldName(c);
        if (c.peek() === ':' && c.peek(1) !== ':') {
            c.pos++;
            return name;
        }
    } catch (error) {
        if (!(error instanceof ParseFailure)) throw error;
    }
    c.pos = save;
    return undefined;
}

function parseSelectForest(c: Cursor, nested: boolean): SelectItem[] {
    const items: SelectItem[] = [];
    if (c.done && !nested) return items;
    if (nested && c.peek() === ')') return items;
    for (;;) {
        c.countItem();
        items.push(parseSelectItem(c));
        if (c.eat(',')) continue;
        break;
    }
    return items;
}

const AGGREGATES: AggregateFn[] = ['count', 'sum', 'avg', 'max', 'min'];

function parseSelectItem(c: Cursor): SelectItem {
    if (c.eat('...')) {
        const embed = parseEmbedHead(c);
        if (c.peek() !== '(') c.fail('"("');
        return { ...embed, spread: true, children: parseEmbedChildren(c) };
    }
    if (c.eat('*')) return { kind: 'star' };
    const alias = tryAlias(c);
    // count() without a column
    if (c.startsWith('count()')) {
        c.pos += 'count()'.length;
        const cast = parseCast(c);
        return { kind: 'count', ...(alias ? { alias } : {}), ...(cast ? { cast } : {}) };
    }
    const save = c.pos;
    const name = parseFieldName(c);
    if (c.peek() === '!' || c.peek() === '(') {
        c.pos = save;
        const embed = parseEmbedHead(c);
        if (c.peek() !== '(') c.fail('"("');
        return { ...embed, ...(alias ? { alias } : {}), spread: false, children: parseEmbedChildren(c) };
    }
    const field: FieldRef = { name, jsonPath: parseJsonPath(c) };
    const cast = parseCast(c);
    let aggregate: AggregateFn | undefined;
    let aggregateCast: string | undefined;
    if (c.peek() === '.') {
        const rest = c.input.slice(c.pos + 1);
        const fn = AGGREGATES.find((a) => rest.startsWith(a + '()'));
        if (!fn) {
            c.pos++;
            c.fail('aggregate function (sum, avg, max, min, count)');
        }
        c.pos += 1 + fn.length + 2;
        aggregate = fn;
        aggregateCast = parseCast(c);
    }
    return {
        kind: 'field',
        field,
        ...(alias ? { alias } : {}),
        ...(cast ? { cast } : {}),
        ...(aggregate ? { aggregate } : {}),
        ...(aggregateCast ? { aggregateCast } : {}),
    };
}

function parseEmbedHead(c: Cursor): { kind: 'embed'; name: string; alias?: string; hint?: string; joinType?: 'inner' | 'left' } {
    const alias = tryAlias(c);
    const name = parseFieldName(c);
    let hint: string | undefined;
    let joinType: 'inner' | 'left' | undefined;
    while (c.eat('!')) {
        const part = parseFieldName(c);
        if (part === 'inner' || part === 'left') joinType = part;
        else hint = part;
    }
    return { kind: 'embed', name, ...(alias ? { alias } : {}), ...(hint ? { hint } : {}), ...(joinType ? { joinType } : {}) };
}

function parseEmbedChildren(c: Cursor): SelectItem[] {
    c.expect('(');
    const children = c.nested(() => parseSelectForest(c, true));
    c.expect(')', '"," or ")"');
    return children;
}

export function parseSelect(input: string): SelectItem[] {
    return run('select parameter', input, (c) => {
        const items = parseSelectForest(c, false);
        if (!c.done) c.fail('"," or end of input');
        return items;
    });
}

// ── filters ──────────────────────────────────────────────────────────────────────────

/** Value of a top-level filter (`col=op.value`): the operator expression. */
export function parseFilterValue(key: string, value: string): Filter {
    return run('filter', value, (c) => {
        const { negated, expr } = parseOpExpr(c, 'top');
        return { field: { name: key, jsonPath: [] }, negated, expr };
    });
}

/** `a.b.col->x` → path ['a','b'] and field col->x. */
export function parseFilterKey(key: string): { path: string[]; field: FieldRef } {
    return run('filter', key, (c) => {
        const names: string[] = [parseFieldName(c)];
        while (c.eat('.')) names.push(parseFieldName(c));
        const jsonPath = parseJsonPath(c);
        if (!c.done) c.fail('end of input');
        const name = names.pop()!;
        return { path: names, field: { name, jsonPath } };
    });
}

/** Embed path of a reserved key like `rel.order` or `a.b.limit`. */
export function parseEmbedPath(what: string, key: string): string[] {
    return run(what, key, (c) => {
        const names: string[] = [parseFieldName(c)];
        while (c.eat('.')) names.push(parseFieldName(c));
        return names;
    });
}

type ValueMode = 'top' | 'logic';

function readOperatorName(c: Cursor): string {
    const m = /^[a-z_]+/.exec(c.input.slice(c.pos));
    return m ? m[0] : '';
}

function parseOpExpr(c: Cursor, mode: ValueMode): { negated: boolean; expr: OpExpr } {
    let negated = false;
    if (c.startsWith('not.')) {
        negated = true;
        c.pos += 4;
    }
    const name = readOperatorName(c);
    if (!ALL_OPS.includes(name)) c.fail(`${negated ? '' : '"not" or '}operator (${OPERATOR_LIST})`);
    c.pos += name.length;
    if (name === 'in') {
        c.expect('.', '"."');
        return { negated, expr: { kind: 'in', values: parseList(c) } };
    }
    if (name === 'is') {
        c.expect('.', '"."');
        const rest = mode === 'top' ? c.input.slice(c.pos) : /^[^,)]*/.exec(c.input.slice(c.pos))![0];
        const v = rest.toLowerCase();
        if (!['null', 'not_null', 'true', 'false', 'unknown'].includes(v)) c.fail('null or trilean value (unknown, true, false)');
        c.pos += rest.length;
        return { negated, expr: { kind: 'is', value: v as 'null' } };
    }
    if ((FTS_OPS as readonly string[]).includes(name)) {
        let language: string | undefined;
        if (c.eat('(')) {
            const start = c.pos;
            while (!c.done && c.peek() !== ')') c.pos++;
            language = c.input.slice(start, c.pos);
            c.expect(')');
        }
        c.expect('.', '"."');
        return { negated, expr: { kind: 'fts', op: name as 'fts', ...(language !== undefined ? { language } : {}), value: parseSingleValue(c, mode) } };
    }
    let quantifier: 'any' | 'all' | undefined;
    if (QUANTIFIABLE.has(name)) {
        if (c.eat('(any)')) quantifier = 'any';
        else if (c.eat('(all)')) quantifier = 'all';
    }
    c.expect('.', '"."');
    const value = quantifier ? parseArrayValue(c, mode) : parseSingleValue(c, mode);
    return { negated, expr: { kind: 'simple', op: name as 'eq', value, ...(quantifier ? { quantifier } : {}) } };
}

function parseSingleValue(c: Cursor, mode: ValueMode): string {
    if (mode === 'top') {
        const v = c.input.slice(c.pos);
        c.pos = c.input.length;
        return v;
    }
    // inside logic trees: a quoted value, a {pg,array}, a (range,value) or up to , or )
    if (c.peek() === '"') {
        const save = c.pos;
        const v = parseQuoted(c);
        if (c.done || c.peek() === ',' || c.peek() === ')') return v;
        c.pos = save;
    }
    if (c.peek() === '{') return parseDelimited(c, '{', '}');
    if (c.peek() === '[' || c.peek() === '(') {
        const save = c.pos;
        const close = c.peek() === '[' ? /[\])]/ : /[\])]/;
        let depth = 0;
        let i = c.pos;
        for (; i < c.input.length; i++) {
            const ch = c.input[i]!;
            if (ch === '(' || ch === '[') depth++;
            else if (close.test(ch)) {
                depth--;
                if (depth === 0) break;
            }
        }
        if (i < c.input.length) {
            c.pos = i + 1;
            return c.input.slice(save, c.pos);
        }
    }
    const start = c.pos;
    while (!c.done && c.peek() !== ',' && c.peek() !== ')') c.pos++;
    return c.input.slice(start, c.pos);
}

function parseDelimited(c: Cursor, open: string, close: string): string {
    const start = c.pos;
    let depth = 0;
    let quoted = false;
    for (; c.pos < c.input.length; c.pos++) {
        const ch = c.input[c.pos]!;
        if (quoted) {
            if (ch === '\\') c.pos++;
            else if (ch === '"') quoted = false;
            continue;
        }
        if (ch === '"') quoted = true;
        else if (ch === open) depth++;
        else if (ch === close) {
            depth--;
            if (depth === 0) {
                c.pos++;
                return c.input.slice(start, c.pos);
            }
        }
    }
    c.fail(haskellShow(close));
}

function parseArrayValue(c: Cursor, mode: ValueMode): string {
    if (c.peek() === '{') return parseDelimited(c, '{', '}');
    if (c.peek() === '(') {
        // like(any).(a,b) is accepted too
        const list = parseList(c);
        return '{' + list.map(pgArrayElement).join(',') + '}';
    }
    return parseSingleValue(c, mode);
}

/** `(a,"b,c",d)` → ['a','b,c','d']. */
function parseList(c: Cursor): string[] {
    c.expect('(', '"("');
    const values: string[] = [];
    if (c.eat(')')) return values;
    for (;;) {
        if (c.peek() === '"') {
            values.push(parseQuoted(c));
        } else {
            const start = c.pos;
            while (!c.done && c.peek() !== ',' && c.peek() !== ')') c.pos++;
            values.push(c.input.slice(start, c.pos));
        }
        if (c.eat(',')) continue;
        c.expect(')', '"," or ")"');
        return values;
    }
}

export function pgArrayElement(value: string): string {
    return '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// ── logic trees ─────────────────────────────────────────────────────────────────────

/** `or=(a.eq.1,and(b.gt.2,c.lt.3))` with key `or` / `not.or` / `rel.or`. */
export function parseLogic(op: 'and' | 'or', negated: boolean, value: string): LogicTree {
    return run('logic tree', value, (c) => {
        c.expect('(', '"("');
        const children = parseLogicChildren(c);
        if (!c.done) c.fail('end of input');
        return { kind: 'expr', negated, op, children };
    });
}

function parseLogicChildren(c: Cursor): LogicTree[] {
    const children: LogicTree[] = [];
    for (;;) {
        children.push(parseLogicItem(c));
        if (c.eat(',')) continue;
        c.expect(')', '"," or ")"');
        return children;
    }
}

function parseLogicItem(c: Cursor): LogicTree {
    const save = c.pos;
    let negated = false;
    if (c.startsWith('not.')) {
        negated = true;
        c.pos += 4;
    }
    for (const op of ['and', 'or'] as const) {
        if (c.startsWith(op + '(')) {
            c.pos += op.length + 1;
            return { kind: 'expr', negated, op, children: c.nested(() => parseLogicChildren(c)) };
        }
    }
    c.pos = save;
    // field (possibly rel.field) then operator expression
    const names: string[] = [parseFieldName(c)];
    let jsonPath = parseJsonPath(c);
    c.expect('.', '"."');
    while (!jsonPath.length && !isOpStart(c)) {
        names.push(parseFieldName(c));
        jsonPath = parseJsonPath(c);
        c.expect('.', '"."');
    }
    const { negated: neg, expr } = parseOpExpr(c, 'logic');
    const name = names.pop()!;
    return { kind: 'filter', path: names, filter: { field: { name, jsonPath }, negated: neg, expr } };
}

function isOpStart(c: Cursor): boolean {
    const rest = c.input.slice(c.pos);
    if (rest.startsWith('not.')) return true;
    const name = readOperatorName(c);
    if (!ALL_OPS.includes(name)) return false;
    const next = rest[name.length];
    return next === '.' || next === '(';
}

// ── order ───────────────────────────────────────────────────────────────────────────

export function parseOrder(input: string): OrderTerm[] {
    return run('order', input, (c) => {
        const terms: OrderTerm[] = [];
        for (;;) {
            terms.push(parseOrderTerm(c));
            if (c.eat(',')) continue;
            if (!c.done) c.fail('"," or end of input');
            return terms;
        }
    });
}

function parseOrderTerm(c: Cursor): OrderTerm {
    let field = parseField(c);
    let relation: string | undefined;
    if (!field.jsonPath.length && c.peek() === '(') {
        c.pos++;
        relation = field.name;
        field = parseField(c);
        c.expect(')');
    }
    const term: OrderTerm = { field, ...(relation ? { relation } : {}) };
    if (c.startsWith('.asc') || c.startsWith('.desc')) {
        term.direction = c.startsWith('.asc') ? 'asc' : 'desc';
        c.pos += term.direction.length + 1;
    }
    if (c.startsWith('.nullsfirst') || c.startsWith('.nullslast')) {
        term.nulls = c.startsWith('.nullsfirst') ? 'first' : 'last';
        c.pos += term.nulls === 'first' ? 11 : 10;
    }
    if (!c.done && c.peek() !== ',') c.fail('"," or end of input');
    return term;
}

/** `columns="a","b"` / `on_conflict=a,b`. */
export function parseColumnList(what: string, input: string): string[] {
    return run(what, input, (c) => {
        const cols: string[] = [];
        for (;;) {
            cols.push(parseFieldName(c));
            if (c.eat(',')) continue;
            if (!c.done) c.fail('"," or end of input');
            return cols;
        }
    });
}

export function parseNonNegativeInt(what: string, input: string): number {
    return run(what, input, (c) => {
        const m = /^\d+/.exec(input);
        if (m === null) return c.fail('digit');
        c.pos = m[0].length;
        if (!c.done) c.fail('digit or end of input');
        return Number(m[0]);
    });
}
