// A minimal hosted payment page for Checkout Sessions (`session.url`), so that a local
// checkout can be completed in a browser: one button per test card, then the redirect
// to `success_url` (or `cancel_url`). 3-D Secure cards get a challenge page.
import type { FetchHandler } from '../../http.js';
import type { StripeAccount } from './account.js';
import { StripeApiError } from './errors.js';
import { Params } from './params.js';

const CARDS: Array<[string, string]> = [
    ['pm_card_visa', 'Visa 4242 — succeeds'],
    ['pm_card_chargeDeclined', 'Visa 0002 — declined'],
    ['pm_card_authenticationRequired', 'Visa 3184 — 3-D Secure'],
    ['pm_card_createDispute', 'Visa 0259 — succeeds, then disputed'],
];

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const html = (title: string, body: string, status = 200) =>
    new Response(`<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><body style="font-family: system-ui; max-width: 32rem; margin: 3rem auto">${body}</body>`, {
        status,
        headers: { 'content-type': 'text/html; charset=utf-8' },
    });

const redirect = (to: string) => new Response(null, { status: 303, headers: { location: to } });

export function hostedPage(account: StripeAccount, baseUrl: () => string): FetchHandler {
    const context = { requestId: null, idempotencyKey: null };
    const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;

    return async (request) => {
        const url = new URL(request.url);
        const parts = url.pathname.split('/');
        const kind = parts[1];
        const id = (kind === '3ds' ? parts[2] : parts[3]) ?? '';
        const form = request.method === 'POST' ? new URLSearchParams(await request.text()) : undefined;
        try {
            if (kind === '3ds') {
                const intent = account.retrievePaymentIntent(id);
                if (form) {
                    account.authenticatePaymentIntent(id, new Params({ outcome: form.get('outcome') ?? 'fail' }, ['outcome']), context);
                    const session = [...account.sessions.values()].find((s) => s.payment_intent === id);
                    if (session?.status === 'complete' && session.success_url) return redirect(session.success_url.replace('{CHECKOUT_SESSION_ID}', session.id));
                    if (session) return redirect(`${baseUrl()}/c/pay/${session.id}`);
                    return html('3-D Secure', `<p>PaymentIntent ${escape(id)} is now <b>${escape(intent.status)}</b>.</p>`);
                }
                return html(
                    '3-D Secure',
                    `<h1>3-D Secure test challenge</h1><p>${money(intent.amount, intent.currency)}</p><form method="post">` +
                        `<button name="outcome" value="succeed">Complete authentication</button> <button name="outcome" value="fail">Fail authentication</button></form>`,
                );
            }
            const session = account.retrieveCheckoutSession(id);
            if (form?.get('cancel') && session.cancel_url) return redirect(session.cancel_url);
            if (form) {
                account.confirmPaymentPage(id, new Params({ payment_method: form.get('payment_method') ?? '' }, ['payment_method']), context);
                const intent = account.retrievePaymentIntent(session.payment_intent!);
                if (intent.status === 'requires_action') return redirect(`${baseUrl()}/3ds/${intent.id}`);
                if (session.status === 'complete' && session.success_url) return redirect(session.success_url.replace('{CHECKOUT_SESSION_ID}', session.id));
            }
            if (session.status !== 'open') return html('Checkout', `<p>This checkout session is <b>${escape(session.status)}</b>.</p>`, 410);
            const buttons = CARDS.map(([pm, label]) => `<p><button name="payment_method" value="${pm}">${escape(label)}</button></p>`).join('');
            return html(
                'Checkout (Stripe fake)',
                `<h1>Pay ${money(session.amount_total, session.currency)}</h1><p>Stripe test mode (local fake). Expires ${new Date(session.expires_at * 1000).toISOString()}.</p>` +
                    `<form method="post">${buttons}${session.cancel_url ? '<p><button name="cancel" value="1">Back</button></p>' : ''}</form>`,
            );
        } catch (error) {
            if (error instanceof StripeApiError) return html('Checkout', `<p>${escape(error.message)}</p><p><a href="${escape(url.pathname)}">Try again</a></p>`, error.status === 404 ? 404 : 200);
            throw error;
        }
    };
}
