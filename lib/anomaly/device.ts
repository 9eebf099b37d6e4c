import { createLRU } from 'lru.min';
import { UAParser } from 'ua-parser-js';

/** A user agent as a person reads it, and as the anomaly detector compares it. */
export interface DeviceDescription {
  /** Browser family (`Chrome`, `Firefox`, `Mobile Safari`), or the first product name of a non-browser client (`curl`). Empty when unknown. */
  browser: string;
  /** Operating system (`Linux`, `Windows`, `iOS`). Empty when unknown. */
  os: string;
  /** `Chrome on Linux`, `curl`, `Unknown device`. Plain text: escape it where you render HTML. */
  label: string;
  /**
   * What stays the same across a browser update: browser family and OS, without versions. Two user agents of one
   * device have the same key; `Chrome on Linux` and `Firefox on Linux` do not.
   */
  key: string;
}

/** Distinct user agents whose parsed form is kept. Real traffic has a few hundred; an attacker sending random ones only churns this cache. */
const CACHE_SIZE = 2000;

const cache = createLRU<string, DeviceDescription>({ max: CACHE_SIZE });

/** A product token without its version: `curl/8.5.0` → `curl`. Bounded (32 characters) and printable only. */
const PRODUCT = /^([A-Za-z][A-Za-z0-9._-]{0,31})/;

/**
 * Describes a user agent: browser family and OS, parsed by ua-parser-js 1.x (MIT), cached, so a browser update
 * (`Chrome/120` → `Chrome/121`) is the same device and each distinct string is parsed once.
 *
 * @example describeDevice('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36').label
 * // 'Chrome on Linux'
 */
export function describeDevice(userAgent: string): DeviceDescription {
  let description = cache.get(userAgent);
  if (description === undefined) {
    description = parse(userAgent);
    cache.set(userAgent, description);
  }
  return description;
}

function parse(userAgent: string): DeviceDescription {
  const result = new UAParser(userAgent).getResult();
  let browser = result.browser.name ?? '';
  const os = result.os.name ?? '';
  // Not a browser (an API client, a script): its product name is the family, e.g. `curl` or `okhttp`.
  if (browser === '' && os === '') browser = PRODUCT.exec(userAgent.trim())?.[1] ?? '';
  const label = browser && os ? `${browser} on ${os}` : browser || (os ? `A browser on ${os}` : 'Unknown device');
  return { browser, os, label, key: `${browser}|${os}` };
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * How long ago `thenMs` was, from `nowMs` (both ms since the epoch, from the module's clock), in English: `just now`
 * (under a minute), `3 minutes ago`, `yesterday`, `2 weeks ago`. A time in the future (clock skew) reads `just now`.
 *
 * @example relativeTime(clock.now() - 3 * 60_000, clock.now()) // '3 minutes ago'
 */
export function relativeTime(thenMs: number, nowMs: number): string {
  const elapsed = nowMs - thenMs;
  for (const [unit, size] of UNITS) {
    if (elapsed >= size) return relative.format(-Math.floor(elapsed / size), unit);
  }
  return 'just now';
}
