// Password guessing against one account: a stranger's failures cannot lock the owner out,
// while guessing from many addresses is still cut off. The design (per-IP failures, a
// per-account budget each IP adds at most 3 failures to, exempting IPs the owner signed in
// from) is described in docs/auth.md. Clients on different loopback addresses play
// different IPs.
import { beforeEach, describe, expect, it } from 'vitest';
import { email, useAuthService } from '../../harness/auth.js';

// sign_in_sign_ups = 5 in this fixture: 5 failures per IP, and per account, in five minutes.
const auth = useAuthService('limits');
const PASSWORD = 'lockout-pass-1';

beforeEach(() => auth.advance(60 * 60_000));

async function account() {
    const address = email('owner');
    const { error } = await auth.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    expect(error).toBeNull();
    return address;
}

const signIn = (ip: string, address: string, password: string) => auth.client({ from: ip }).auth.signInWithPassword({ email: address, password });

describe('a stranger cannot lock the owner out', () => {
    it('30 wrong passwords from one IP: that IP is refused, the owner signs in from another IP', async () => {
        const address = await account();
        const statuses: number[] = [];
        for (let i = 0; i < 30; i++) statuses.push((await signIn('127.0.1.1', address, `guess-${i}`)).error!.status!);
        expect(statuses.slice(0, 5)).toEqual(Array(5).fill(400));
        expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
        // The owner, on a device that never signed in before.
        const { data, error } = await signIn('127.0.1.2', address, PASSWORD);
        expect(error).toBeNull();
        expect(data.session?.user.email).toBe(address);
    });

    it('the owner on a known device still signs in while the account is under attack from many IPs', async () => {
        const address = await account();
        expect((await signIn('127.0.2.1', address, PASSWORD)).error).toBeNull();
        for (let ip = 10; ip < 30; ip++) await signIn(`127.0.2.${ip}`, address, 'wrong-guess');
        const { error } = await signIn('127.0.2.1', address, PASSWORD);
        expect(error).toBeNull();
    });
});

describe('guessing from many IPs is still cut off', () => {
    it('once the account budget is spent, unknown IPs get 429 even with the right password, until it refills', async () => {
        const address = await account();
        const answers: Array<string | undefined> = [];
        // Two guesses from each of 10 addresses: no IP reaches its own limit.
        for (let ip = 10; ip < 20; ip++) {
            for (let n = 0; n < 2; n++) answers.push((await signIn(`127.0.3.${ip}`, address, `guess-${ip}-${n}`)).error?.code);
        }
        expect(answers.slice(0, 5)).toEqual(Array(5).fill('invalid_credentials'));
        expect(answers.slice(5)).toEqual(Array(15).fill('over_request_rate_limit'));
        // The right password from a fresh address tells the attacker nothing: still 429, no session.
        const lucky = await signIn('127.0.3.99', address, PASSWORD);
        expect(lucky.error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
        expect(lucky.data.session).toBeNull();
        auth.advance(5 * 60_000);
        expect((await signIn('127.0.3.99', address, PASSWORD)).error).toBeNull();
    });

    it('one IP adds at most three failures to an account budget', async () => {
        const address = await account();
        // 3 failures from .1 (then it keeps failing, but no longer spends the account budget)...
        for (let n = 0; n < 5; n++) await signIn('127.0.4.1', address, `guess-${n}`);
        // ...so a second IP still has 2 guesses before the account closes to strangers.
        expect((await signIn('127.0.4.2', address, 'guess-a')).error?.code).toBe('invalid_credentials');
        expect((await signIn('127.0.4.2', address, 'guess-b')).error?.code).toBe('invalid_credentials');
        expect((await signIn('127.0.4.2', address, 'guess-c')).error?.code).toBe('over_request_rate_limit');
    });
});
