// `start`, `status` and `stop`: the whole local stack as one foreground process, the
// Docker-free `supabase start`. PostgreSQL first (reset when the migrations changed),
// then mail, REST, auth, functions behind the gateway on [api] port, then the scheduler.
// Each component is stopped in reverse order on Ctrl-C. A component that fails to start
// is reported with its error in the status table while the rest of the stack runs. The
// running stack's URLs and keys are written to <workdir>/.local/stack.json for `status`.
import fs from 'node:fs';
import path from 'node:path';
import { createAuthService } from '../auth/index.js';
import { isPortFree } from '../db/cluster.js';
import { resetDatabase } from '../db/reset.js';
import { createFunctionsService } from '../functions/index.js';
import { createGateway } from '../gateway/index.js';
import { apiKeysFor } from '../gateway/keys.js';
import { listen, type FetchHandler } from '../http.js';
import { jwtKeysFromConfig } from '../jwt.js';
import { createMailCatcher } from '../mail/index.js';
import { createRestService } from '../rest/index.js';
import { startStripeFake } from '../fakes/stripe/index.js';
import { localStripeFor } from '../fakes/stripe/local.js';
import { createScheduler, invokeThroughGateway, jobsFromDatabase } from '../scheduler/index.js';
import { isSchemaCurrent, openProject, recordSchema, type LocalProject } from './project.js';

const say = (message: string) => console.error(`• ${message}`);

/** A problem the user fixes (port taken, stack already running): printed without a stack trace. */
export class StackError extends Error {}

export interface StackStatus {
    pid: number;
    API_URL: string;
    DB_URL: string;
    ANON_KEY: string;
    SERVICE_ROLE_KEY: string;
    PUBLISHABLE_KEY: string;
    SECRET_KEY: string;
    JWT_SECRET: string;
    MAILPIT_URL: string;
    /** The Stripe API the functions use (the local fake's, or https://api.stripe.com) and the webhook secret they verify with. */
    STRIPE_API_URL?: string;
    STRIPE_WEBHOOK_SECRET?: string;
    /** Component name → "running" or why it is not. */
    components: Record<string, string>;
}

const statusFile = (project: LocalProject) => path.join(project.localDir, 'stack.json');

export async function start(workdir: string): Promise<number> {
    const project = openProject(workdir);
    const started = Date.now();
    const running = readStatus(project);
    if (running) {
        const state = running.components.stack === 'starting' ? 'is starting' : 'already runs';
        throw new StackError(`a stack for this project ${state} (pid ${running.pid}); \`npm run stop\` stops it`);
    }
    const { config } = project;
    const apiPort = config.api.port;
    const mailPort = config.inbucket?.port ?? config.local_smtp.port;
    const stripe = localStripeFor(config);
    for (const [port, what] of [
        [apiPort, 'the API gateway ([api] port)'],
        [mailPort, 'the mail catcher ([local_smtp] port)'],
        ...(stripe.kind === 'fake' ? [[stripe.port, 'the Stripe fake ([local_stripe] port)'] as const] : []),
    ] as const) {
        if (!(await isPortFree(port))) {
            throw new StackError(`port ${port} for ${what} on 127.0.0.1 is already in use: stop what uses it (\`npm run stop\` for a stack left running) or set another port in supabase/config.toml`);
        }
    }

    const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
    let stopping: Promise<void> | undefined;
    const stopAll = () =>
        (stopping ??= (async () => {
            say('stopping');
            for (const { name, stop } of stops.reverse()) {
                await stop().catch((e: unknown) => say(`stopping ${name} failed: ${(e as Error).message}`));
            }
            fs.rmSync(statusFile(project), { force: true });
            say('stopped');
        })());
    // Ctrl-C in a terminal signals the whole process group, and the npm/tsx wrappers relay
    // it once more: a repeat within a second is that echo. A later one forces the exit.
    let firstSignal = 0;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.on(signal, () => {
            if (!firstSignal) {
                firstSignal = Date.now();
                void stopAll().then(() => process.exit(0));
            } else if (Date.now() - firstSignal > 1_000) {
                say('forced exit: some components may still be running (npm run stop cleans up)');
                process.exit(130);
            }
        });
    }

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const components: Record<string, string> = {};
    // Written now, so that a second start sees this one while it is still starting.
    const writeStatus = (status: StackStatus) => {
        fs.mkdirSync(project.localDir, { recursive: true });
        fs.writeFileSync(statusFile(project), JSON.stringify(status, null, 2));
    };
    writeStatus({ ...placeholderStatus(process.pid), components: { stack: 'starting' } });
    try {
        say(`starting PostgreSQL on port ${project.cluster.port}`);
        await project.cluster.start();
        stops.push({ name: 'database', stop: () => project.cluster.stop() });
        if (isSchemaCurrent(project)) {
            say('database is up to date with the migrations: reusing it');
        } else {
            await resetDatabase({ url: project.dbUrl, workdir: project.workdir, log: say });
            recordSchema(project);
        }
        components.database = 'running';

        const jwt = jwtKeysFromConfig(config);
        const keys = await apiKeysFor(jwt);
        const routes: Record<string, FetchHandler> = {};

        /** Starts one component; a failure is reported in the status table, not fatal. */
        const component = async (name: string, run: () => Promise<void>) => {
            try {
                await run();
                components[name] = 'running';
            } catch (error) {
                components[name] = `failed: ${(error as Error).message.split('\n')[0]}`;
                say(`${name} failed to start: ${(error as Error).stack ?? String(error)}`);
            }
        };

        const mail = createMailCatcher();
        await component('mail', async () => {
            const server = await listen(mail.handler, { port: mailPort });
            stops.push({ name: 'mail', stop: () => server.close() });
        });
        await component('rest', async () => {
            const rest = await createRestService({ dbUrl: project.dbUrl, config, jwt });
            stops.push({ name: 'rest', stop: () => rest.close() });
            routes['/rest/v1'] = rest.handler;
        });
        await component('auth', async () => {
            const auth = await createAuthService({
                dbUrl: project.dbUrl,
                config,
                jwt,
                publicUrl: `${apiUrl}/auth/v1`,
                mail,
            });
            stops.push({ name: 'auth', stop: () => auth.close() });
            routes['/auth/v1'] = auth.handler;
        });
        // Stripe: the local fake (webhooks to the stack's stripe-webhook function, like
        // `stripe listen --forward-to`), unless the functions' secrets hold a real key.
        if (stripe.kind === 'fake') {
            await component('stripe', async () => {
                const fake = await startStripeFake({
                    port: stripe.port,
                    endpoints: [{ url: `${apiUrl}/functions/v1/stripe-webhook`, secret: stripe.webhookSecret }],
                    log: (entry) => console.error(JSON.stringify({ ...entry, component: 'stripe' })),
                });
                stops.push({ name: 'stripe', stop: () => fake.close() });
            });
        } else {
            components.stripe = 'real Stripe (STRIPE_SECRET_KEY in the functions\' secrets): forward webhooks with `stripe listen`';
        }
        if (config.edge_runtime.enabled === false) {
            components.functions = 'disabled in config.toml ([edge_runtime] enabled = false)';
        } else {
            await component('functions', async () => {
                const functions = await createFunctionsService({
                    config,
                    jwt,
                    keys,
                    apiUrl,
                    dbUrl: project.dbUrl,
                    denoDir: path.join(project.localDir, 'deno'),
                    log: (entry) => console.error(JSON.stringify(entry)),
                    env: stripe.kind === 'fake' ? stripe.functionsEnv : undefined,
                });
                stops.push({ name: 'functions', stop: () => functions.close() });
                routes['/functions/v1'] = functions.handler;
            });
        }
        const gateway = await listen(createGateway({ routes, keys, jwt, accessLog: (entry) => console.error(JSON.stringify(entry)) }), { port: apiPort });
        stops.push({ name: 'gateway', stop: () => gateway.close() });
        components.gateway = 'running';

        await component('scheduler', async () => {
            const source = jobsFromDatabase(project.dbUrl);
            const scheduler = createScheduler({ loadJobs: source.loadJobs, invoke: invokeThroughGateway(apiUrl, keys) });
            scheduler.start();
            stops.push({ name: 'scheduler', stop: () => scheduler.stop().finally(() => source.close()) });
        });

        const status: StackStatus = {
            pid: process.pid,
            API_URL: apiUrl,
            DB_URL: project.dbUrl,
            ANON_KEY: keys.anon,
            SERVICE_ROLE_KEY: keys.serviceRole,
            PUBLISHABLE_KEY: keys.publishable,
            SECRET_KEY: keys.secret,
            JWT_SECRET: jwt.secret,
            MAILPIT_URL: `http://127.0.0.1:${mailPort}`,
            STRIPE_API_URL: stripe.apiUrl,
            STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
            components,
        };
        writeStatus(status);
        console.log(renderPretty(status));
        say(`ready in ${Date.now() - started} ms; Ctrl-C stops the stack`);
    } catch (error) {
        await stopAll();
        throw error;
    }
    await new Promise<never>(() => {});
    return 0;
}

export async function status(workdir: string, output: string): Promise<number> {
    const project = openProject(workdir);
    const current = readStatus(project);
    if (!current) {
        console.error('the local stack is not running (npm start)');
        return 1;
    }
    if (current.components.stack === 'starting') {
        console.error(`the local stack is starting (pid ${current.pid}); try again when it prints "ready"`);
        return 1;
    }
    if (output === 'env') console.log(renderEnv(current));
    else if (output === 'json') console.log(JSON.stringify(current, null, 2));
    else console.log(renderPretty(current));
    return 0;
}

export async function stop(workdir: string): Promise<number> {
    const project = openProject(workdir);
    const current = readStatus(project);
    if (current) {
        process.kill(current.pid, 'SIGINT');
        const deadline = Date.now() + 40_000;
        while (alive(current.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (alive(current.pid)) throw new StackError(`the stack (pid ${current.pid}) did not stop within 40 s`);
        say(`stopped the stack (pid ${current.pid})`);
    }
    if (project.cluster.runningPid()) {
        await project.cluster.stop();
        say('stopped PostgreSQL');
    }
    return 0;
}

function placeholderStatus(pid: number): Omit<StackStatus, 'components'> {
    return { pid, API_URL: '', DB_URL: '', ANON_KEY: '', SERVICE_ROLE_KEY: '', PUBLISHABLE_KEY: '', SECRET_KEY: '', JWT_SECRET: '', MAILPIT_URL: '' };
}

function readStatus(project: LocalProject): StackStatus | undefined {
    try {
        const current = JSON.parse(fs.readFileSync(statusFile(project), 'utf8')) as StackStatus;
        if (alive(current.pid) && current.pid !== process.pid) return current;
    } catch {
        // no status file, or a broken one: nothing runs
    }
    fs.rmSync(statusFile(project), { force: true });
    return undefined;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

const ENV_KEYS = ['API_URL', 'DB_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'MAILPIT_URL'] as const;

const OPTIONAL_ENV_KEYS = ['STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET'] as const;

export function renderEnv(status: StackStatus): string {
    const optional = OPTIONAL_ENV_KEYS.filter((key) => status[key] !== undefined);
    return [...ENV_KEYS, ...optional].map((key) => `${key}="${status[key]}"`).join('\n');
}

export function renderPretty(status: StackStatus): string {
    const rows: Array<[string, string]> = [
        ['API URL', status.API_URL],
        ['REST URL', `${status.API_URL}/rest/v1`],
        ['Auth URL', `${status.API_URL}/auth/v1`],
        ['Functions URL', `${status.API_URL}/functions/v1`],
        ['DB URL', status.DB_URL],
        ['Mailpit URL', status.MAILPIT_URL],
        ['JWT secret', status.JWT_SECRET],
        ['anon key', status.ANON_KEY],
        ['service_role key', status.SERVICE_ROLE_KEY],
        ['Publishable key', status.PUBLISHABLE_KEY],
        ['Secret key', status.SECRET_KEY],
        ...(status.STRIPE_API_URL ? [['Stripe API URL', status.STRIPE_API_URL] as [string, string]] : []),
        ...(status.STRIPE_WEBHOOK_SECRET ? [['Stripe webhook secret', status.STRIPE_WEBHOOK_SECRET] as [string, string]] : []),
    ];
    const parts: Array<[string, string]> = Object.entries(status.components);
    const width = Math.max(...[...rows, ...parts].map(([k]) => k.length));
    const render = (list: Array<[string, string]>) => list.map(([k, v]) => `${k.padStart(width)}: ${v}`).join('\n');
    return `${render(rows)}\n\n${'components'.padStart(width)}\n${render(parts)}`;
}
