// Inputs are checked with the contract's zod schemas before any request: a bad input is
// `invalid_argument` with the same details the functions give (`{issues: [{path, message}]}`).
import type { z } from 'zod';
import { failure } from './error-mapping.ts';

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, pathPrefix = ''): z.output<S> {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issues = result.error.issues.map((issue) => ({ path: pathPrefix + issue.path.join('.') || '(input)', message: issue.message }));
    throw failure('invalid_argument', `${issues[0]!.path}: ${issues[0]!.message}`, { issues }, 400);
}
