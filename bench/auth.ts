// Benchmark: password sign-in latency through /auth/v1 (HTTP, bcrypt cost 10 as Supabase
// Auth uses, session + refresh token rows, JWT signing), measured sequentially so each
// figure is one request's latency; also the bare bcrypt comparison for reference.
//
//   npx tsx bench/auth.ts [--sign-ins 50]
//
// Starts its own throwaway Postgres cluster with the Supabase platform (auth schema).
import os from 'node:os';
import bcrypt from 'bcryptjs';
import { createAuthService } from '../stack/auth/index.js';
import { hashPassword } from '../stack/auth/user-rows.js';
import type { ProjectConfig } from '../stack/config.js';
import { startThrowawayCluster } from '../stack/db/cluster.js';
import { applyPlatform } from '../stack/db/platform.js';
import { listen } from '../stack/http.js';
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET } from '../stack/keys.js';
import { createMailCatcher } from '../stack/mail/index.js';
import { mean, percentile } from './stats.js';
import { createPgClient } from '../stack/db/connect.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SIGN_INS = option('sign-ins', 50);
const PASSWORD = 'bench-password-1';

function summary(label: string, samples: number[]): string {
    return `${label.padEnd(34)} n=${samples.length}  p50=${percentile(samples, 50).toFixed(1)} ms  p99=${percentile(samples, 99).toFixed(1)} ms  mean=${mean(samples).toFixed(1)} ms`;
}

async function main(): Promise<void> {
    const { cluster, dir: dataRoot, dispose } = await startThrowawayCluster('tillbase-bench-auth');
    try {
        const admin = createPgClient(cluster.url());
        await admin.connect();
        await admin.query('create database bench');
        await admin.end();
        const dbUrl = cluster.url('bench');
        await applyPlatform(dbUrl);

        const config = {
            project_id: 'bench',
            workdir: dataRoot,
            raw: {},
            auth: { site_url: 'http://127.0.0.1:3000', email: { enable_confirmations: false }, rate_limit: { sign_in_sign_ups: 100_000 } },
        } as unknown as ProjectConfig;
        let url = '';
        let inner: Parameters<typeof listen>[0] = async () => new Response(null, { status: 503 });
        const server = await listen(async (request, info) => inner(request, info), { port: 0 });
        url = server.url;
        const service = await createAuthService({
            dbUrl,
            config,
            jwt: { secret: LOCAL_JWT_SECRET, signingKeys: [] },
            publicUrl: `${url}/auth/v1`,
            mail: createMailCatcher(),
        });
        inner = service.handler;

        const email = 'bench@example.test';
        const signup = await fetch(`${url}/signup`, {
            method: 'POST',
            headers: { apikey: LOCAL_ANON_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ email, password: PASSWORD }),
        });
        if (!signup.ok) throw new Error(`sign-up failed: ${signup.status} ${await signup.text()}`);

        const signIn = async () => {
            const started = performance.now();
            const response = await fetch(`${url}/token?grant_type=password`, {
                method: 'POST',
                headers: { apikey: LOCAL_ANON_KEY, 'content-type': 'application/json' },
                body: JSON.stringify({ email, password: PASSWORD }),
            });
            await response.arrayBuffer();
            if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`);
            return performance.now() - started;
        };
        for (let i = 0; i < 3; i++) await signIn(); // warm-up
        const latencies: number[] = [];
        for (let i = 0; i < SIGN_INS; i++) latencies.push(await signIn());

        const hash = await hashPassword(PASSWORD);
        const compares: number[] = [];
        for (let i = 0; i < 20; i++) {
            const started = performance.now();
            await bcrypt.compare(PASSWORD, hash);
            compares.push(performance.now() - started);
        }

        console.log(`auth sign-in benchmark (bcrypt cost ${hash.slice(4, 6)}, sequential, ${os.cpus().length} CPUs)`);
        console.log(summary('POST /token?grant_type=password', latencies));
        console.log(summary('bcrypt.compare alone', compares));
        await server.close();
        await service.close();
    } finally {
        await dispose();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
