import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { CurrentSession, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { AlsoAPage } from '../pages/also-a-page.decorator';
import { AddCartItemDto, SKU_PATTERN } from './cart.dto';
import { Cart, CartService } from './cart.service';

/** `GET /cart`, `POST /cart/items`, `DELETE /cart/items/:sku`. A browser visiting `/cart` gets the cart page. */
@Controller('cart')
export class CartController {
  constructor(private readonly cart: CartService) {}

  @AlsoAPage('cart')
  @Get()
  get(@CurrentSession() session: SessionView): Cart {
    return this.cart.view(session);
  }

  /** 200 with the whole cart: adding to an existing line creates nothing, so not 201. */
  @Post('items')
  @HttpCode(200)
  add(@Body() body: AddCartItemDto, @Req() req: Request): Promise<Cart> {
    return this.cart.add(req, body.sku, body.qty);
  }

  @Delete('items/:sku')
  remove(@Param('sku') sku: string, @Req() req: Request): Promise<Cart> {
    if (!SKU_PATTERN.test(sku)) throw ApiException.notFound('CART_ITEM_NOT_FOUND', 'This item is not in your cart.');
    return this.cart.remove(req, sku);
  }
}
