import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Public } from 'nest-session-kit';
import { SkewClock } from './skew.clock.js';

/** Moves the session clock forward; only in this test app (never expose such a route in a real one). */
@Public()
@Controller('test-clock')
export class TestClockController {
  constructor(private readonly clock: SkewClock) {}

  @Post('advance')
  @HttpCode(200)
  advance(@Body() body: { ms?: unknown }) {
    if (typeof body?.ms !== 'number') throw new BadRequestException('Send {"ms": <milliseconds>}.');
    this.clock.advance(body.ms);
    return { now: this.clock.now() };
  }
}
