// `start`, `status` and `stop`: the whole local stack as one foreground process, the
// Docker-free `supabase start`. PostgreSQL first (a new data directory is copied from the
// migrated template of the same migrations when there is one; reset when the migrations
// changed), then mail, the ERP and Stripe fakes, REST, auth, functions, realtime, storage —
// started concurrently — behind the gateway on [api] port, then the scheduler.
//
// Every component runs under the supervisor (stack/supervisor): a component that fails to
// start is reported while the rest of the stack runs; one whose process dies (Postgres)
// is restarted; each is checked live every few seconds and by `npm run status`. A new
// component plugs in with one block:
//
//     await component('name', async ({ log }) => {
//         const service = await createService({ ..., log });
//         routes['/name/v1'] = service.handler;
//         return { stop: () => service.close(), health: () => service.health() };
//     });
//
// Logs: one JSON line per event on stdout and in <workdir>/.local/stack.log (npm run logs);
// the human progress lines ("• starting …") go to stderr.
import path from 'node:path';
import { createAuthService } from '../auth/index.js';
import { isPortFree } from '../db/cluster.js';
import { databaseComponent, postgresLineLogger } from '../db/component.js';
import { resetDatabase } from '../db/reset.js';
import { createFunctionsService } from '../functions/index.js';
import { createGateway, createGatewayUpgrade } from '../gateway/index.js';
import { apiKeysFor } from '../gateway/keys.js';
import { listen, type FetchHandler, type UpgradeHandler } from '../http.js';
import { jwtKeysFromConfig } from '../jwt.js';
import { createLogger, fileSink, stdoutSink, teeSink } from '../log.js';
import { erpConfigured, startLocalErp } from '../fakes/erp/local.js';
import { createMailCatcher } from '../mail/index.js';
import { startSmtpListener } from '../mail/smtp.js';
import { createMetricsRoute, createStackMetrics, METRICS_PATH } from '../metrics/index.js';
import { createRealtimeService } from '../realtime/index.js';
import { createRestService } from '../rest/index.js';
import { startStripeFake } from '../fakes/stripe/index.js';
import { localStripeFor } from '../fakes/stripe/local.js';
import { createScheduler, invokeThroughGateway, jobsFromDatabase } from '../scheduler/index.js';
import { createStorageService } from '../storage/index.js';
import { storageSettings } from '../storage/settings.js';
import { httpAnswers, portAccepts } from '../supervisor/component.js';
import { fetchControlStatus, serveControl, type ControlServer } from '../supervisor/control.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { ProjectConfig } from '../config.js';
import { createMigratedDataDirectory, isSchemaCurrent, openProject, recordSchema } from './project.js';
import { unavailableRoute, unavailableServices } from './services.js';
import {
    alive,
    logFile,
    placeholderStatus,
    readStatusFile,
    removeStatusFile,
    renderEnv,
    renderPretty,
    writeStatusFile,
    type StackStatus,
} from './status-file.js';

export { renderEnv, renderPretty, type StackStatus } from './status-file.js';

/** A problem the user fixes (port taken, stack already running): printed without a stack trace. */
export class StackError extends Error {}

/** How often the supervisor checks every component. */
const HEALTH_INTERVAL_MS = 2_000;

export async function start(workdir: string): Promise<number> {
    const started = Date.now();
    // Postgres' output lines go to the log once the logger exists (below).
    let postgresLine: (line: string) => void = () => {};
    const project = openProject(workdir, (line) => postgresLine(line));
    // What the Supabase CLI warns about in this config.toml (deprecated keys), in its words.
    for (const warning of project.config.warnings) console.error(warning);
    const running = readStatusFile(project);
    if (running) {
        const state = running.components.stack === 'starting' ? 'is starting' : 'already runs';
        throw new StackError(`a stack for this project ${state} (pid ${running.pid}); \`npm run stop\` stops it`);
    }
    const { config } = project;
    const apiPort = config.api.port;
    const mailPort = config.inbucket?.port ?? config.local_smtp.port;
    const smtpPort = smtpPortOf(config);
    const stripe = localStripeFor(config);
    for (const [port, what] of [
        [apiPort, 'the API gateway ([api] port)'],
        [mailPort, 'the mail catcher ([local_smtp] port)'],
        ...(smtpPort ? [[smtpPort, "the mail catcher's SMTP listener ([local_smtp] smtp_port)"] as const] : []),
        ...(stripe.kind === 'fake' ? [[stripe.port, 'the Stripe fake ([local_stripe] port)'] as const] : []),
    ] as const) {
        if (!(await isPortFree(port))) {
            throw new StackError(`port ${port} for ${what} on 127.0.0.1 is already in use: stop what uses it (\`npm run stop\` for a stack left running) or set another port in supabase/config.toml`);
        }
    }

    // ---- logs, supervisor, metrics ----
    const logs = fileSink(logFile(project));
    const logger = createLogger('stack', teeSink(stdoutSink, logs.sink));
    const fileOnly = createLogger('stack', logs.sink);
    const say = (message: string) => {
        console.error(`• ${message}`);
        fileOnly.info(message);
    };
    postgresLine = postgresLineLogger(logger.child('database'));
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    let status: StackStatus = { ...placeholderStatus(process.pid), components: { stack: 'starting' } };
    let control: ControlServer | undefined;
    let ready = false;
    const writeStatus = () => writeStatusFile(project, { ...status, ...(ready ? { components: supervisor.summary(), details: supervisor.reports() } : {}), ...(control ? { control: { url: control.url, token: control.token } } : {}) });
    const supervisor = new Supervisor({ log: logger, onChange: () => ready && writeStatus() });
    const metrics = createStackMetrics({ components: () => supervisor.reports(), pools: () => supervisor.pools() });
    // Components start concurrently: `await component(…)` only registers the start (in this
    // order, which status keeps); `await allStarted()` waits for every start so far. So the
    // components before a barrier must not need each other's results — the gateway, which
    // routes to all of them, comes after one. The database is awaited for real: all need it.
    const starting: Array<Promise<unknown>> = [];
    const component = async (...args: Parameters<Supervisor['component']>): Promise<void> => {
        const start = supervisor.component(...args);
        if (args[2]?.required) await start;
        else starting.push(start);
    };
    const allStarted = () => Promise.all(starting);
    const poolErrors = (pool: string) => () => metrics.poolErrors.inc({ pool });
    // A bug in one request or background task is logged; it never takes the stack down.
    // (A closed stderr — the terminal or parent went away — must not become such an error.)
    process.stderr.on('error', () => {});
    let reporting = false;
    const report = (msg: string, error: unknown) => {
        if (reporting) return; // a failure while logging a failure: nothing more to say
        reporting = true;
        try {
            logger.error(msg, { error, stack: (error as Error)?.stack });
        } finally {
            reporting = false;
        }
    };
    process.on('unhandledRejection', (error) => report('unhandled promise rejection', error));
    process.on('uncaughtException', (error) => report('uncaught exception', error));

    let stopping: Promise<void> | undefined;
    const stopAll = () =>
        (stopping ??= (async () => {
            say('stopping');
            await control?.close().catch(() => {});
            await supervisor.stopAll();
            removeStatusFile(project);
            say('stopped');
            logs.close();
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

    // Written now, so that a second start sees this one while it is still starting.
    writeStatus();
    try {
        // ---- the database: everything else needs it ----
        if (!project.cluster.isInitialised()) await createMigratedDataDirectory(project, say);
        say(`starting PostgreSQL on port ${project.cluster.port}`);
        await component('database', databaseComponent(project.cluster, project.dbUrl), { required: true });
        if (isSchemaCurrent(project)) {
            say('database is up to date with the migrations: reusing it');
        } else {
            await resetDatabase({ url: project.dbUrl, workdir: project.workdir, log: say });
            recordSchema(project);
        }

        const jwt = jwtKeysFromConfig(config);
        const keys = await apiKeysFor(jwt);
        const routes: Record<string, FetchHandler> = {};
        const upgrades: Record<string, UpgradeHandler> = {};

        // ---- the components ----
        const mail = createMailCatcher({ onSent: () => metrics.mailSent.inc() });
        // Secrets for the functions from the stack's local stand-ins (the project's own win).
        const stackSecrets: Record<string, string> = {};
        await component('mail', async ({ log }) => {
            const server = await listen(mail.handler, { port: mailPort, log });
            const smtp = smtpPort ? await startSmtpListener(mail, { port: smtpPort }) : undefined;
            if (smtp) Object.assign(stackSecrets, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) });
            return {
                stop: async () => {
                    await smtp?.close();
                    await server.close();
                },
                health: () => httpAnswers(`${server.url}/api/v1/info`),
            };
        });
        let erpFakeUrl: string | undefined;
        if (erpConfigured(config)) {
            supervisor.disable('erp', "not started: the functions' secrets configure an ERP (ERP_ADAPTER)");
        } else {
            await component('erp', async () => {
                const erp = await startLocalErp();
                Object.assign(stackSecrets, erp.secrets);
                erpFakeUrl = erp.fake.url;
                return { stop: () => erp.fake.close(), health: () => httpAnswers(`${erp.fake.url}/__admin/faults`) };
            });
        }
        await component('rest', async ({ log }) => {
            const rest = await createRestService({ dbUrl: project.dbUrl, config, jwt, log, onConnectionError: poolErrors('rest') });
            routes['/rest/v1'] = rest.handler;
            return { stop: () => rest.close(), health: () => rest.health(), pools: { rest: rest.pool } };
        });
        await component('auth', async ({ log }) => {
            const auth = await createAuthService({ dbUrl: project.dbUrl, config, jwt, publicUrl: `${apiUrl}/auth/v1`, mail, log, onConnectionError: poolErrors('auth') });
            routes['/auth/v1'] = auth.handler;
            return { stop: () => auth.close(), health: () => auth.health(), pools: { auth: auth.pool } };
        });
        // Stripe: the local fake (webhooks to the stack's stripe-webhook function, like
        // `stripe listen --forward-to`), unless the functions' secrets hold a real key.
        if (stripe.kind === 'fake') {
            await component('stripe', async ({ log }) => {
                const fake = await startStripeFake({
                    port: stripe.port,
                    endpoints: [{ url: `${apiUrl}/functions/v1/stripe-webhook`, secret: stripe.webhookSecret }],
                    log: log.write,
                });
                return { stop: () => fake.close(), health: () => portAccepts(stripe.port) };
            });
        } else {
            supervisor.disable('stripe', "real Stripe (STRIPE_SECRET_KEY in the functions' secrets): forward webhooks with `stripe listen`");
        }
        if (config.edge_runtime.enabled === false) {
            supervisor.disable('functions', 'disabled in config.toml ([edge_runtime] enabled = false)');
        } else {
            await component('functions', async ({ log }) => {
                const functions = await createFunctionsService({
                    config,
                    jwt,
                    keys,
                    apiUrl,
                    dbUrl: project.dbUrl,
                    denoDir: path.join(project.localDir, 'deno'),
                    log: log.write,
                    hooks: {
                        boot: (name, outcome) => metrics.functionBoots.inc({ function: name, outcome }),
                        invocation: (name, status, seconds, code) => {
                            metrics.functionInvocations.inc({ function: name, status: String(status) });
                            metrics.functionWallSeconds.observe({ function: name }, seconds);
                            if (code) metrics.functionErrors.inc({ function: name, code });
                        },
                    },
                    stackSecrets,
                    // The Stripe fake's keys must be the ones it accepts: they win over the project's.
                    env: stripe.kind === 'fake' ? stripe.functionsEnv : undefined,
                });
                routes['/functions/v1'] = functions.handler;
                return { stop: () => functions.close(), health: () => functions.health(), pids: () => functions.pids() };
            });
        }
        if (!config.realtime.enabled) {
            supervisor.disable('realtime', 'disabled in config.toml ([realtime] enabled = false)');
        } else {
            await component('realtime', async ({ log }) => {
                const realtime = await createRealtimeService({ dbUrl: project.dbUrl, jwt, log: log.write });
                routes['/realtime/v1'] = realtime.handler;
                upgrades['/realtime/v1'] = realtime.upgrade;
                return { stop: () => realtime.close() };
            });
        }
        if (!storageSettings(config).enabled) {
            supervisor.disable('storage', 'disabled in config.toml ([storage] enabled = false)');
        } else {
            await component('storage', async ({ log }) => {
                const storage = await createStorageService({ dbUrl: project.dbUrl, config, jwt, dataDir: path.join(project.localDir, 'storage'), log: log.write });
                routes['/storage/v1'] = storage.handler;
                return { stop: () => storage.close() };
            });
        }
        // ---- what config.toml enables that no component above runs (stack/cli/services.ts) ----
        const unavailable = unavailableServices(config.raw, new Set(Object.keys(supervisor.reports())));
        for (const service of unavailable) {
            supervisor.disable(service.name, service.reason);
            if (service.prefix && !routes[service.prefix]) routes[service.prefix] = unavailableRoute(service);
        }
        if (unavailable.length) say(`not available locally (enabled in config.toml, not run by the local stack): ${unavailable.map((s) => s.name).join(', ')}`);

        await allStarted(); // every route is registered before the gateway reads them
        await component('gateway', async ({ log }) => {
            const metricsRoute = createMetricsRoute({ metrics, keys, jwt, dbUrl: project.dbUrl, log: log.child('metrics') });
            const accessLog = log.write;
            const gateway = createGateway({
                routes,
                keys,
                jwt,
                log,
                ownAuthRoutes: { [METRICS_PATH]: metricsRoute.handler },
                accessLog: (entry) => {
                    accessLog({ ...entry });
                    metrics.observeRequest({ prefix: entry.prefix, path: entry.path, method: entry.method, status: entry.status, seconds: entry.duration_ms / 1000 });
                },
            });
            const upgrade = createGatewayUpgrade({ routes: upgrades, keys, jwt, log, accessLog: (entry) => accessLog({ ...entry }) });
            const server = await listen(gateway, {
                port: apiPort,
                log,
                upgrade,
                // Uploads stream through to Storage, which enforces its own size limits.
                streamBodies: (pathname) => pathname.startsWith('/storage/v1/'),
            });
            return {
                stop: async () => {
                    await server.close();
                    await metricsRoute.close();
                },
                health: () => portAccepts(apiPort),
                pools: { metrics: metricsRoute.pool },
            };
        });
        await component('scheduler', async ({ log }) => {
            const source = jobsFromDatabase(project.dbUrl, poolErrors('scheduler'));
            const scheduler = createScheduler({
                loadJobs: source.loadJobs,
                invoke: invokeThroughGateway(apiUrl, keys),
                log: log.write,
                onRun: (run) => {
                    metrics.schedulerRuns.inc({ job: run.job, status: run.status === undefined ? 'error' : String(run.status) });
                    if (run.status === undefined || run.status >= 400) metrics.schedulerFailures.inc({ job: run.job });
                    metrics.schedulerLatenessSeconds.observe({ job: run.job }, run.latenessSeconds);
                },
            });
            scheduler.start();
            return { stop: () => scheduler.stop().finally(() => source.close()), health: () => scheduler.health(), pools: { scheduler: source.pool } };
        });

        // ---- ready: a live check, the status file, the table ----
        await allStarted();
        control = await serveControl(async () => ({ ...status, components: (await supervisor.check(), supervisor.summary()), details: supervisor.reports() }), logger.child('control'));
        await supervisor.check();
        status = {
            pid: process.pid,
            API_URL: apiUrl,
            DB_URL: project.dbUrl,
            ANON_KEY: keys.anon,
            SERVICE_ROLE_KEY: keys.serviceRole,
            PUBLISHABLE_KEY: keys.publishable,
            SECRET_KEY: keys.secret,
            JWT_SECRET: jwt.secret,
            MAILPIT_URL: `http://127.0.0.1:${mailPort}`,
            STORAGE_URL: routes['/storage/v1'] ? `${apiUrl}/storage/v1` : '',
            ...(erpFakeUrl ? { ERP_FAKE_URL: erpFakeUrl } : {}),
            STRIPE_API_URL: stripe.apiUrl,
            STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
            components: supervisor.summary(),
            details: supervisor.reports(),
        };
        ready = true;
        writeStatus();
        supervisor.watch(HEALTH_INTERVAL_MS);
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
    const current = readStatusFile(project);
    if (!current) {
        console.error('the local stack is not running (npm start)');
        return 1;
    }
    if (current.components.stack === 'starting') {
        console.error(`the local stack is starting (pid ${current.pid}); try again when it prints "ready"`);
        return 1;
    }
    const { control, ...known } = current;
    let live: StackStatus = known;
    let answered = true;
    if (control) {
        try {
            live = await fetchControlStatus<StackStatus>(control);
        } catch (error) {
            answered = false;
            console.error(`the stack (pid ${current.pid}) does not answer its control endpoint (${(error as Error).message}); showing its last written status`);
        }
    }
    if (output === 'env') {
        console.log(renderEnv(live));
        // npm printed its "> tillbase status" banner on stdout before these lines: not for eval.
        if (process.env.npm_lifecycle_event && process.env.npm_config_loglevel !== 'silent') {
            console.error('note: npm adds its banner to stdout; for eval use: eval "$(npm run -s status -- -o env)"');
        }
    }
    else if (output === 'json') console.log(JSON.stringify(live, null, 2));
    else console.log(renderPretty(live));
    return answered ? 0 : 1;
}

export async function stop(workdir: string): Promise<number> {
    const project = openProject(workdir);
    const say = (message: string) => console.error(`• ${message}`);
    const current = readStatusFile(project);
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

/** The mail catcher's SMTP port: [local_smtp] smtp_port (or the older [inbucket] smtp_port); none when unset. */
export function smtpPortOf(config: ProjectConfig): number | undefined {
    const value = (config.local_smtp as Record<string, unknown>).smtp_port ?? (config.inbucket as Record<string, unknown> | undefined)?.smtp_port;
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
        throw new StackError('[local_smtp] smtp_port must be a port number');
    }
    return value;
}
