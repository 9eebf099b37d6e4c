/**
 * Store operations in flight with a deadline each, and one timer that hands the overdue ones to `expire`: the
 * bound on every command of the Redis and memcached session stores, without a timer per command on the hot path.
 *
 * The check runs in the event loop's check phase (`setImmediate`), after its poll phase has read the sockets. When
 * the process could not run past a deadline (a long synchronous task, a stop signal, a paused VM or container), the
 * overdue timer comes first in the next turn, while the replies the server sent in time wait unread in the socket:
 * checked from the timer itself, every operation in flight would time out (and five of them open the circuit
 * breaker). Measured with the benchmark, which pauses idle servers with SIGSTOP: 503 to every request for a second
 * after each resume.
 *
 * Nor is the time the process itself could not run charged to the server. A command may still wait to be written
 * when the process stops (node-redis writes from a `setImmediate`); on resume it goes out, and its deadline had passed
 * before the server ever saw it. So when the timer runs late by more than one sweep interval (or the sweep it queued
 * runs that late), every operation in flight gets the lateness added to its deadline: a deadline counts the time the
 * process ran. Seen in the benchmark: logins on the Redis store timed out ("create timed out after 2000 ms") the moment
 * their paused server was resumed, and the circuit breaker answered 503 for a second.
 */
export class DeadlineSweeper<T extends { deadline: number }> {
  private readonly pending = new Set<T>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer last ran (ms since the epoch). */
  private lastTick = 0;
  private drained: (() => void) | undefined;

  /**
   * @param timeoutMs the operations' timeout (ms): the sweep runs every 1/8 of it, 10 to 250 ms, so an operation
   *   fails between its deadline and one sweep later.
   * @param expire called with the operations past their deadline, already taken out of the set.
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly expire: (overdue: T[]) => void,
  ) {}

  /** Adds an operation; the timer starts with the first one (unref'd: it never keeps a process alive). */
  add(op: T): void {
    this.pending.add(op);
    this.timer ??= this.start();
  }

  /** True while `op` is in flight (not answered, not expired). */
  has(op: T): boolean {
    return this.pending.has(op);
  }

  /** Takes an operation out; false when it was already out (answered earlier or expired by the sweep). */
  settle(op: T): boolean {
    if (!this.pending.delete(op)) return false;
    if (this.pending.size === 0) this.drained?.();
    return true;
  }

  /** Resolves once no operation is in flight (each settles by its answer or by its deadline), then stops the timer. */
  async stop(): Promise<void> {
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.stopNow();
  }

  /** Stops the timer at once; operations still in flight are left to their own answers. */
  stopNow(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Adds to every deadline in flight the time since the timer last ran beyond `expected` (ms), when that is more than
   * `every` (the process was stopped or blocked: not the server's time), and starts the next measure from `now`.
   */
  private forgiveStall(now: number, expected: number, every: number): void {
    const stalled = now - this.lastTick - expected;
    this.lastTick = now;
    if (stalled > every) for (const op of this.pending) op.deadline += stalled;
  }

  private start(): NodeJS.Timeout {
    const every = Math.min(250, Math.max(10, Math.floor(this.timeoutMs / 8)));
    const sweep = (): void => {
      const now = Date.now();
      // Stopped between the timer and this sweep: the same, that stall is not the server's either.
      this.forgiveStall(now, 0, every);
      const overdue: T[] = [];
      for (const op of this.pending) if (now >= op.deadline && this.settle(op)) overdue.push(op);
      if (overdue.length > 0) this.expire(overdue);
    };
    this.lastTick = Date.now();
    const timer = setInterval(() => {
      this.forgiveStall(Date.now(), every, every);
      if (this.pending.size > 0) setImmediate(sweep);
    }, every);
    timer.unref();
    return timer;
  }
}

/** An operation that {@link runBounded} tracks: its deadline and how to fail it. */
export interface BoundedCall {
  deadline: number;
  reject: (error: Error) => void;
}

/**
 * Runs `start` with a deadline `timeoutMs` from now, judged by `sweeper` (whose `expire` rejects the overdue calls
 * with the store's timeout error). An answer after the deadline is dropped, never an unhandled rejection; `start` is
 * called from a promise, so a synchronous throw (no connection, no server left) becomes a rejection too.
 */
export function runBounded<R>(sweeper: DeadlineSweeper<BoundedCall>, timeoutMs: number, start: () => PromiseLike<R> | R): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const call: BoundedCall = { deadline: Date.now() + timeoutMs, reject };
    sweeper.add(call);
    Promise.resolve()
      .then(start)
      .then(
        (value) => {
          if (sweeper.settle(call)) resolve(value);
        },
        (error: unknown) => {
          if (sweeper.settle(call)) reject(error);
        },
      );
  });
}
