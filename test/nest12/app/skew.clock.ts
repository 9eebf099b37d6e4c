import { Global, Injectable, Module } from '@nestjs/common';
import { Clock } from 'nest-session-kit';

/**
 * The wall clock plus an offset the suite moves forward (POST /test-clock/advance), passed to SessionModule as
 * its `clock` option: periodic rotation is tested in milliseconds of real time, and a subclass of the package's
 * abstract `Clock` defined in an ESM app checks that the class crosses the CommonJS/ESM boundary intact.
 */
@Injectable()
export class SkewClock extends Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`SkewClock.advance: ms must be an integer >= 0, got ${ms}`);
    this.offsetMs += ms;
  }
}

@Global()
@Module({ providers: [SkewClock], exports: [SkewClock] })
export class ClockModule {}
