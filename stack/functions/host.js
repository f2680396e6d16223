// Deno-side host of ONE edge function (run by stack/functions/index.ts, one process per
// function): provides what Supabase's edge runtime provides on top of plain Deno —
// `EdgeRuntime.waitUntil`, `Deno.serve(handler)` captured instead of listening, and
// `export default { fetch }` — then serves the function on a loopback port.
//
// Protocol with the supervisor: one control line on stdout, prefixed with CONTROL, saying
// {"event":"ready","port":n} or {"event":"boot_error","error":"…"}. Everything else the
// function prints is its log. Shutdown on SIGTERM or when stdin closes (the supervisor
// died): stop accepting, await the waitUntil promises, exit.
// Plain JavaScript so that `tsc` (Node types) never sees Deno globals.

const CONTROL = '@@tillbase-functions-host@@ ';
const [entrypoint, name] = Deno.args;

const control = (message) => {
    Deno.stdout.writeSync(new TextEncoder().encode(`${CONTROL}${JSON.stringify(message)}\n`));
};

// ---- EdgeRuntime.waitUntil: background work kept alive after the response ----
const pending = new Set();
globalThis.EdgeRuntime = {
    waitUntil(promise) {
        const tracked = Promise.resolve(promise).catch((error) => console.error(`waitUntil task of ${name} failed:`, error));
        pending.add(tracked);
        tracked.finally(() => pending.delete(tracked));
        return tracked;
    },
};

// ---- Deno.serve captured: the function registers its handler, the host listens ----
let handler;
const realServe = Deno.serve.bind(Deno);
Deno.serve = (...args) => {
    const candidate = args.find((arg) => typeof arg === 'function') ?? args.find((arg) => arg && typeof arg.handler === 'function')?.handler;
    if (typeof candidate !== 'function') throw new TypeError('Deno.serve needs a handler function');
    handler = candidate;
    return {
        finished: new Promise(() => {}),
        addr: { transport: 'tcp', hostname: '127.0.0.1', port: 0 },
        shutdown: async () => {},
        ref() {},
        unref() {},
        [Symbol.asyncDispose]: async () => {},
    };
};

// An uncaught error outside a request must not take the other requests down with it.
globalThis.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    console.error(`unhandled rejection in ${name}:`, event.reason);
});
globalThis.addEventListener('error', (event) => {
    event.preventDefault();
    console.error(`uncaught error in ${name}:`, event.error ?? event.message);
});

try {
    const module = await import(entrypoint);
    if (!handler && module.default && typeof module.default.fetch === 'function') {
        const target = module.default;
        handler = (request, info) => target.fetch(request, info);
    }
    if (!handler) throw new Error(`${name}: the module neither calls Deno.serve(handler) nor exports default { fetch }`);
} catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    control({ event: 'boot_error', error: message });
    Deno.exit(1);
}

const workerError = () =>
    new Response(JSON.stringify({ code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' }), {
        status: 500,
        headers: { 'content-type': 'application/json' },
    });

const server = realServe(
    {
        hostname: '127.0.0.1',
        port: 0,
        onListen: ({ port }) => control({ event: 'ready', port }),
    },
    async (request, info) => {
        try {
            const response = await handler(request, info);
            if (!(response instanceof Response)) throw new TypeError(`${name} returned ${typeof response}, not a Response`);
            return response;
        } catch (error) {
            console.error(`uncaught exception in ${name}:`, error);
            return workerError();
        }
    },
);

let stopping = false;
async function stop() {
    if (stopping) return;
    stopping = true;
    await server.shutdown();
    while (pending.size) await Promise.allSettled([...pending]);
    Deno.exit(0);
}
Deno.addSignalListener('SIGTERM', stop);
Deno.addSignalListener('SIGINT', stop);
// stdin is a pipe from the supervisor: EOF means it is gone, so is this worker.
(async () => {
    const buffer = new Uint8Array(64);
    try {
        while ((await Deno.stdin.read(buffer)) !== null);
    } catch {
        // closed
    }
    await stop();
})();
