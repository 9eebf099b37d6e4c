import { ConsoleLogger, LogLevel } from '@nestjs/common';

/**
 * Nest's console logger, writing every level to stderr. Stdout is kept for what scripts read: the one
 * `listening on ...` line, and the security log when `SECURITY_LOG=-`.
 */
export class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}
