import { formatDuration, parseDuration } from '../../lib/core/duration';

describe('durations', () => {
  it.each([
    [1500, 1500],
    ['1500', 1500],
    ['250ms', 250],
    ['10s', 10_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    [' 30m ', 1_800_000],
  ])('parses %p as %p ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each([[-1], ['-5m'], ['10 minutes'], ['abc'], [''], [NaN], [Infinity], [null], [{}], ['5w']])('rejects %p', (input) =>
    expect(parseDuration(input)).toBeUndefined(),
  );

  it('formats back', () => {
    expect(formatDuration(900_000)).toBe('15m');
    expect(formatDuration(43_200_000)).toBe('12h');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
