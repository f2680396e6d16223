// Money is integer minor units plus an ISO 4217 currency. The number of minor digits
// comes from Intl (EUR 2, JPY 0, BHD 3), never from a hand-kept table.

/** Minor digits of a currency: 2 for EUR/USD, 0 for JPY, 3 for BHD. */
export function minorDigits(currency: string): number {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units → a decimal amount in major units (what Odoo's float fields hold). */
export function toMajorUnits(amount: number, currency: string): number {
    const digits = minorDigits(currency);
    return Number((amount / 10 ** digits).toFixed(digits));
}

/** Major units (an ERP's float) → integer minor units. */
export function toMinorUnits(amount: number, currency: string): number {
    return Math.round(amount * 10 ** minorDigits(currency));
}

/** "€45.00", "45,00 €", "¥4,500": the shop's currency format for `locale`. */
export function formatMoney(amount: number, currency: string, locale = 'en-US'): string {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(toMajorUnits(amount, currency));
}
