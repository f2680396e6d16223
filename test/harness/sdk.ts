// The SDK against a test stack (test/harness/stack.ts): a catalogue written as the shop
// owner would (SQL as the superuser, product images uploaded to Storage with the service
// role), and `@tillbase/sdk` clients — from the sources' Node entry — for visitors and
// signed-in users. Everything a test then does goes through the SDK.
import { randomUUID } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import sharp from 'sharp';
import { createTillbaseClient, type TillbaseClient } from '../../sdk/src/node.ts';
import type { Credentials, StackHarness } from './stack.js';

export interface CatalogueVariant {
    id: string;
    sku: string;
    price: number;
}

export interface Catalogue {
    tag: string;
    /** Category slugs. */
    tees: string;
    mugs: string;
    /** Product slugs. */
    tee: string;
    mug: string;
    poster: string;
    retired: string;
    variants: {
        teeS: CatalogueVariant;
        teeM: CatalogueVariant;
        mug: CatalogueVariant;
        /** One unit on hand. */
        poster: CatalogueVariant;
        /** An inactive variant of the tee. */
        teeXl: CatalogueVariant;
    };
    /** The tee's image in product-images (800×600 PNG). */
    teeImage: string;
}

/** A shop of three active products in two categories, one retired product, stock and an image. */
export async function createCatalogue(stack: StackHarness): Promise<Catalogue> {
    const tag = randomUUID().slice(0, 6);
    const q = stack.db.query.bind(stack.db);
    const [tees] = await q<{ id: string }>(`insert into public.categories (slug, name) values ($1, 'T-shirts') returning id`, [`tees-${tag}`]);
    const [mugs] = await q<{ id: string }>(`insert into public.categories (slug, name) values ($1, 'Mugs') returning id`, [`mugs-${tag}`]);
    const teeImage = `tees/${tag}/merino.png`;
    const product = async (slug: string, name: string, description: string, category: string | null, image: string | null, active = true) =>
        (await q<{ id: string }>(
            `insert into public.products (slug, name, description, category_id, image_path, active) values ($1, $2, $3, $4, $5, $6) returning id`,
            [slug, name, description, category, image, active],
        ))[0]!.id;
    const variant = async (productId: string, sku: string, name: string, price: number, stock: number | null, active = true): Promise<CatalogueVariant> => {
        const [row] = await q<{ id: string }>(
            `insert into public.product_variants (product_id, sku, name, options, price_amount, currency, active)
             values ($1, $2, $3, jsonb_build_object('size', $3::text), $4, 'EUR', $5) returning id`,
            [productId, sku, name, price, active],
        );
        if (stock !== null) await q(`insert into public.inventory_levels (variant_id, on_hand) values ($1, $2)`, [row!.id, stock]);
        return { id: row!.id, sku, price };
    };
    const teeId = await product(`merino-tee-${tag}`, 'Merino Tee', 'A soft merino wool t-shirt', tees!.id, teeImage);
    const mugId = await product(`stoneware-mug-${tag}`, 'Stoneware Mug', 'Holds 100% of your coffee', mugs!.id, null);
    const posterId = await product(`poster-${tag}`, 'Poster', 'A print of the merino sheep', null, null);
    const retiredId = await product(`apron-${tag}`, 'Linen Apron', 'No longer sold', tees!.id, null, false);
    const variants = {
        teeS: await variant(teeId, `TEE-${tag}-S`, 'S', 4500, 100),
        teeM: await variant(teeId, `TEE-${tag}-M`, 'M', 4700, 100),
        teeXl: await variant(teeId, `TEE-${tag}-XL`, 'XL', 5200, 5, false),
        mug: await variant(mugId, `MUG-${tag}`, 'One size', 1800, 0),
        poster: await variant(posterId, `POSTER-${tag}`, 'A2', 2500, 1),
    };
    await variant(retiredId, `APRON-${tag}`, 'Linen', 3900, 10);

    const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toBuffer();
    const { error } = await stack.service().storage.from('product-images').upload(teeImage, png, { contentType: 'image/png' });
    if (error) throw error;

    return {
        tag,
        tees: `tees-${tag}`,
        mugs: `mugs-${tag}`,
        tee: `merino-tee-${tag}`,
        mug: `stoneware-mug-${tag}`,
        poster: `poster-${tag}`,
        retired: `apron-${tag}`,
        variants,
        teeImage,
    };
}

/** A client as an app makes it; sessions in memory, no refresh timer (the tests are short). */
export function sdkClient(stack: StackHarness): TillbaseClient {
    return createTillbaseClient(stack.url, stack.keys.anon, {
        supabase: { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false }, realtime: { reconnectAfterMs: () => 200 } },
    });
}

/** A client signed in with a password through the SDK's own supabase-js client. */
export async function signedIn(stack: StackHarness, credentials: Credentials): Promise<TillbaseClient> {
    const tb = sdkClient(stack);
    const { error } = await tb.supabase.auth.signInWithPassword({ email: credentials.email, password: credentials.password });
    if (error) throw error;
    return tb;
}

/** The current code of a TOTP secret, as an authenticator app shows it. */
export function totpCode(secret: string): string {
    return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
}
