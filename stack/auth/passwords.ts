// Password rules of [auth] (minimum length, required character classes) with GoTrue's
// messages, and bcrypt checks that take the same time whether or not the user exists.
import bcrypt from 'bcryptjs';
import { badRequest, WeakPasswordError } from './errors.js';
import type { AuthSettings } from './settings.js';
import { BCRYPT_COST } from './user-rows.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const SYMBOLS = "!@#$%^&*()_+-=[]{};':\"|<>?,./`~";
const LETTERS = LOWER + UPPER;

const REQUIREMENTS: Record<string, string[]> = {
    '': [],
    letters_digits: [LETTERS, DIGITS],
    lower_upper_letters_digits: [LOWER, UPPER, DIGITS],
    lower_upper_letters_digits_symbols: [LOWER, UPPER, DIGITS, SYMBOLS],
};

export const MAX_PASSWORD_LENGTH = 72;

/** The reasons a password is weak under the settings, with GoTrue's message; null when fine. */
export function passwordWeakness(settings: AuthSettings, password: string): { message: string; reasons: string[] } | null {
    const messages: string[] = [];
    const reasons: string[] = [];
    if (password.length < settings.minimumPasswordLength) {
        messages.push(`Password should be at least ${settings.minimumPasswordLength} characters.`);
        reasons.push('length');
    }
    const sets = REQUIREMENTS[settings.passwordRequirements] ?? [];
    if (sets.some((set) => ![...password].some((c) => set.includes(c)))) {
        messages.push(`Password should contain at least one character of each: ${sets.join(', ')}.`);
        reasons.push('characters');
    }
    return reasons.length ? { message: messages.join(' '), reasons } : null;
}

export function checkPasswordStrength(settings: AuthSettings, password: string): void {
    if (password.length > MAX_PASSWORD_LENGTH) {
        throw badRequest('validation_failed', `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
    }
    const weakness = passwordWeakness(settings, password);
    if (weakness) throw new WeakPasswordError(weakness.message, weakness.reasons);
}

// A real bcrypt hash of a random string: comparing against it costs as much as a real check.
// Precomputed (hashing it at every start cost more than the rest of the auth service's
// start); computed instead if the cost ever changes, so the comparison keeps that cost.
const PRECOMPUTED_DUMMY_HASH = '$2b$10$fY1yDYHgaruuc6X8K0pJ7ubTj.S38pY3g/6hYEZPwrGLRA/6arPEG';
const DUMMY_HASH = bcrypt.getRounds(PRECOMPUTED_DUMMY_HASH) === BCRYPT_COST ? PRECOMPUTED_DUMMY_HASH : bcrypt.hashSync('tillbase-no-such-user', BCRYPT_COST);

/** Compares in bcrypt time even when there is no user or no password. */
export async function passwordMatches(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
        await bcrypt.compare(password, DUMMY_HASH);
        return false;
    }
    try {
        return await bcrypt.compare(password, hash);
    } catch {
        return false;
    }
}
