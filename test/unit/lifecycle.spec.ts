/**
 * The lifecycle rules of lib/core/lifecycle.ts, one function at a time, at their boundaries: every store and
 * the manager rely on these answers (and the Redis Lua scripts copy them), so an off-by-one here is a session
 * that lives a millisecond too long everywhere.
 */
import {
  ROTATION_TOMBSTONE_MS,
  absoluteCap,
  applyChanges,
  countsTowardLimit,
  expiresAt,
  freshDeadlines,
  idleDeadline,
  idleTimeoutOf,
  isExpired,
  isTouchDue,
  pointerState,
  pointerWindows,
  rolesChange,
  tierTimeouts,
  touchChanges,
} from '../../lib/core/lifecycle';
import { makeRecord } from '../../lib/testing';

const T = 1_800_000_000_000;
const MIN = 60_000;

describe('ROTATION_TOMBSTONE_MS', () => {
  it('is 60 s, the longest grace window the options allow', () => {
    expect(ROTATION_TOMBSTONE_MS).toBe(60_000);
  });
});

describe('expiresAt', () => {
  it('is the earlier of the idle and absolute deadlines', () => {
    expect(expiresAt({ idleExpiresAt: T + 10, absoluteExpiresAt: T + 20 })).toBe(T + 10);
    expect(expiresAt({ idleExpiresAt: T + 30, absoluteExpiresAt: T + 20 })).toBe(T + 20);
    expect(expiresAt({ idleExpiresAt: T, absoluteExpiresAt: T })).toBe(T);
  });
});

describe('isExpired', () => {
  const deadlines = { idleExpiresAt: T + 100, absoluteExpiresAt: T + 200 };

  it('is live one millisecond before the idle deadline', () => {
    expect(isExpired(deadlines, T + 99)).toBe(false);
  });

  it('has ended at the idle deadline exactly (deadlines are exclusive)', () => {
    expect(isExpired(deadlines, T + 100)).toBe(true);
  });

  it('has ended at the absolute deadline exactly, even when the idle one is later', () => {
    const absoluteFirst = { idleExpiresAt: T + 300, absoluteExpiresAt: T + 200 };
    expect(isExpired(absoluteFirst, T + 199)).toBe(false);
    expect(isExpired(absoluteFirst, T + 200)).toBe(true);
  });

  it('stays ended after both deadlines', () => {
    expect(isExpired(deadlines, T + 10_000)).toBe(true);
  });
});

describe('idleDeadline', () => {
  it('is now + idleTimeoutMs while that is before the absolute deadline', () => {
    expect(idleDeadline(T, 30 * MIN, T + 60 * MIN)).toBe(T + 30 * MIN);
  });

  it('never passes the absolute deadline', () => {
    expect(idleDeadline(T, 30 * MIN, T + 10 * MIN)).toBe(T + 10 * MIN);
    expect(idleDeadline(T, 30 * MIN, T + 30 * MIN)).toBe(T + 30 * MIN);
  });
});

describe('isTouchDue', () => {
  it('is not due at touchIntervalMs - 1 since the last touch', () => {
    expect(isTouchDue(T, T + MIN - 1, MIN)).toBe(false);
  });

  it('is due at touchIntervalMs exactly, and after', () => {
    expect(isTouchDue(T, T + MIN, MIN)).toBe(true);
    expect(isTouchDue(T, T + 5 * MIN, MIN)).toBe(true);
  });

  it('is always due with an interval of 0', () => {
    expect(isTouchDue(T, T, 0)).toBe(true);
  });

  it('is not due when the clock went backwards', () => {
    expect(isTouchDue(T, T - 1, MIN)).toBe(false);
  });
});

describe('touchChanges', () => {
  const record = { lastSeenAt: T, idleExpiresAt: T + 30 * MIN, absoluteExpiresAt: T + 12 * 60 * MIN };

  it('is null when no touch is due (interval - 1)', () => {
    expect(touchChanges(record, T + MIN - 1, 30 * MIN, MIN)).toBeNull();
  });

  it('moves lastSeenAt and the idle deadline when due (interval exactly), and nothing else', () => {
    expect(touchChanges(record, T + MIN, 30 * MIN, MIN)).toEqual({ lastSeenAt: T + MIN, idleExpiresAt: T + 31 * MIN });
  });

  it('caps the idle deadline at the absolute deadline', () => {
    const nearEnd = { lastSeenAt: T, idleExpiresAt: T + 30 * MIN, absoluteExpiresAt: T + 40 * MIN };
    expect(touchChanges(nearEnd, T + 20 * MIN, 30 * MIN, MIN)).toEqual({ lastSeenAt: T + 20 * MIN, idleExpiresAt: T + 40 * MIN });
  });

  it('still records the activity when the idle deadline is already capped', () => {
    const capped = { lastSeenAt: T, idleExpiresAt: T + 40 * MIN, absoluteExpiresAt: T + 40 * MIN };
    expect(touchChanges(capped, T + 20 * MIN, 30 * MIN, MIN)).toEqual({ lastSeenAt: T + 20 * MIN, idleExpiresAt: T + 40 * MIN });
  });

  it('is null when a due touch would change nothing (interval 0, same instant)', () => {
    expect(touchChanges(record, T, 30 * MIN, 0)).toBeNull();
  });

  it('writes when due even if only one field moves', () => {
    expect(touchChanges({ ...record, idleExpiresAt: T + 29 * MIN }, T, 30 * MIN, 0)).toEqual({
      lastSeenAt: T,
      idleExpiresAt: T + 30 * MIN,
    });
  });
});

describe('per-session idle timeout', () => {
  const DAY = 86_400_000;

  it("idleTimeoutOf is the record's own timeout, or the fallback for a legacy record (null or absent)", () => {
    expect(idleTimeoutOf({ idleTimeoutMs: 30 * DAY }, 30 * MIN)).toBe(30 * DAY);
    expect(idleTimeoutOf({ idleTimeoutMs: null }, 30 * MIN)).toBe(30 * MIN);
    expect(idleTimeoutOf({}, 30 * MIN)).toBe(30 * MIN);
    expect(idleTimeoutOf({ idleTimeoutMs: 0 }, 30 * MIN)).toBe(0);
  });

  it("a touch moves the idle deadline by the record's own timeout, whatever the read's default", () => {
    const remembered = { lastSeenAt: T, idleExpiresAt: T + 30 * DAY, absoluteExpiresAt: T + 90 * DAY, idleTimeoutMs: 30 * DAY };
    expect(touchChanges(remembered, T + 40 * MIN, 30 * MIN, MIN)).toEqual({
      lastSeenAt: T + 40 * MIN,
      idleExpiresAt: T + 40 * MIN + 30 * DAY,
    });
    const legacy = { lastSeenAt: T, idleExpiresAt: T + 30 * MIN, absoluteExpiresAt: T + 90 * DAY, idleTimeoutMs: null };
    expect(touchChanges(legacy, T + 10 * MIN, 30 * MIN, MIN)).toEqual({ lastSeenAt: T + 10 * MIN, idleExpiresAt: T + 40 * MIN });
  });
});

describe('tierTimeouts and absoluteCap', () => {
  const policy = {
    idleTimeoutMs: 30 * MIN,
    absoluteTimeoutMs: 12 * 60 * MIN,
    rememberIdleTimeoutMs: 30 * 86_400_000,
    rememberAbsoluteTimeoutMs: 90 * 86_400_000,
    impersonationMaxAgeMs: 60 * MIN,
  };

  it('gives a standard session the module timeouts and a remembered one the remember timeouts', () => {
    expect(tierTimeouts('standard', policy)).toEqual({ idleTimeoutMs: 30 * MIN, absoluteTimeoutMs: 12 * 60 * MIN });
    expect(tierTimeouts('remember', policy)).toEqual({ idleTimeoutMs: 30 * 86_400_000, absoluteTimeoutMs: 90 * 86_400_000 });
  });

  it('caps an impersonation session at its creation plus impersonationMaxAgeMs, and nothing else', () => {
    expect(absoluteCap({ createdAt: T, impersonatedBy: 'admin' }, 60 * MIN)).toBe(T + 60 * MIN);
    expect(absoluteCap({ createdAt: T, impersonatedBy: null }, 60 * MIN)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('freshDeadlines', () => {
  it('starts every timestamp at now, with both timeouts from now, and records the idle timeout', () => {
    expect(freshDeadlines(T, { idleTimeoutMs: 30 * MIN, absoluteTimeoutMs: 12 * 60 * MIN })).toEqual({
      lastSeenAt: T,
      idleExpiresAt: T + 30 * MIN,
      absoluteExpiresAt: T + 12 * 60 * MIN,
      authenticatedAt: T,
      idleTimeoutMs: 30 * MIN,
    });
  });

  it('never sets the idle deadline past the absolute one', () => {
    expect(freshDeadlines(T, { idleTimeoutMs: 60 * MIN, absoluteTimeoutMs: 20 * MIN }).idleExpiresAt).toBe(T + 20 * MIN);
  });

  it('never sets the absolute deadline past the cap, nor the idle one past it', () => {
    const capped = freshDeadlines(T + 50 * MIN, { idleTimeoutMs: 30 * MIN, absoluteTimeoutMs: 12 * 60 * MIN }, T + 60 * MIN);
    expect(capped).toMatchObject({ absoluteExpiresAt: T + 60 * MIN, idleExpiresAt: T + 60 * MIN });
  });
});

describe('rolesChange', () => {
  it('is an elevation when a role is gained, even if another is lost', () => {
    expect(rolesChange(['user'], ['user', 'admin'])).toBe('elevation');
    expect(rolesChange(['user'], ['admin'])).toBe('elevation');
    expect(rolesChange([], ['user'])).toBe('elevation');
  });

  it('is a demotion when roles are only removed', () => {
    expect(rolesChange(['user', 'admin'], ['user'])).toBe('demotion');
    expect(rolesChange(['user'], [])).toBe('demotion');
  });

  it('compares sets: order and repeats do not count', () => {
    expect(rolesChange(['a', 'b'], ['b', 'a', 'a'])).toBe('same');
    expect(rolesChange([], [])).toBe('same');
  });
});

describe('countsTowardLimit', () => {
  it("counts the user's own sessions, not impersonation sessions", () => {
    expect(countsTowardLimit({ impersonatedBy: null })).toBe(true);
    expect(countsTowardLimit({ impersonatedBy: 'admin-1' })).toBe(false);
  });
});

describe('applyChanges', () => {
  const record = Object.freeze(makeRecord(T, { data: { a: 1 }, version: 4 }));

  it('applies the changes and bumps the version by one', () => {
    expect(applyChanges(record, { aal: 2, stage: 'pending', data: { b: 2 } })).toEqual({
      ...record,
      aal: 2,
      stage: 'pending',
      data: { b: 2 },
      version: 5,
    });
  });

  it('bumps the version for empty changes too (a rotation with no changes still moves it)', () => {
    expect(applyChanges(record, {})).toEqual({ ...record, version: 5 });
  });

  it('keeps the version when asked not to bump it (a touch is not a data change)', () => {
    expect(applyChanges(record, { lastSeenAt: T + MIN }, false)).toEqual({ ...record, lastSeenAt: T + MIN });
  });

  it('leaves a field as it was when its key is present with undefined', () => {
    const out = applyChanges(record, { aal: undefined, data: undefined, rotateRequired: false });
    expect(out.aal).toBe(1);
    expect(out.data).toBe(record.data);
    expect(out.rotateRequired).toBe(false);
  });

  it('writes falsy values (0, false)', () => {
    const marked = { ...record, rotateRequired: true, rolesVersion: 3 };
    expect(applyChanges(marked, { rotateRequired: false, rolesVersion: 0 })).toMatchObject({ rotateRequired: false, rolesVersion: 0 });
  });

  it('never mutates its input and returns a new object (the input here is frozen)', () => {
    const before = JSON.stringify(record);
    const out = applyChanges(record, { aal: 2 });
    expect(out).not.toBe(record);
    expect(JSON.stringify(record)).toBe(before);
  });
});

describe('pointerState', () => {
  const pointer = { graceUntil: T + 10_000, until: T + 60_000 };

  it('is grace before graceUntil', () => {
    expect(pointerState(pointer, T)).toBe('grace');
    expect(pointerState(pointer, T + 9_999)).toBe('grace');
  });

  it('is tombstone from graceUntil exactly to until - 1', () => {
    expect(pointerState(pointer, T + 10_000)).toBe('tombstone');
    expect(pointerState(pointer, T + 59_999)).toBe('tombstone');
  });

  it('is gone at until exactly, and after', () => {
    expect(pointerState(pointer, T + 60_000)).toBe('gone');
    expect(pointerState(pointer, T + 3_600_000)).toBe('gone');
  });

  it('is tombstone at once for a pointer without grace', () => {
    expect(pointerState({ graceUntil: T, until: T + 60_000 }, T)).toBe('tombstone');
  });
});

describe('pointerWindows', () => {
  it('keeps the grace window and remembers the id for ROTATION_TOMBSTONE_MS', () => {
    expect(pointerWindows(T, 10_000)).toEqual({ graceUntil: T + 10_000, until: T + ROTATION_TOMBSTONE_MS });
  });

  it('leaves a tombstone even with graceMs 0', () => {
    const windows = pointerWindows(T, 0);
    expect(windows).toEqual({ graceUntil: T, until: T + ROTATION_TOMBSTONE_MS });
    expect(pointerState(windows, T)).toBe('tombstone');
  });

  it('treats a negative grace as 0', () => {
    expect(pointerWindows(T, -5)).toEqual({ graceUntil: T, until: T + ROTATION_TOMBSTONE_MS });
  });

  it('at the longest grace (60 s) the tombstone window is empty; a longer grace stretches until with it', () => {
    expect(pointerWindows(T, 60_000)).toEqual({ graceUntil: T + 60_000, until: T + 60_000 });
    expect(pointerWindows(T, 90_000)).toEqual({ graceUntil: T + 90_000, until: T + 90_000 });
  });

  it('gives every rotation at the same instant the same until, whatever its grace up to 60 s (stores sweep in that order)', () => {
    const untils = [0, 1, 10_000, 59_999, 60_000].map((g) => pointerWindows(T, g).until);
    expect(new Set(untils)).toEqual(new Set([T + ROTATION_TOMBSTONE_MS]));
  });
});
