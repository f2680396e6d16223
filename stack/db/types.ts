// TypeScript types of a database through `supabase gen types`, formatted with prettier
// so the committed file is stable and readable.
import { format } from 'prettier';
import { cliDatabaseUrl, runSupabaseCli } from './supabase-cli.js';

export const TYPES_FILE = 'sdk/database.types.ts';

export async function generateTypes(url: string, workdir: string, schemas = ['public']): Promise<string> {
    const { stdout } = await runSupabaseCli(
        ['gen', 'types', 'typescript', `--remote=${cliDatabaseUrl(url)}`, '--schema', schemas.join(',')],
        { workdir },
    );
    return format(stdout, { parser: 'typescript', singleQuote: true, printWidth: 100, tabWidth: 2 });
}
