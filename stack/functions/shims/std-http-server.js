// Local equivalent of `https://deno.land/std@<version>/http/server.ts`, which Supabase's
// older templates and examples import for `serve(handler)`: the edge runtime serves the
// handler, here through Deno.serve (captured by stack/functions/host.js). Only what those
// templates use: serve(handler, options?) with std's (request, connInfo) handler and
// options.onError. The stack maps the URL here when no network is needed for it
// (stack/functions/imports.ts). Plain JavaScript: `tsc` (Node types) never sees Deno globals.

/**
 * @param {(request: Request, connInfo: { localAddr: unknown, remoteAddr: unknown }) => Response | Promise<Response>} handler
 * @param {{ port?: number, hostname?: string, signal?: AbortSignal, onListen?: (params: { hostname: string, port: number }) => void, onError?: (error: unknown) => Response | Promise<Response> }} [options]
 * @returns {Promise<void>} settles when the server closes
 */
export function serve(handler, options = {}) {
    const { onError, ...init } = options;
    const server = Deno.serve(init, async (request, info) => {
        const connInfo = { localAddr: { transport: 'tcp', hostname: '127.0.0.1', port: 0 }, remoteAddr: info.remoteAddr };
        if (!onError) return handler(request, connInfo);
        try {
            return await handler(request, connInfo);
        } catch (error) {
            return onError(error);
        }
    });
    return server.finished;
}

/** std's serveTls: TLS is the platform's job on Supabase; served like `serve`. */
export function serveTls(handler, options = {}) {
    return serve(handler, options);
}
