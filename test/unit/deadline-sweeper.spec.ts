import { DeadlineSweeper } from '../../lib/stores/deadline-sweeper';

interface Op {
  deadline: number;
  name: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Waits until `done()` (checked every 5 ms, 2 s at most); the time it took, in ms. */
async function until(done: () => boolean): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > 2000) throw new Error('not within 2 s');
    await sleep(5);
  }
  return Date.now() - started;
}

function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('DeadlineSweeper', () => {
  let expired: string[];
  let sweeper: DeadlineSweeper<Op>;

  beforeEach(() => {
    expired = [];
    sweeper = new DeadlineSweeper<Op>(100, (overdue) => expired.push(...overdue.map((op) => op.name)));
  });
  afterEach(() => sweeper.stopNow());

  it('expires an operation between its deadline and one sweep later, and never one that settled', async () => {
    const late: Op = { deadline: Date.now() + 100, name: 'late' };
    const answered: Op = { deadline: Date.now() + 100, name: 'answered' };
    sweeper.add(late);
    sweeper.add(answered);
    await sleep(50);
    expect(sweeper.settle(answered)).toBe(true);
    expect(expired).toEqual([]);
    await until(() => expired.length > 0);
    expect(Date.now()).toBeGreaterThanOrEqual(late.deadline);
    expect(expired).toEqual(['late']);
    expect(sweeper.has(late)).toBe(false);
    expect(sweeper.settle(late)).toBe(false);
  });

  it('does not charge the time the process could not run: after a stall, operations in flight get their time again', async () => {
    // A command queued but not yet written when the process stopped (node-redis writes from a setImmediate) reaches
    // the server only after the resume: its deadline must not already have passed by then.
    const queued: Op = { deadline: Date.now() + 100, name: 'queued' };
    sweeper.add(queued);
    await sleep(30);
    block(400);
    // The timer, overdue, runs in the next turn of the event loop and the sweep right after it: it finds the
    // operation within its deadline, moved by the stall.
    await sleep(1);
    await nextTurn();
    expect(expired).toEqual([]);
    expect(sweeper.has(queued)).toBe(true);
    // Unanswered, it still times out, with the rest of its time (about 70 ms) counted after the stall.
    const waited = await until(() => expired.length > 0);
    expect(expired).toEqual(['queued']);
    expect(waited).toBeGreaterThanOrEqual(30);
  });

  it('does not charge a stall that falls between the timer and its sweep either', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const local = new DeadlineSweeper<Op>(100, (overdue) => expired.push(...overdue.map((op) => op.name)));
      const queued: Op = { deadline: Date.now() + 100, name: 'queued' };
      local.add(queued);
      // The timer (every 12 ms for a 100 ms timeout) runs and queues its sweep; the process stops before the sweep.
      jest.advanceTimersToNextTimer();
      jest.setSystemTime(Date.now() + 400);
      jest.advanceTimersToNextTimer();
      expect(expired).toEqual([]);
      // Its remaining time (88 ms) counts from the resume, once.
      jest.advanceTimersByTime(70);
      expect(expired).toEqual([]);
      jest.advanceTimersByTime(40);
      expect(expired).toEqual(['queued']);
      local.stopNow();
    } finally {
      jest.useRealTimers();
    }
  });

  it('stop() waits for the operations in flight to settle or expire', async () => {
    const op: Op = { deadline: Date.now() + 100, name: 'op' };
    sweeper.add(op);
    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    sweeper.settle(op);
    await stopping;
    expect(stopped).toBe(true);
  });
});
