// The auth mails with Supabase Auth's default subjects and bodies: a link to /verify with
// the hashed token, and the one-time code.
import type { AuthSettings } from './settings.js';

export type MailKind = 'confirmation' | 'invite' | 'magic_link' | 'recovery' | 'email_change' | 'reauthentication';

const SUBJECTS: Record<MailKind, string> = {
    confirmation: 'Confirm Your Email',
    invite: 'You have been invited',
    magic_link: 'Your Magic Link',
    recovery: 'Reset Your Password',
    email_change: 'Confirm Email Change',
    reauthentication: 'Confirm reauthentication',
};

export interface TemplateData {
    confirmationUrl: string;
    token: string;
    tokenHash: string;
    siteUrl: string;
    email: string;
    newEmail?: string;
    redirectTo: string;
}

function escapeHtml(value: string): string {
    return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function bodies(kind: MailKind, d: TemplateData): { html: string; text: string } {
    const link = escapeHtml(d.confirmationUrl);
    switch (kind) {
        case 'confirmation':
            return {
                html: `<h2>Confirm your email</h2>\n\n<p>Follow this link to confirm your email:</p>\n<p><a href="${link}">Confirm your email address</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Confirm your email\n\nFollow this link to confirm your email:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'invite':
            return {
                html: `<h2>You have been invited</h2>\n\n<p>You have been invited to create a user on ${escapeHtml(d.siteUrl)}. Follow this link to accept the invite:</p>\n<p><a href="${link}">Accept the invite</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `You have been invited\n\nYou have been invited to create a user on ${d.siteUrl}. Follow this link to accept the invite:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'magic_link':
            return {
                html: `<h2>Magic Link</h2>\n\n<p>Follow this link to login:</p>\n<p><a href="${link}">Log In</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Magic Link\n\nFollow this link to login:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'recovery':
            return {
                html: `<h2>Reset password</h2>\n\n<p>Follow this link to reset the password for your user:</p>\n<p><a href="${link}">Reset password</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Reset password\n\nFollow this link to reset the password for your user:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'email_change':
            return {
                html: `<h2>Confirm email address change</h2>\n\n<p>Follow this link to confirm the update of your email address from ${escapeHtml(d.email)} to ${escapeHtml(d.newEmail ?? '')}:</p>\n<p><a href="${link}">Change email address</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Confirm email address change\n\nFollow this link to confirm the update of your email address from ${d.email} to ${d.newEmail ?? ''}:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'reauthentication':
            return {
                html: `<h2>Confirm reauthentication</h2>\n\n<p>Enter the code: ${d.token}</p>`,
                text: `Confirm reauthentication\n\nEnter the code: ${d.token}\n`,
            };
    }
}

const CONFIG_TEMPLATE_NAMES: Record<MailKind, string> = {
    confirmation: 'confirmation',
    invite: 'invite',
    magic_link: 'magic_link',
    recovery: 'recovery',
    email_change: 'email_change',
    reauthentication: 'reauthentication',
};

/** Fills GoTrue template variables ({{ .ConfirmationURL }}, {{ .Token }}, …) of a custom template. */
function fillTemplate(template: string, d: TemplateData): string {
    const values: Record<string, string> = {
        ConfirmationURL: d.confirmationUrl,
        Token: d.token,
        TokenHash: d.tokenHash,
        SiteURL: d.siteUrl,
        Email: d.email,
        NewEmail: d.newEmail ?? '',
        RedirectTo: d.redirectTo,
    };
    return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, name: string) => (name in values ? escapeHtml(values[name]!) : whole));
}

function htmlToText(html: string): string {
    return html
        .replace(/<a [^>]*href="([^"]*)"[^>]*>(.*?)<\/a>/gi, '$2 ( $1 )')
        .replace(/<br\s*\/?>|<\/(p|h\d|div|li)>/gi, '\n')
        .replace(/<[^>]+>/g, '')
        .replace(/&amp;/g, '&')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
}

export function renderMail(settings: AuthSettings, kind: MailKind, data: TemplateData): { subject: string; html: string; text: string } {
    const name = CONFIG_TEMPLATE_NAMES[kind];
    const subject = settings.email.subjects[name] ?? SUBJECTS[kind];
    const custom = settings.email.templates[name];
    if (custom) {
        const html = fillTemplate(custom, data);
        return { subject, html, text: htmlToText(html) };
    }
    return { subject, ...bodies(kind, data) };
}

