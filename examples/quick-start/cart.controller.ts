// examples/quick-start/cart.controller.ts
import { Body, Controller, Get, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { CurrentSession, SessionService, type SessionView } from 'nest-session-kit';

export interface ItemDto {
  sku: string;
  quantity: number;
}

@Controller('cart')
export class CartController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  cart(@CurrentSession() session: SessionView) {
    return session.data.cart ?? [];
  }

  @Post('items')
  async add(@Req() req: Request, @Body() item: ItemDto) {
    // Compare-and-set: parallel requests never lose each other's items.
    const session = await this.sessions.update(req, (data) => ({ ...data, cart: [...((data.cart as ItemDto[]) ?? []), item] }));
    return session.data.cart;
  }
}
