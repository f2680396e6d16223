// The storefront's catalogue: active products with their active variants, prices, an
// availability flag (`in_stock` — the API never shows stock counts) and image URLs from
// the public `product-images` bucket (the original and a thumbnail rendered by Storage's
// image transformation). Visitors and signed-in users see the same catalogue.
import type { Tables } from '../database.types.ts';
import type { Context } from './context.ts';
import { CatalogListInput } from './contract/catalog.ts';
import { failure } from './error-mapping.ts';
import type { TillbaseRequest } from './result.ts';
import { parseWith } from './validate.ts';

export const PRODUCT_IMAGES_BUCKET = 'product-images';

export interface CatalogImage {
    /** The object's key in the `product-images` bucket (`products.image_path`). */
    path: string;
    /** Public URL of the original. */
    url: string;
    /** Public URL of a thumbnail rendered by Storage (`/render/image/public/…`, the client's `thumbnail` options). */
    thumbnailUrl: string;
}

export type CatalogCategory = Pick<Tables<'categories'>, 'slug' | 'name'>;

/** A variant as the storefront shows it: the row's public columns, plus its image (or the product's). */
export type CatalogVariant = Pick<Tables<'product_variants'>, 'id' | 'sku' | 'name' | 'options' | 'price_amount' | 'currency' | 'in_stock' | 'image_path'> & {
    image: CatalogImage | null;
};

export type CatalogProduct = Pick<Tables<'products'>, 'id' | 'slug' | 'name' | 'description' | 'image_path'> & {
    category: CatalogCategory | null;
    image: CatalogImage | null;
    /** Active variants, cheapest first. */
    variants: CatalogVariant[];
    /** At least one variant can be bought now. */
    in_stock: boolean;
    /** The cheapest and dearest variant, in minor units; null without variants. */
    price_range: { min: number; max: number; currency: string } | null;
};

export interface CatalogPage {
    products: CatalogProduct[];
    /** Products matching the filters, all pages together. */
    total: number;
}

export type CatalogListOptions = CatalogListInput;

export interface CatalogApi {
    /** Active products (by name), filtered by category slug and a search in name and description. */
    list(options?: CatalogListOptions): TillbaseRequest<CatalogPage>;
    /** One active product by slug; `not_found` when there is none. */
    get(slug: string): TillbaseRequest<CatalogProduct>;
}

const VARIANT_COLUMNS = 'id, sku, name, options, price_amount, currency, in_stock, image_path, active';
const PRODUCT_COLUMNS = 'id, slug, name, description, image_path';

type VariantRow = Omit<CatalogVariant, 'image'> & Pick<Tables<'product_variants'>, 'active'>;
type ProductRow = Pick<CatalogProduct, 'id' | 'slug' | 'name' | 'description' | 'image_path'> & {
    category: CatalogCategory | null;
    variants: VariantRow[];
};

/** A search term as a quoted PostgREST value of an ilike pattern: LIKE's % _ \ taken literally. */
function containsPattern(term: string): string {
    const like = `%${term.replace(/[\\%_]/g, '\\$&')}%`;
    return `"${like.replace(/[\\"]/g, '\\$&')}"`;
}

export function createCatalog(ctx: Context): CatalogApi {
    const image = (path: string | null): CatalogImage | null => {
        if (!path) return null;
        const bucket = ctx.supabase.storage.from(PRODUCT_IMAGES_BUCKET);
        return {
            path,
            url: bucket.getPublicUrl(path).data.publicUrl,
            thumbnailUrl: bucket.getPublicUrl(path, { transform: ctx.thumbnail }).data.publicUrl,
        };
    };

    const toProduct = (row: ProductRow): CatalogProduct => {
        const variants = row.variants
            .filter((v) => v.active)
            .sort((a, b) => a.price_amount - b.price_amount || a.sku.localeCompare(b.sku))
            .map(({ active: _active, ...v }): CatalogVariant => ({ ...v, image: image(v.image_path ?? row.image_path) }));
        const prices = variants.map((v) => v.price_amount);
        return {
            id: row.id,
            slug: row.slug,
            name: row.name,
            description: row.description,
            image_path: row.image_path,
            category: row.category,
            image: image(row.image_path),
            variants,
            in_stock: variants.some((v) => v.in_stock),
            price_range: variants.length ? { min: Math.min(...prices), max: Math.max(...prices), currency: variants[0]!.currency } : null,
        };
    };

    // Staff may read inactive rows too; the storefront shows active ones only.
    const select = (categoryJoin: 'inner' | 'left', count?: { head: boolean }) =>
        ctx.supabase
            .from('products')
            .select(`${PRODUCT_COLUMNS}, category:categories!${categoryJoin}(slug, name), variants:product_variants(${VARIANT_COLUMNS})`, count ? { count: 'exact', head: count.head } : undefined)
            .eq('active', true);

    return {
        list(options = {}) {
            return ctx.run(async () => {
                const input = parseWith(CatalogListInput, options);
                const limit = input.limit ?? 24;
                const offset = input.offset ?? 0;
                const filtered = (head: boolean) => {
                    let query = select(input.category ? 'inner' : 'left', { head });
                    if (input.category) query = query.eq('category.slug', input.category);
                    if (input.search) {
                        const pattern = containsPattern(input.search);
                        query = query.or(`name.ilike.${pattern},description.ilike.${pattern}`);
                    }
                    return query;
                };
                const response = await filtered(false).order('name').order('id').range(offset, offset + limit - 1);
                if (response.error?.code === 'PGRST103') {
                    // PostgREST answers an offset past the last product with 416: an empty page, and the count.
                    const counted = await filtered(true);
                    await ctx.rows(counted);
                    return { products: [], total: counted.count ?? 0 };
                }
                const rows = await ctx.rows(response);
                return { products: (rows as unknown as ProductRow[]).map(toProduct), total: response.count ?? 0 };
            });
        },
        get(slug) {
            return ctx.run(async () => {
                const response = await select('left').eq('slug', slug).maybeSingle();
                const row = await ctx.rows(response);
                if (!row) throw failure('not_found', `No product ${JSON.stringify(slug)} in the catalogue`);
                return toProduct(row as unknown as ProductRow);
            });
        },
    };
}
