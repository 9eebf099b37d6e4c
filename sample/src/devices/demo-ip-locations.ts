import { IpLocationResolver, StaticIpLocationResolver } from '../../../lib';

/**
 * The sample's IP-to-location resolver: a fixed table over the address ranges reserved for documentation
 * (RFC 5737 TEST-NET-1/2/3 and RFC 3849 `2001:db8::/32`), which no real client ever uses. It lets the sample and its
 * tests show impossible travel and places on `/sessions` offline, with `TRUST_PROXY=loopback` and an
 * `X-Forwarded-For` from these ranges. Every other address, real ones included, has no known place.
 *
 * A real deployment plugs a GeoIP database in here (MaxMind GeoLite2, IP2Location...): see `IpLocationResolver`.
 */
export const DEMO_IP_LOCATIONS: IpLocationResolver = new StaticIpLocationResolver({
  '192.0.2.0/24': { latitude: 48.8566, longitude: 2.3522, place: 'Paris, France (demo range 192.0.2.0/24)' },
  '198.51.100.0/24': { latitude: -33.8688, longitude: 151.2093, place: 'Sydney, Australia (demo range 198.51.100.0/24)' },
  '203.0.113.0/24': { latitude: 40.7128, longitude: -74.006, place: 'New York, United States (demo range 203.0.113.0/24)' },
  '2001:db8::/32': { latitude: 52.52, longitude: 13.405, place: 'Berlin, Germany (demo range 2001:db8::/32)' },
});
