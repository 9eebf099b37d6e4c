import type { ValueTransformer } from 'typeorm';

/**
 * Stores milliseconds since the epoch in a `bigint` column. PostgreSQL and MySQL drivers return `bigint` as a
 * string (to avoid losing precision beyond 2^53); millisecond timestamps are far below that, so they are
 * turned back into numbers.
 */
export const msTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
