// Local equivalent of `jsr:@supabase/functions-js/edge-runtime.d.ts`, which the
// `supabase functions new` template imports for the types of the edge runtime's globals.
// At run time it is an empty module (type declarations only). The stack provides the one
// global a function may use at run time, `EdgeRuntime.waitUntil` (stack/functions/host.js).
// The full declarations ship in node_modules/@supabase/functions-js/src/edge-runtime.d.ts.

declare type BeforeunloadReason = 'cpu' | 'memory' | 'wall_clock' | 'early_drop' | 'termination' | (string & {});

declare interface WindowEventMap {
    load: Event;
    unload: Event;
    beforeunload: CustomEvent<BeforeunloadReason>;
    drain: Event;
}

declare namespace EdgeRuntime {
    /** Keeps the worker alive until `promise` settles, after the response was sent. */
    export function waitUntil<T>(promise: Promise<T>): Promise<T>;
}
