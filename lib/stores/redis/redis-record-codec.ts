/**
 * How a {@link SessionRecord} is laid out in a Redis hash, field by field, and back. The field lists come from
 * `lib/core/session-record.ts` (numbers) or are checked by the compiler against its types (the rest), so a field
 * added to the record cannot be forgotten here.
 *
 * @internal Not part of the public API: the Redis store and its scripts are the only users.
 */
import {
  LEGACY_RECORD_STAGE,
  SESSION_NUMBER_FIELDS,
  SESSION_STAGES,
  SESSION_TIERS,
  SessionChanges,
  SessionRecord,
  isSessionRecord,
  legacyRecordFields,
} from '../../core/session-record';

type NumberField = (typeof SESSION_NUMBER_FIELDS)[number];
type OtherField = Exclude<keyof SessionRecord, NumberField>;

/**
 * How each non-numeric field is stored: `text` as is, `flag` as '1'/'0', `json` as its JSON text (Lua never
 * decodes it, so the data is stored byte for byte), `stage` and `tier` as the word, `roles` as a JSON array of
 * strings, `optionalText` and `optionalNumber` as the value or '' for null. Typed over the record's keys, so a new
 * field of {@link SessionRecord} is a compile error until it is given a kind here.
 *
 * A field written before it existed is absent from the hash; the read script sends it as '', like a null. Both read
 * as the record's legacy value (`legacyRecordFields`, `LEGACY_RECORD_STAGE`).
 */
const FIELD_KINDS: {
  readonly [K in OtherField]-?: 'text' | 'flag' | 'json' | 'stage' | 'tier' | 'roles' | 'optionalText' | 'optionalNumber';
} = {
  handle: 'text',
  userId: 'text',
  rotateRequired: 'flag',
  stage: 'stage',
  ip: 'text',
  userAgent: 'text',
  data: 'json',
  roles: 'roles',
  tier: 'tier',
  impersonatedBy: 'optionalText',
  idleTimeoutMs: 'optionalNumber',
};

/** Fields a stored record may lack (written before they existed): they read as their legacy value. */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set<OtherField>(['stage', 'roles', 'tier', 'impersonatedBy', 'idleTimeoutMs']);

/**
 * The fields `update` and `rotate` may write; anything else (e.g. `successor`, `version`) could corrupt the
 * layout. Typed as exactly the keys of {@link SessionChanges}: a key missing or extra here is a compile error, so
 * the set follows the type.
 */
const CHANGEABLE: { readonly [K in keyof SessionChanges]-?: true } = {
  data: true,
  aal: true,
  authenticatedAt: true,
  idleExpiresAt: true,
  absoluteExpiresAt: true,
  idleTimeoutMs: true,
  lastSeenAt: true,
  rotatedAt: true,
  rolesVersion: true,
  rotateRequired: true,
  stage: true,
};

/** The stage of a stored record that has none (written before `stage` existed). */
export const LEGACY_STAGE = LEGACY_RECORD_STAGE;

/**
 * Every field of a record in one fixed order: the order in which the read script sends a live record back as bare
 * values ({@link decodePacked}), half the strings of field/value pairs on every authenticated request. The script
 * is generated from this same list, so the two cannot disagree.
 */
export const PACKED_FIELDS: readonly (keyof SessionRecord)[] = [...SESSION_NUMBER_FIELDS, ...(Object.keys(FIELD_KINDS) as OtherField[])];

/**
 * Fields every stored record has, numbers excepted (see `SESSION_NUMBER_FIELDS`). `stage`, `roles`, `tier`,
 * `impersonatedBy` and `idleTimeoutMs` may be absent (a legacy record).
 */
export const REQUIRED_TEXT_FIELDS: readonly string[] = (Object.keys(FIELD_KINDS) as OtherField[]).filter((f) => !OPTIONAL_FIELDS.has(f));

const NUMBER_FIELDS = new Set<string>(SESSION_NUMBER_FIELDS);

/** Decimal number as JavaScript prints it; rejects '', ' 1', '0x10', 'Infinity', which Number() would take. */
const NUMBER_TEXT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Numbers travel as JavaScript prints them; Lua parses that back exactly. */
export function num(value: number, what = 'a number'): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`RedisSessionStore: ${what} must be a finite number, got ${String(value)}`);
  }
  return String(value);
}

/** Parses a number written by JavaScript or by the scripts (`%.17g`); NaN for anything else. */
export function parseNumber(value: string | undefined): number {
  return value !== undefined && NUMBER_TEXT.test(value) ? Number(value) : NaN;
}

function encodeField(key: keyof SessionRecord, value: unknown, operation: string): string {
  if (NUMBER_FIELDS.has(key)) return num(value as number, `${operation}: ${key}`);
  const fail = (expected: string): never => {
    throw new TypeError(`RedisSessionStore.${operation}: ${key} must be ${expected}, got ${typeof value}`);
  };
  switch (FIELD_KINDS[key as OtherField]) {
    case 'text':
      return typeof value === 'string' ? value : fail('a string');
    case 'flag':
      return typeof value === 'boolean' ? (value ? '1' : '0') : fail('a boolean');
    case 'stage':
      return SESSION_STAGES.includes(value as never) ? (value as string) : fail(`one of ${SESSION_STAGES.join(', ')}`);
    case 'tier':
      return SESSION_TIERS.includes(value as never) ? (value as string) : fail(`one of ${SESSION_TIERS.join(', ')}`);
    case 'json':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? JSON.stringify(value) : fail('a plain object');
    case 'roles':
      return encodeRoles(value, operation);
    case 'optionalText':
      // '' stands for null: an empty id is never valid (isSessionRecord), so the two cannot be confused.
      return value === null ? '' : typeof value === 'string' && value !== '' ? value : fail('a non-empty string or null');
    case 'optionalNumber':
      return value === null ? '' : num(value as number, `${operation}: ${key}`);
  }
  return fail('a known field');
}

/** A roles list as stored: its JSON text, which the roles script compares as a set after `cjson.decode`. */
export function encodeRoles(roles: unknown, operation: string): string {
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new TypeError(`RedisSessionStore.${operation}: roles must be an array of strings`);
  }
  return JSON.stringify(roles);
}

/** A record as HSET field/value pairs. */
export function encodeRecord(record: SessionRecord): string[] {
  const out: string[] = [];
  for (const key of [...SESSION_NUMBER_FIELDS, ...(Object.keys(FIELD_KINDS) as OtherField[])]) {
    out.push(key, encodeField(key, record[key], 'create'));
  }
  return out;
}

/** Changes as HSET field/value pairs; a key present with `undefined` leaves its field as it was. */
export function encodeChanges(changes: SessionChanges, operation: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === undefined) continue;
    if (!Object.hasOwn(CHANGEABLE, key)) {
      throw new TypeError(`RedisSessionStore.${operation}: "${key}" cannot be changed (allowed: ${Object.keys(CHANGEABLE).join(', ')})`);
    }
    out.push(key, encodeField(key as keyof SessionChanges, value, operation));
  }
  return out;
}

/**
 * Rebuilds a record from an HGETALL reply, or null when it is not a well-formed record (corrupted or foreign
 * data reads as no session, never as a crash). A record without `stage` reads as {@link LEGACY_STAGE}.
 */
export function decodeRecord(flat: unknown): SessionRecord | null {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return null;
  // Straight from the field/value pairs into the record: no intermediate map of the fields. Fields a legacy
  // record lacks keep these values.
  const record: Record<string, unknown> = { stage: LEGACY_STAGE, ...legacyRecordFields() };
  for (let i = 0; i < flat.length; i += 2) {
    if (!decodeField(record, text(flat[i]), text(flat[i + 1]))) return null;
  }
  return isSessionRecord(record) ? record : null;
}

/**
 * Rebuilds a record from bare values in {@link PACKED_FIELDS} order, as the read script sends a live record, or
 * null when it is not a well-formed record. A field the stored record lacks comes as '' and reads as its legacy
 * value.
 */
export function decodePacked(values: unknown): SessionRecord | null {
  if (!Array.isArray(values) || values.length !== PACKED_FIELDS.length) return null;
  const record: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i++) {
    if (!decodeField(record, PACKED_FIELDS[i], text(values[i]))) return null;
  }
  return isSessionRecord(record) ? record : null;
}

/**
 * Decodes one stored field into `record`; false when its value cannot be read (data that is not JSON). '' in a
 * field that may be absent is its legacy value.
 */
function decodeField(record: Record<string, unknown>, key: string, raw: string): boolean {
  if (NUMBER_FIELDS.has(key)) {
    record[key] = parseNumber(raw);
    return true;
  }
  switch (Object.hasOwn(FIELD_KINDS, key) ? FIELD_KINDS[key as OtherField] : undefined) {
    case 'text':
      record[key] = raw;
      break;
    case 'stage':
      record[key] = raw === '' ? LEGACY_STAGE : raw;
      break;
    case 'tier':
      record[key] = raw === '' ? legacyRecordFields().tier : raw;
      break;
    case 'optionalText':
      record[key] = raw === '' ? null : raw;
      break;
    case 'optionalNumber':
      record[key] = raw === '' ? null : parseNumber(raw);
      break;
    case 'roles':
      // Most sessions hold no roles: skip the parser for them (this runs on every authenticated request).
      if (raw === '' || raw === '[]') record[key] = [];
      else {
        try {
          record[key] = JSON.parse(raw);
        } catch {
          return false;
        }
      }
      break;
    case 'flag':
      record[key] = raw === '1' ? true : raw === '0' ? false : undefined;
      break;
    case 'json':
      try {
        record[key] = JSON.parse(raw);
      } catch {
        return false;
      }
      break;
    // A foreign field is ignored; isSessionRecord decides on the whole.
  }
  return true;
}

/** Replies are strings; a client mapping bulk strings to Buffers still works. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}
