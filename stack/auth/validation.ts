// GoTrue's input checks shared by the handlers: e-mail addresses (checkmail's format, as
// GoTrue's validateEmail) and phone numbers (E.164 after removing "+" and spaces, as
// GoTrue's validatePhone).
import { z } from 'zod';
import { badRequest } from './errors.js';

/** github.com/badoux/checkmail's format: a local part, "@", dot-separated host labels. */
const EMAIL = z
    .string()
    .regex(/^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/);

/** GoTrue's validateEmail: required, ≤255 chars, valid format; lower-cased. */
export function validateEmail(email: string): string {
    if (!email) throw badRequest('validation_failed', 'An email address is required');
    if (email.length > 255) throw badRequest('validation_failed', 'An email address is too long');
    if (!EMAIL.safeParse(email).success) throw badRequest('validation_failed', 'Unable to validate email address: invalid format');
    return email.toLowerCase();
}

const E164 = z.string().regex(/^[1-9]\d{1,14}$/);

/** GoTrue's formatPhoneNumber: the stored form of a number, without "+" and spaces. */
export function formatPhone(phone: string): string {
    return phone.replace(/^\+/, '').replaceAll(' ', '');
}

/** GoTrue's validatePhone: formatted, then E.164 digits; returns the stored form. */
export function validatePhone(phone: string): string {
    const formatted = formatPhone(phone);
    if (!E164.safeParse(formatted).success) throw badRequest('validation_failed', 'Invalid phone number format (E.164 required)');
    return formatted;
}
