// notifications adapter: Resend when RESEND_API_KEY is set (production), else SMTP to
// SMTP_HOST:SMTP_PORT (the local stack's mail catcher, which the stack passes in).
import { z } from 'zod';
import { createDb } from '../_shared/db.ts';
import { readEnv, PlatformEnv } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { createResendProvider, createSmtpProvider } from '../_shared/mail.ts';
import { serviceKeys } from '../_shared/service-role.ts';
import { handle } from './handler.ts';

const source = Deno.env.toObject();
const platform = readEnv(PlatformEnv, source);
const env = readEnv(
    z
        .object({
            RESEND_API_KEY: z.string().min(1).optional(),
            RESEND_API_URL: z.string().url().optional(),
            SMTP_HOST: z.string().min(1).default('127.0.0.1'),
            SMTP_PORT: z.coerce.number().int().min(1).max(65535).optional(),
            MAIL_FROM: z.string().min(3).default('Tillbase <orders@tillbase.local>'),
            SHOP_NAME: z.string().min(1).default('Tillbase'),
            SHOP_LOCALE: z.string().min(2).default('en-US'),
        })
        .refine((e) => e.RESEND_API_KEY || e.SMTP_PORT, { message: 'set RESEND_API_KEY (production) or SMTP_PORT (local mail catcher)', path: ['RESEND_API_KEY'] }),
    source,
);
const log = createLogger({ function: 'notifications' });
const mail = env.RESEND_API_KEY
    ? createResendProvider({ apiKey: env.RESEND_API_KEY, baseUrl: env.RESEND_API_URL })
    : await createSmtpProvider({ host: env.SMTP_HOST, port: env.SMTP_PORT! });
const deps = {
    serviceKeys: serviceKeys(platform),
    db: createDb(platform.SUPABASE_DB_URL),
    mail,
    shop: { name: env.SHOP_NAME, locale: env.SHOP_LOCALE },
    from: env.MAIL_FROM,
    clock: () => new Date(),
    log,
    worker: `notifications:${crypto.randomUUID().slice(0, 8)}`,
};

Deno.serve((request) => handle(request, deps));
