// What every helper answers: `{data, error}` like supabase-js, never a rejected promise —
// or, when the caller opts in with `.orThrow()`, the data itself and a thrown
// `TillbaseError`. The error's `code` is one of the contract's stable codes.
import { ERROR_STATUS, type ErrorCode } from './contract/errors.ts';

export class TillbaseError extends Error {
    override readonly name = 'TillbaseError';
    /** A stable code from the contract (`sdk/src/contract/errors.ts`): switch on this, never on `message`. */
    readonly code: ErrorCode;
    /** The HTTP status of the answer that failed (0 when no answer came). */
    readonly status: number;
    /** What the server said beyond the message (the bad fields, the order id, the SQLSTATE…). */
    readonly details: unknown;

    constructor(code: ErrorCode, message: string, options: { status?: number; details?: unknown; cause?: unknown } = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.code = code;
        this.status = options.status ?? ERROR_STATUS[code];
        this.details = options.details;
    }

    toJSON(): { code: ErrorCode; message: string; status: number; details: unknown } {
        return { code: this.code, message: this.message, status: this.status, details: this.details };
    }
}

export type TillbaseResult<T> = { data: T; error: null } | { data: null; error: TillbaseError };

/**
 * A helper's pending answer: await it for `{data, error}`, or call `.orThrow()` for the
 * data alone (rejects with the `TillbaseError`). The work starts at once either way.
 */
export class TillbaseRequest<T> implements PromiseLike<TillbaseResult<T>> {
    readonly #result: Promise<TillbaseResult<T>>;

    constructor(work: () => Promise<T>, mapError: (error: unknown) => TillbaseError) {
        this.#result = Promise.resolve()
            .then(work)
            .then(
                (data): TillbaseResult<T> => ({ data, error: null }),
                (error: unknown): TillbaseResult<T> => ({ data: null, error: mapError(error) }),
            );
    }

    then<R1 = TillbaseResult<T>, R2 = never>(
        onfulfilled?: ((value: TillbaseResult<T>) => R1 | PromiseLike<R1>) | null,
        onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
    ): Promise<R1 | R2> {
        return this.#result.then(onfulfilled, onrejected);
    }

    /** The data, or a rejection with the `TillbaseError`. */
    async orThrow(): Promise<T> {
        const result = await this.#result;
        if (result.error) throw result.error;
        return result.data;
    }
}
