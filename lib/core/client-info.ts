/** Who is on the other end of a request. */
export interface ClientInfo {
  /** The client's IP as the platform reports it (Express honours its `trust proxy` setting). */
  ip: string;
  /** The `User-Agent` header, or `''`. */
  userAgent: string;
}
