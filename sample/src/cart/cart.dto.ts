import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

/** What a SKU may look like: letters, digits, `.`, `_`, `-`; starting with a letter or digit; at most 64. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Most units of one SKU in a cart. */
export const MAX_QUANTITY = 9999;

/** Body of `POST /cart/items`: adds `qty` units of `sku`. */
export class AddCartItemDto {
  @IsString()
  @Matches(SKU_PATTERN, { message: 'sku must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit' })
  sku: string;

  @IsInt()
  @Min(1)
  @Max(MAX_QUANTITY)
  qty: number;
}
