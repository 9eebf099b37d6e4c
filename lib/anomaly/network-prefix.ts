import ipaddr from 'ipaddr.js';

/** How much of an address names "the same network" (prefix lengths in bits). */
export interface NetworkPrefixLengths {
  /** IPv4 prefix length (bits, 8 to 32). Default 24: a NAT pool or a home router's renewals stay inside it. */
  ipv4: number;
  /** IPv6 prefix length (bits, 16 to 128). Default 48: the usual site allocation, across privacy addresses. */
  ipv6: number;
}

/** The defaults of {@link NetworkPrefixLengths}. */
export const DEFAULT_PREFIX_LENGTHS: Readonly<NetworkPrefixLengths> = { ipv4: 24, ipv6: 48 };

/**
 * The network an address belongs to, as a comparable string: `192.0.2.0/24`, `2001:db8:1::/48`. An IPv4-mapped
 * IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports) is the IPv4 address it carries. Text that is
 * not an IP address (an empty `req.ip` from a Unix socket) is its own network: `?` followed by the text.
 *
 * Parses with ipaddr.js (the parser Express's `trust proxy` uses), so every form Express reports is understood.
 *
 * @example networkPrefix('192.0.2.77') // '192.0.2.0/24'
 * @example networkPrefix('2001:db8:1:2::5', { ipv4: 24, ipv6: 48 }) // '2001:db8:1::/48'
 */
export function networkPrefix(ip: string, lengths: NetworkPrefixLengths = DEFAULT_PREFIX_LENGTHS): string {
  if (!ipaddr.isValid(ip)) return `?${ip}`;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') {
    const bytes = address.toByteArray();
    return `${maskBytes(bytes, lengths.ipv4).join('.')}/${lengths.ipv4}`;
  }
  const masked = maskBytes(address.toByteArray(), lengths.ipv6);
  return `${ipaddr.fromByteArray(masked).toString()}/${lengths.ipv6}`;
}

/** Zeroes every bit past `bits` (in place) and returns the bytes. */
function maskBytes(bytes: number[], bits: number): number[] {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return bytes;
}
