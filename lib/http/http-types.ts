/** The parts of a Node/Express request the module reads. */
export interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  /** Express's client address (honours the app's `trust proxy` setting). */
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** The parts of a Node/Express response the module writes. */
export interface HttpResponseLike {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  headersSent?: boolean;
}
