import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SessionData, SessionService, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { MAX_QUANTITY, SKU_PATTERN } from './cart.dto';

/** One line of the cart. */
export interface CartLine {
  sku: string;
  qty: number;
}

/** The cart as the API shows it. */
export interface Cart {
  items: CartLine[];
  /** Units in the cart, all lines together. */
  totalQuantity: number;
}

/** Most distinct SKUs in a cart: session data is loaded on every request, so it must stay small. */
export const MAX_LINES = 50;

const KEY = 'cart';

/**
 * A shopping cart kept in the session data (key `cart`, a list of lines).
 *
 * Every change goes through `SessionService.update`, a compare-and-set that re-runs the change on the fresh
 * cart when a parallel request wrote first; so 50 simultaneous "add one" requests give 50 units, never fewer.
 * The change functions only compute (or throw): they may run several times.
 */
@Injectable()
export class CartService {
  constructor(private readonly sessions: SessionService) {}

  /** The session's cart. */
  view(session: SessionView): Cart {
    return toCart(readLines(session.data));
  }

  /** Adds `qty` units of `sku`, to its line if there is one. */
  async add(req: Request, sku: string, qty: number): Promise<Cart> {
    const session = await this.sessions.update(req, (data) => {
      const lines = readLines(data);
      const line = lines.find((l) => l.sku === sku);
      if (line) {
        if (line.qty + qty > MAX_QUANTITY) throw limit(`At most ${MAX_QUANTITY} units of one item.`);
        line.qty += qty;
      } else {
        if (lines.length >= MAX_LINES) throw limit(`At most ${MAX_LINES} different items in a cart.`);
        lines.push({ sku, qty });
      }
      data[KEY] = lines;
    });
    return toCart(readLines(session.data));
  }

  /** Removes the line of `sku`; 404 `CART_ITEM_NOT_FOUND` when the cart has none. */
  async remove(req: Request, sku: string): Promise<Cart> {
    const session = await this.sessions.update(req, (data) => {
      const lines = readLines(data);
      const kept = lines.filter((l) => l.sku !== sku);
      if (kept.length === lines.length) throw ApiException.notFound('CART_ITEM_NOT_FOUND', 'This item is not in your cart.');
      data[KEY] = kept;
    });
    return toCart(readLines(session.data));
  }
}

function limit(message: string): ApiException {
  return new ApiException({ statusCode: HttpStatus.UNPROCESSABLE_ENTITY, code: 'CART_LIMIT_EXCEEDED', message });
}

/** Stored JSON is read defensively: lines that do not look right are dropped rather than trusted. */
function readLines(data: SessionData): CartLine[] {
  const stored = data[KEY];
  if (!Array.isArray(stored)) return [];
  return stored
    .filter((l): l is CartLine => typeof l?.sku === 'string' && SKU_PATTERN.test(l.sku) && Number.isInteger(l?.qty) && l.qty > 0)
    .map((l) => ({ sku: l.sku, qty: l.qty }));
}

function toCart(items: CartLine[]): Cart {
  return { items, totalQuantity: items.reduce((sum, l) => sum + l.qty, 0) };
}
