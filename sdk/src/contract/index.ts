// The one contract between the edge functions and the SDK: input schemas (zod),
// response types and error codes. Functions import it by relative path
// (`../../sdk/src/contract/index.ts`), so a function's input cannot change without the
// SDK's type changing with it.
export * from './errors.ts';
export * from './checkout.ts';
export * from './refund.ts';
export * from './outbox.ts';
export * from './catalog.ts';
export * from './staff.ts';
