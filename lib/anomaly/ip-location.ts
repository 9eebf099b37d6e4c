import ipaddr from 'ipaddr.js';

/** Where an address is, approximately. */
export interface IpLocation {
  /** Degrees, -90 to 90. */
  latitude: number;
  /** Degrees, -180 to 180. */
  longitude: number;
  /** What a person reads: `Paris, France`. Plain text: escape it where you render HTML. */
  place: string;
}

/**
 * Turns an IP address into an approximate location, for impossible-travel detection and the device list. Plug in
 * a GeoIP database here (MaxMind GeoLite2 through `@maxmind/geoip2-node`, IP2Location, your CDN's header...):
 * the library ships none, because no offline table is both accurate and free to redistribute.
 *
 * Answer `undefined` when the address is unknown (private ranges, a miss). It is called only when a session's
 * network changes, and for the device list; a local database answers in microseconds, a remote API would sit on
 * the request path: cache it. A resolver that throws or rejects is reported and treated as "unknown": it never
 * fails the request.
 *
 * @example
 * const resolver: IpLocationResolver = {
 *   locate: (ip) => {
 *     const city = reader.city(ip); // @maxmind/geoip2-node Reader
 *     return city.location && { latitude: city.location.latitude, longitude: city.location.longitude, place: city.city?.names.en ?? '' };
 *   },
 * };
 */
export interface IpLocationResolver {
  locate(ip: string): IpLocation | undefined | Promise<IpLocation | undefined>;
}

/**
 * A fixed table of address ranges and their locations: for tests, demonstrations and an intranet whose sites you
 * know. Ranges are CIDR (`192.0.2.0/24`, `2001:db8::/32`); the longest matching range wins.
 *
 * @example new StaticIpLocationResolver({ '10.1.0.0/16': { latitude: 48.86, longitude: 2.35, place: 'Paris office' } })
 * @throws TypeError naming a range that is not CIDR, or a location out of range.
 */
export class StaticIpLocationResolver implements IpLocationResolver {
  private readonly ranges: { range: [ipaddr.IPv4 | ipaddr.IPv6, number]; location: IpLocation }[];

  constructor(table: Record<string, IpLocation>) {
    this.ranges = Object.entries(table).map(([cidr, location]) => {
      let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
      try {
        range = ipaddr.parseCIDR(cidr);
      } catch {
        throw new TypeError(`StaticIpLocationResolver: "${cidr}" is not a CIDR range; write it as "192.0.2.0/24" or "2001:db8::/32"`);
      }
      if (!(Math.abs(location.latitude) <= 90 && Math.abs(location.longitude) <= 180)) {
        throw new TypeError(`StaticIpLocationResolver: the location of "${cidr}" needs latitude -90..90 and longitude -180..180`);
      }
      return { range, location };
    });
    this.ranges.sort((a, b) => b.range[1] - a.range[1]);
  }

  locate(ip: string): IpLocation | undefined {
    if (!ipaddr.isValid(ip)) return undefined;
    const address = ipaddr.process(ip);
    for (const { range, location } of this.ranges) {
      if (range[0].kind() === address.kind() && address.match(range)) return location;
    }
    return undefined;
  }
}

const EARTH_RADIUS_KM = 6371;

/** Great-circle distance between two locations (km), by the haversine formula. */
export function distanceKm(a: Pick<IpLocation, 'latitude' | 'longitude'>, b: Pick<IpLocation, 'latitude' | 'longitude'>): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
