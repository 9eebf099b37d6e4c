/** The comparisons session binding rests on: networks (IP prefixes) and devices (browser family and OS). */
import { describeDevice, distanceKm, networkPrefix, relativeTime, StaticIpLocationResolver } from '../../../lib';

const CHROME_120_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';
const CHROME_121_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';

describe('networkPrefix', () => {
  it('puts IPv4 addresses of one /24 in one network, and the next /24 in another', () => {
    expect(networkPrefix('192.0.2.7')).toBe('192.0.2.0/24');
    expect(networkPrefix('192.0.2.250')).toBe('192.0.2.0/24');
    expect(networkPrefix('192.0.3.7')).toBe('192.0.3.0/24');
  });

  it('puts IPv6 addresses of one /48 in one network (privacy addresses, other subnets of the site)', () => {
    expect(networkPrefix('2001:db8:1:2::5')).toBe('2001:db8:1::/48');
    expect(networkPrefix('2001:db8:1:ffff:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1::/48');
    expect(networkPrefix('2001:db8:2::5')).toBe('2001:db8:2::/48');
  });

  it('reads an IPv4-mapped IPv6 address (a dual-stack socket) as the IPv4 address', () => {
    expect(networkPrefix('::ffff:192.0.2.9')).toBe('192.0.2.0/24');
  });

  it('takes other prefix lengths, down to the exact address', () => {
    expect(networkPrefix('192.0.2.7', { ipv4: 16, ipv6: 48 })).toBe('192.0.0.0/16');
    expect(networkPrefix('192.0.2.7', { ipv4: 32, ipv6: 128 })).toBe('192.0.2.7/32');
    expect(networkPrefix('192.0.2.77', { ipv4: 28, ipv6: 48 })).toBe('192.0.2.64/28');
    expect(networkPrefix('2001:db8:1:2::5', { ipv4: 24, ipv6: 64 })).toBe('2001:db8:1:2::/64');
  });

  it('keeps text that is not an address apart from every address', () => {
    expect(networkPrefix('')).toBe('?');
    expect(networkPrefix('not-an-ip')).toBe('?not-an-ip');
  });
});

describe('describeDevice', () => {
  it('sees a browser update as the same device', () => {
    expect(describeDevice(CHROME_120_LINUX).key).toBe(describeDevice(CHROME_121_LINUX).key);
    expect(describeDevice(CHROME_121_LINUX).label).toBe('Chrome on Linux');
  });

  it('tells browsers and operating systems apart', () => {
    const keys = [CHROME_121_LINUX, FIREFOX_LINUX, CHROME_WINDOWS, SAFARI_IPHONE].map((ua) => describeDevice(ua).key);
    expect(new Set(keys).size).toBe(4);
    expect(describeDevice(FIREFOX_LINUX).label).toBe('Firefox on Linux');
    expect(describeDevice(CHROME_WINDOWS).label).toBe('Chrome on Windows');
    expect(describeDevice(SAFARI_IPHONE).label).toBe('Mobile Safari on iOS');
  });

  it('names a client it does not recognise by its product, and compares its whole text without versions', () => {
    expect(describeDevice('curl/8.5.0')).toMatchObject({ label: 'curl', key: describeDevice('curl/7.1').key });
    expect(describeDevice('curl/8.5.0').key).not.toBe(describeDevice('python-requests/2.31').key);
    expect(describeDevice('Mozilla/5.0 TestAgent-A').label).toBe('Mozilla');
    expect(describeDevice('Mozilla/5.0 TestAgent-A').key).not.toBe(describeDevice('Mozilla/5.0 TestAgent-B').key);
    expect(describeDevice('').label).toBe('Unknown device');
  });

  it('keeps markup out of the product name it derives', () => {
    expect(describeDevice('<script>alert(1)</script>').label).toBe('Unknown device');
  });
});

describe('relativeTime', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    [10_000, 'just now'],
    [60_000, '1 minute ago'],
    [3 * 60_000 + 59_000, '3 minutes ago'],
    [2 * 3_600_000, '2 hours ago'],
    [86_400_000, 'yesterday'],
    [15 * 86_400_000, '2 weeks ago'],
    [-5000, 'just now'],
  ])('%d ms ago reads %j', (ago, text) => {
    expect(relativeTime(now - ago, now)).toBe(text);
  });
});

describe('StaticIpLocationResolver and distanceKm', () => {
  const paris = { latitude: 48.8566, longitude: 2.3522, place: 'Paris' };
  const sydney = { latitude: -33.8688, longitude: 151.2093, place: 'Sydney' };

  it('finds the longest matching range, IPv4 and IPv6, and nothing elsewhere', () => {
    const office = { latitude: 48.85, longitude: 2.35, place: 'Paris office' };
    const resolver = new StaticIpLocationResolver({ '192.0.2.0/24': paris, '192.0.2.128/25': office, '2001:db8::/32': sydney });
    expect(resolver.locate('192.0.2.1')).toBe(paris);
    expect(resolver.locate('192.0.2.200')).toBe(office);
    expect(resolver.locate('::ffff:192.0.2.1')).toBe(paris);
    expect(resolver.locate('2001:db8:5::1')).toBe(sydney);
    expect(resolver.locate('198.51.100.1')).toBeUndefined();
    expect(resolver.locate('garbage')).toBeUndefined();
  });

  it('refuses a range that is not CIDR, naming it', () => {
    expect(() => new StaticIpLocationResolver({ '192.0.2.0': paris })).toThrow(/"192.0.2.0" is not a CIDR range/);
    expect(() => new StaticIpLocationResolver({ '192.0.2.0/24': { ...paris, latitude: 91 } })).toThrow(/latitude -90..90/);
  });

  it('measures great-circle distances', () => {
    expect(distanceKm(paris, paris)).toBe(0);
    expect(Math.round(distanceKm(paris, sydney) / 100) * 100).toBe(17000);
  });
});
