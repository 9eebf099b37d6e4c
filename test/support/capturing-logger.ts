/**
 * Test support: a Nest logger that keeps every warning and error it is given (the outage suites read what the app
 * logged while its store was down) and drops the rest.
 */
import { LoggerService } from '@nestjs/common';

export class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(message: unknown): void {
    this.errors.push(String(message));
  }
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}
