/**
 * What a server process holds, sampled in that process for the soak run (bench/soak.ts) and sent over the bench's
 * IPC channel (bench/app.ts `resources`), so that sampling adds nothing to the HTTP traffic it watches.
 */
import { AsyncHook, createHook } from 'node:async_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** One sample of a server process. Bytes, milliseconds, counts. */
export interface ResourceSample {
  /** `Date.now()` in the server when taken (ms). */
  at: number;
  /** `process.memoryUsage()` (bytes). */
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /**
   * RSS split as /proc/self/status has it (bytes): anonymous memory (V8's heap, malloc, thread stacks) and file-backed
   * pages (the binary, shared libraries, mapped files). -1 where there is no /proc. Says where RSS growth is.
   */
  rssAnon: number;
  rssFile: number;
  /** Entries of /proc/self/fd (sockets, files, pipes, the event loop's own descriptors); -1 where there is no /proc. */
  fds: number;
  /**
   * `process.getActiveResourcesInfo()` counted by type (`TCPSocketWrap`, `Timeout`, `FSReqCallback`, ...). It lists
   * only what keeps the process alive: an `unref()`ed timer is not there, hence {@link timers}.
   */
  activeResources: Record<string, number>;
  /**
   * Timers (`setTimeout`, `setInterval`) created since the first sample and still scheduled, referenced or
   * `unref()`ed, counted through an `async_hooks` init hook. Timers created before the first sample are not
   * counted (the app's start-up ones), so this starts near 0.
   */
  timers: { ref: number; unref: number };
  /**
   * Event-loop delay since the previous sample (ms, from `monitorEventLoopDelay` at 20 ms resolution): mean, p99
   * and max. Undefined on the first sample, which starts the monitor.
   */
  loopDelay?: { mean: number; p99: number; max: number };
}

/** Event-loop delay resolution (ms): fine enough to see a 50 ms stall, coarse enough to cost nothing measurable. */
const LOOP_DELAY_RESOLUTION_MS = 20;

/**
 * Takes {@link ResourceSample}s of the current process. The event-loop monitor and the timer hook start at the first
 * `take()`, so a server that is never sampled (every bench variant but the soak's) runs without them. The hook costs
 * some CPU per asynchronous resource (an init hook also turns on V8's promise hooks): fine for a soak, which
 * measures memory, not speed.
 */
export class ResourceSampler {
  private histogram: IntervalHistogram | undefined;
  /** Timers seen by the init hook and not yet found done; weak, so that the list holds no timer alive. */
  private timers: WeakRef<NodeJS.Timeout>[] = [];
  private hook: AsyncHook | undefined;

  take(): ResourceSample {
    const memory = process.memoryUsage();
    const activeResources: Record<string, number> = {};
    for (const type of process.getActiveResourcesInfo()) activeResources[type] = (activeResources[type] ?? 0) + 1;
    let loopDelay: ResourceSample['loopDelay'];
    if (this.histogram && this.histogram.count > 0) {
      const ns = 1e6;
      loopDelay = { mean: this.histogram.mean / ns, p99: this.histogram.percentile(99) / ns, max: this.histogram.max / ns };
      this.histogram.reset();
    } else if (!this.histogram) {
      this.histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
      this.histogram.enable();
    }
    if (!this.hook) {
      this.hook = createHook({
        init: (_id, type, _trigger, resource) => {
          if (type === 'Timeout') this.timers.push(new WeakRef(resource as NodeJS.Timeout));
        },
      });
      this.hook.enable();
    }
    const timers = { ref: 0, unref: 0 };
    const live: WeakRef<NodeJS.Timeout>[] = [];
    for (const ref of this.timers) {
      const timer = ref.deref();
      // A timer that fired (and is not an interval) or was cleared is destroyed: Node's own flag on the Timeout.
      if (!timer || (timer as unknown as { _destroyed?: boolean })._destroyed) continue;
      live.push(ref);
      if (timer.hasRef()) timers.ref++;
      else timers.unref++;
    }
    this.timers = live;
    return {
      at: Date.now(),
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      rss: memory.rss,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      ...rssSplit(),
      fds: openFds(),
      activeResources,
      timers,
      ...(loopDelay ? { loopDelay } : {}),
    };
  }
}

function rssSplit(): { rssAnon: number; rssFile: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string): number => {
      const found = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return found ? Number(found[1]) * 1024 : -1;
    };
    return { rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
  } catch {
    return { rssAnon: -1, rssFile: -1 };
  }
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}
