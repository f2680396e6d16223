// The auth mails with Supabase Auth's default subjects and bodies: a link to /verify with
// the hashed token, and the one-time code.
import type { AuthSettings } from './settings.js';

export type MailKind = 'confirmation' | 'invite' | 'magic_link' | 'recovery' | 'email_change' | 'reauthentication';

const SUBJECTS: Record<MailKind, string> = {
    confirmation: 'Confirm Your Signup',
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
                html: `<h2>Confirm your signup</h2>\n\n<p>Follow this link to confirm your user:</p>\n<p><a href="${link}">Confirm your mail</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Confirm your signup\n\nFollow this link to confirm your user:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
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
                html: `<h2>Reset Password</h2>\n\n<p>Follow this link to reset the password for your user:</p>\n<p><a href="${link}">Reset Password</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Reset Password\n\nFollow this link to reset the password for your user:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
            };
        case 'email_change':
            return {
                html: `<h2>Confirm Change of Email</h2>\n\n<p>Follow this link to confirm the update of your email from ${escapeHtml(d.email)} to ${escapeHtml(d.newEmail ?? '')}:</p>\n<p><a href="${link}">Change Email</a></p>\n<p>Alternatively, enter the code: ${d.token}</p>`,
                text: `Confirm Change of Email\n\nFollow this link to confirm the update of your email from ${d.email} to ${d.newEmail ?? ''}:\n${d.confirmationUrl}\n\nAlternatively, enter the code: ${d.token}\n`,
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

export function renderMail(settings: AuthSettings, kind: MailKind, data: TemplateData): { subject: string; html: string; text: string } {
    const subject = settings.email.subjects[CONFIG_TEMPLATE_NAMES[kind]] ?? SUBJECTS[kind];
    return { subject, ...bodies(kind, data) };
}

export const MAIL_FROM = 'Admin <admin@email.com>';
