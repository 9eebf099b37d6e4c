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
   * device have the same key; `Chrome on Linux` and `Firefox on Linux` do not. A user agent the parser does not
   * recognise is keyed by its whole text without version numbers.
   */
  key: string;
}

/** Distinct user agents whose parsed form is kept. Real traffic has a few hundred; an attacker sending random ones only churns this cache. */
const CACHE_SIZE = 2000;

const cache = createLRU<string, DeviceDescription>({ max: CACHE_SIZE });

/** A product token without its version: `curl/8.5.0` → `curl`. Bounded (32 characters) and printable only. */
const PRODUCT = /^([A-Za-z][A-Za-z0-9._-]{0,31})/;

/** Version numbers (`8.5.0`, `121`), which a client's updates change. */
const VERSION = /\d+(?:\.\d+)*/g;

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
  const browser = result.browser.name ?? '';
  const os = result.os.name ?? '';
  if (browser === '' && os === '') {
    // Not a browser the parser knows (an API client, a script): named by its product (`curl`, `okhttp`), and compared
    // as the whole string without its version numbers, so `curl/8.5.0` and `curl/8.6.0` are one client while two
    // unknown agents that share a first word are not.
    const product = PRODUCT.exec(userAgent.trim())?.[1] ?? '';
    return { browser: product, os, label: product || 'Unknown device', key: `?${userAgent.replace(VERSION, '#')}` };
  }
  const label = browser && os ? `${browser} on ${os}` : browser || `A browser on ${os}`;
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
