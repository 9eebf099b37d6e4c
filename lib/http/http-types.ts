/**
 * The parts of an HTTP request the module reads: an Express `Request`, a Node `IncomingMessage` or a Fastify
 * `FastifyRequest` (what `@Req()` gives on `@nestjs/platform-express` and `@nestjs/platform-fastify`).
 */
export interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  /**
   * The client address as the platform reports it: Express's `req.ip` honours the app's `trust proxy` setting,
   * Fastify's `request.ip` its `trustProxy` option; both are the socket address when no proxy is trusted.
   */
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** The parts of a Node `ServerResponse` or an Express `Response` the module writes. */
export interface NodeResponseLike {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  headersSent?: boolean;
}

/**
 * The parts of a Fastify `FastifyReply` the module writes (what `@Res({ passthrough: true })` gives on
 * `@nestjs/platform-fastify`). Pass the reply itself, not `reply.raw`: Fastify sends the reply's headers over the raw
 * response's, so a `Set-Cookie` written on `raw` would be lost when anything else sets one on the reply.
 */
export interface FastifyReplyLike {
  getHeader(name: string): number | string | string[] | undefined;
  header(name: string, value: string | string[]): unknown;
  removeHeader(name: string): unknown;
  raw: { headersSent: boolean };
}

/** A response the module can write headers and cookies to: Node/Express ({@link NodeResponseLike}) or Fastify ({@link FastifyReplyLike}). */
export type HttpResponseLike = NodeResponseLike | FastifyReplyLike;
