// `npm run erp -- <command>`: drives the ERP fake of a running stack (or any fake given
// with --url / ERP_FAKE_URL) through its admin API.
//   status                      faults in force and what was received
//   faults [--error-rate 0.3] [--error-after-rate 0.1] [--timeout-rate 0.1] [--latency-ms 50] [--hang-ms 30000]
//          [--down | --up] [--seed 42 | --no-seed] [--calls sale.order.create,… | --calls all] [--clear]
//   report                      calls per model/method, injected faults, duplicate orders
//   orders                      the sale orders (and generic-API orders) it holds
//   stock [SKU=QTY …]           print stock, or set on-hand quantities
//   reset                       forget everything and clear the faults
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadProjectConfig } from '../../config.js';
import { PROJECT_ROOT } from '../../paths.js';

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        url: { type: 'string' },
        workdir: { type: 'string', default: PROJECT_ROOT },
        'error-rate': { type: 'string' },
        'error-after-rate': { type: 'string' },
        'timeout-rate': { type: 'string' },
        'latency-ms': { type: 'string' },
        'hang-ms': { type: 'string' },
        seed: { type: 'string' },
        'no-seed': { type: 'boolean' },
        down: { type: 'boolean' },
        up: { type: 'boolean' },
        clear: { type: 'boolean' },
        calls: { type: 'string' },
    },
});

function fakeUrl(): string {
    if (values.url) return values.url;
    if (process.env.ERP_FAKE_URL) return process.env.ERP_FAKE_URL;
    const statusFile = path.join(loadProjectConfig(values.workdir).workdir, '.local', 'stack.json');
    try {
        const status = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { ERP_FAKE_URL?: string };
        if (status.ERP_FAKE_URL) return status.ERP_FAKE_URL;
    } catch {
        // no running stack
    }
    throw new Error('no ERP fake found: start the stack (npm start) without an ERP configured, or pass --url');
}

async function admin(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${fakeUrl()}/__admin/${route}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the ERP fake answered ${response.status}: ${text}`);
    return JSON.parse(text);
}

const number = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`);
    return n;
};

const commands: Record<string, () => Promise<unknown>> = {
    status: async () => ({ url: fakeUrl(), faults: await admin('GET', 'faults'), report: await admin('GET', 'report') }),
    report: () => admin('GET', 'report'),
    orders: () => admin('GET', 'orders'),
    reset: () => admin('POST', 'reset'),
    stock: async () => {
        const items = positionals.slice(1).map((pair) => {
            const [sku, qty] = pair.split('=');
            if (!sku || qty === undefined || !Number.isFinite(Number(qty))) throw new Error(`stock: expected SKU=QTY, got ${pair}`);
            return { default_code: sku, quantity: Number(qty) };
        });
        if (items.length) await admin('POST', 'stock', { items });
        return admin('GET', 'stock');
    },
    faults: async () => {
        const patch = values.clear
            ? { error_rate: 0, error_after_rate: 0, timeout_rate: 0, latency_ms: 0, down: false, seed: null, calls: null }
            : Object.fromEntries(
                  Object.entries({
                      error_rate: number('error-rate', values['error-rate']),
                      error_after_rate: number('error-after-rate', values['error-after-rate']),
                      timeout_rate: number('timeout-rate', values['timeout-rate']),
                      latency_ms: number('latency-ms', values['latency-ms']),
                      hang_ms: number('hang-ms', values['hang-ms']),
                      seed: values['no-seed'] ? null : number('seed', values.seed),
                      down: values.down ? true : values.up ? false : undefined,
                      calls: values.calls === undefined ? undefined : values.calls === 'all' ? null : values.calls.split(','),
                  }).filter(([, v]) => v !== undefined),
              );
        return Object.keys(patch).length ? admin('PUT', 'faults', patch) : admin('GET', 'faults');
    },
};

const command = commands[positionals[0] ?? 'status'];
if (!command) {
    console.error(`usage: npm run erp -- <${Object.keys(commands).join('|')}> [options]`);
    process.exit(2);
}
try {
    console.log(JSON.stringify(await command(), null, 2));
} catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exitCode = 1;
}
