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
import { PROJECT_ROOT } from '../paths.js';
import { dbLint, dbReset, genTypes } from './db-commands.js';
import { DenoMissingError } from '../functions/deno.js';
import { logs } from './logs.js';
import { StackError, start, status, stop } from './stack.js';

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        workdir: { type: 'string', default: PROJECT_ROOT },
        output: { type: 'string', short: 'o', default: 'pretty' },
        follow: { type: 'boolean', short: 'f', default: false },
    },
});

const commands: Record<string, () => Promise<number>> = {
    start: () => start(values.workdir),
    status: () => status(values.workdir, values.output),
    stop: () => stop(values.workdir),
    logs: () => logs(values.workdir, positionals[1], { follow: values.follow, output: values.output }),
    'db-reset': () => dbReset(values.workdir),
    'db-lint': () => dbLint(values.workdir),
    'gen-types': () => genTypes(values.workdir),
};

const command = commands[positionals[0] ?? ''];
if (!command) {
    console.error(`usage: tillbase <${Object.keys(commands).join('|')}> [component] [--workdir <dir>] [-o pretty|env|json] [--follow]`);
    process.exit(2);
}

try {
    process.exitCode = await command();
} catch (error) {
    const known = [ConfigError, ClusterError, ScriptError, SupabaseCliError, StackError, DenoMissingError].some((type) => error instanceof type);
    console.error(`error: ${known ? (error as Error).message : (error as Error).stack}`);
    process.exitCode = 1;
}
