// Entry point of the local stack: `tillbase <command> [--workdir <dir>] [-o env|json]`.
//   start      run the whole local stack until Ctrl-C (npm start)
//   status     print URLs, keys and the live state of each component of the running stack
//   logs       print the stack's log (.local/stack.log): `logs [component] [--follow]`
//   stop       stop a running stack or a database left running by db-reset
//   db-reset   recreate the database: platform, migrations (supabase db push), seed
//   db-lint    Supabase's security and performance advisors; non-zero on WARN or above
//   gen-types  write sdk/database.types.ts from the migrations (supabase gen types)
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { ClusterError } from '../db/cluster.js';
import { ScriptError } from '../db/script.js';
import { SupabaseCliError } from '../db/supabase-cli.js';
import { DenoMissingError } from '../functions/deno.js';
import { PROJECT_ROOT } from '../paths.js';

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        workdir: { type: 'string', default: PROJECT_ROOT },
        output: { type: 'string', short: 'o', default: 'pretty' },
        follow: { type: 'boolean', short: 'f', default: false },
    },
});

// Each command loads only its own modules (`status` needs none of the services, `start`
// not the type generator's prettier).
const stack = () => import('./stack.js');
const dbCommands = () => import('./db-commands.js');
const commands: Record<string, () => Promise<number>> = {
    start: async () => (await stack()).start(values.workdir),
    status: async () => (await stack()).status(values.workdir, values.output),
    stop: async () => (await stack()).stop(values.workdir),
    logs: async () => (await import('./logs.js')).logs(values.workdir, positionals[1], { follow: values.follow, output: values.output }),
    'db-reset': async () => (await dbCommands()).dbReset(values.workdir),
    'db-lint': async () => (await dbCommands()).dbLint(values.workdir),
    'gen-types': async () => (await dbCommands()).genTypes(values.workdir),
};

const command = commands[positionals[0] ?? ''];
if (!command) {
    console.error(`usage: tillbase <${Object.keys(commands).join('|')}> [component] [--workdir <dir>] [-o pretty|env|json] [--follow]`);
    process.exit(2);
}

try {
    process.exitCode = await command();
} catch (error) {
    const { StackError } = await stack();
    const known = [ConfigError, ClusterError, ScriptError, SupabaseCliError, StackError, DenoMissingError].some((type) => error instanceof type);
    console.error(`error: ${known ? (error as Error).message : (error as Error).stack}`);
    process.exitCode = 1;
}
