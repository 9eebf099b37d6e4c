import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PageRenderer } from '../pages/page-renderer';
import { isPageRequest } from '../pages/page-request';
import { ApiErrorBody } from './api-exception';
import { LoginRedirect } from './login-redirect';

/**
 * Turns every error into `{ statusCode, code, message }` JSON: the app's own exceptions, the session
 * module's (`SESSION_REQUIRED`...), Nest's (unknown route → 404 `NOT_FOUND`), body-parser's (malformed JSON →
 * 400, too large → 413) and unexpected ones (500 `INTERNAL_ERROR`, logged with the stack, never sent: the
 * details stay on the server).
 *
 * A {@link LoginRedirect} (a page visited without a session) becomes `303 See Other` to `/login`. Any other error of a
 * page request (marked by the session guard: a browser navigating to `/admin` without the role) becomes an HTML page
 * with the same status, code and message, in the site's layout under the CSP nonce; JSON routes keep the JSON.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  constructor(private readonly pages: PageRenderer) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      // Too late for an error body; end the response so the client is not left waiting.
      this.logger.error(`Error after the response started: ${describe(exception)}`);
      res.end();
      return;
    }
    if (exception instanceof LoginRedirect) {
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(HttpStatus.SEE_OTHER, '/login');
      return;
    }
    const body = errorBody(exception);
    if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(describe(exception), exception instanceof Error ? exception.stack : undefined);
    }
    res.status(body.statusCode);
    if (isPageRequest(res)) {
      const page = this.page(host.switchToHttp().getRequest<Request>(), res, body);
      if (page !== undefined) {
        res.send(page);
        return;
      }
    }
    res.json(body);
  }

  /** The error page, or undefined (JSON then) if rendering it failed: the filter is the last line, it must answer. */
  private page(req: Request, res: Response, body: ApiErrorBody): string | undefined {
    try {
      return this.pages.error(req, res, body);
    } catch (error) {
      this.logger.error(`Could not render the error page: ${describe(error)}`, error instanceof Error ? error.stack : undefined);
      return undefined;
    }
  }
}

/** The JSON error body for any thrown value. */
export function errorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && typeof (response as { code?: unknown }).code === 'string') {
      return { ...(response as ApiErrorBody), statusCode: status };
    }
    return { statusCode: status, code: codeFor(status), message: messageOf(response, exception.message) };
  }
  const httpError = asClientHttpError(exception);
  if (httpError) return { statusCode: httpError.status, code: codeFor(httpError.status), message: httpError.message };
  return { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' };
}

/** `404` → `NOT_FOUND`, `413` → `PAYLOAD_TOO_LARGE`: the name of the status, which is already UPPER_SNAKE. */
function codeFor(status: number): string {
  if (status === 500) return 'INTERNAL_ERROR';
  return (HttpStatus as unknown as Record<number, string | undefined>)[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'REQUEST_ERROR');
}

function messageOf(response: string | object, fallback: string): string {
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : fallback;
}

/**
 * Errors from Express middleware (body-parser's "request entity too large", an unsupported charset) carry a
 * 4xx `status` and `expose: true`, meaning their message is safe to show.
 */
function asClientHttpError(error: unknown): { status: number; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, expose, message } = error as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499 || expose !== true) return undefined;
  return { status, message: typeof message === 'string' ? message : 'Bad request.' };
}

function describe(exception: unknown): string {
  return exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception);
}
