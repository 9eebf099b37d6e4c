import { Module } from '@nestjs/common';
import { CartController } from './cart.controller';
import { CartService } from './cart.service';

/** The shopping cart kept in the session. */
@Module({ controllers: [CartController], providers: [CartService], exports: [CartService] })
export class CartModule {}
