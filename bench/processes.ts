/**
 * Child processes of the benchmark: the app servers (bench/app.ts) and a private Redis. Every child is
 * registered in one set and killed when the driver exits, fails or is interrupted.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket, connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceSample } from './resources';

const children = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL for stragglers). Idempotent; safe in exit handlers. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

let installed = false;
/** Makes sure no child outlives the driver, however it ends. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** True when `taskset` is usable and the machine has at least two cores. */
export function canPin(cores: number): boolean {
  return cores >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

/** Pins every thread of this process to `core` (the load generator's core). */
export function pinSelf(core: number): boolean {
  return spawnSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Spawns `command args`, on `core` when given, and tracks it for cleanup. */
function spawnTracked(command: string, args: string[], core: number | undefined, options: Parameters<typeof spawn>[2]): ChildProcess {
  const [cmd, argv] = core === undefined ? [command, args] : ['taskset', ['-c', String(core), command, ...args]];
  const child = spawn(cmd, argv, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

// ------------------------------------------------------------------------------------ machine load

/** Busy and total jiffies per core from /proc/stat (Linux), or undefined elsewhere. */
export function coreTicks(): { busy: number; total: number }[] | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const cores: { busy: number; total: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal ...
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].trim().split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    cores[Number(m[1])] = { busy, total: busy + idle + iowait };
  }
  return cores;
}

// ----------------------------------------------------------------------------------------- app server

/** CPU time the server spent between `cpu-start` and `cpu-stop`. */
export interface CpuWindow {
  userUs: number;
  systemUs: number;
  elapsedUs: number;
  heapUsed: number;
}

/** One app variant running in its own process (bench/app.ts), driven over IPC. */
export class AppServer {
  /** Every server started and not yet stopped, for {@link AppServer.only}. */
  private static readonly running = new Set<AppServer>();
  private nextId = 1;
  private readonly pending = new Map<number, (msg: Record<string, unknown>) => void>();

  private constructor(
    readonly variant: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (msg: Record<string, unknown>) => {
      const resolve = this.pending.get(msg.id as number);
      if (resolve) {
        this.pending.delete(msg.id as number);
        resolve(msg);
      }
    });
  }

  /**
   * Starts `variant` and waits until it listens. `nodeArgs` e.g. `['--cpu-prof', ...]`; `script`: the compiled
   * `app.js` to run, default this build's (`BENCH_BASELINE` points it at a copy of an earlier build).
   */
  static async start(
    variant: string,
    options: { core?: number; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; script?: string },
  ): Promise<AppServer> {
    const script = options.script ?? join(__dirname, 'app.js');
    const child = spawnTracked(process.execPath, [...(options.nodeArgs ?? []), script, variant], options.core, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A process group of its own: {@link only} stops servers with SIGSTOP, and a stopped member of an orphaned
      // process group (the driver started in the background by a shell that has exited) makes the kernel send
      // SIGHUP to the whole group, driver included. killAll() still ends every server when the driver exits.
      detached: true,
      env: { ...process.env, NODE_ENV: 'production', ...options.env },
    });
    const ready = new Promise<number>((resolve, reject) => {
      child.on('message', (msg: { type?: string; port?: number }) => {
        if (msg.type === 'ready' && typeof msg.port === 'number') resolve(msg.port);
      });
      child.once('exit', (code, signal) => reject(new Error(`app ${variant} exited during start-up (code ${code}, signal ${signal})`)));
      child.once('error', reject);
    });
    const port = await withTimeout(ready, 30_000, `app ${variant} start-up`);
    const server = new AppServer(variant, port, child);
    AppServer.running.add(server);
    child.once('exit', () => AppServer.running.delete(server));
    return server;
  }

  /**
   * Lets only `active` run: every other server is paused with SIGSTOP (and `active` resumed with SIGCONT) until
   * {@link resumeAll}. A measured window then shares the server core with nothing but the servers it measures: with
   * sixteen variants started, the idle servers' own work (timers, GC, their cache and TLB footprint on the one core)
   * made the side-by-side ratios of the variants measured next to them up to a third lower than in a run of five.
   */
  static only(active: readonly AppServer[]): void {
    for (const server of AppServer.running) server.signal(active.includes(server) ? 'SIGCONT' : 'SIGSTOP');
  }

  /** Resumes every server paused by {@link only}. */
  static resumeAll(): void {
    for (const server of AppServer.running) server.signal('SIGCONT');
  }

  private signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server's CPU window. */
  async cpuStart(): Promise<void> {
    await this.request('cpu-start');
  }

  /** Ends the CPU window and returns what the server used in it. */
  async cpuStop(): Promise<CpuWindow> {
    return (await this.request('cpu-stop')) as unknown as CpuWindow;
  }

  /** Starts sampling the server's CPU with the in-process inspector (`intervalUs` between samples). */
  async profileStart(intervalUs = 200): Promise<void> {
    await this.request('profile-start', { intervalUs });
  }

  /** Stops sampling and has the server write the `.cpuprofile` to `file`. */
  async profileStop(file: string): Promise<void> {
    await this.request('profile-stop', { file });
  }

  /** Memory, descriptors, active handles and event-loop delay of the server process (bench/resources.ts). */
  async resources(): Promise<ResourceSample> {
    return (await this.request('resources')) as unknown as ResourceSample;
  }

  /** A full garbage collection in the server; it must have been started with `--expose-gc`. */
  async gc(): Promise<void> {
    const answer = await this.request('gc');
    if (typeof answer.error === 'string') throw new Error(`app ${this.variant}: ${answer.error}`);
  }

  /** Process id of the server. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Asks the server to close, then kills it if it has not exited within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ id: 0, cmd: 'stop' });
    await withTimeout(exited, 5000, `app ${this.variant} stop`).catch(() => this.child.kill('SIGKILL'));
  }

  private request(cmd: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const answer = new Promise<Record<string, unknown>>((resolve) => this.pending.set(id, resolve));
    this.child.send({ ...extra, id, cmd });
    return withTimeout(answer, 10_000, `app ${this.variant} ${cmd}`);
  }
}

// ------------------------------------------------------------------------------------- private Redis

/** Per-command call counts from `INFO commandstats` (commands run inside Lua scripts included). */
export type CommandCounts = Record<string, number>;

/**
 * A throw-away `redis-server` for the benchmark only (no persistence), so `INFO commandstats` counts nothing
 * but the benchmark's traffic and the shared Redis on 6379 is left alone.
 */
export class PrivateRedis {
  private constructor(
    readonly port: number,
    readonly version: string,
    private readonly child: ChildProcess,
  ) {}

  /**
   * Starts one on a free port, on `core` when given. `config`: extra `redis-server` arguments, e.g.
   * `['--hash-max-listpack-value', '128']` (default none: Redis' defaults).
   */
  static async start(core?: number, config: readonly string[] = []): Promise<PrivateRedis> {
    const port = await freePort();
    // Raised priority (nice -10; plain priority when not allowed) stands in for Redis having a core of its own:
    // on the shared core it answers at once instead of queueing behind the load generator and other processes.
    // setpriv --pdeathsig (util-linux) makes the kernel stop Redis even if the driver is SIGKILLed.
    const server = [
      'nice',
      '-n',
      '-10',
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      '--loglevel',
      'warning',
      ...config,
    ];
    const [program, ...args] = hasSetpriv() ? ['setpriv', '--pdeathsig', 'TERM', ...server] : server;
    const child = spawnTracked(program, args, core, { stdio: ['ignore', 'ignore', 'ignore'] });
    const failed = new Promise<never>((_, reject) => {
      child.once('exit', (code) => reject(new Error(`redis-server exited at start-up (code ${code})`)));
      child.once('error', reject);
    });
    // Poll until it answers PING (at most 10 s).
    for (let attempt = 0; attempt < 100; attempt++) {
      const reply = await Promise.race([command(port, ['PING']).catch(() => ''), failed]);
      if (reply.startsWith('+PONG')) {
        const info = await command(port, ['INFO', 'server']);
        const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
        return new PrivateRedis(port, version, child);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error('redis-server did not answer PING within 10 s');
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Call counts per command since start (or the last FLUSHALL; counts are never reset). */
  async commandStats(): Promise<CommandCounts> {
    const text = await command(this.port, ['INFO', 'commandstats']);
    const counts: CommandCounts = {};
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[match[1]] = Number(match[2]);
    return counts;
  }

  async flushAll(): Promise<void> {
    await command(this.port, ['FLUSHALL']);
  }

  /**
   * Watches every command for `run()`'s duration with MONITOR and splits them by origin: sent by a client
   * (one network round trip each) or run inside a Lua script. MONITOR slows Redis, so the counts come from a
   * separate audit run, never from a measured round.
   */
  async audit<T>(run: () => Promise<T>): Promise<{ result: T; client: CommandCounts; lua: CommandCounts }> {
    const client: CommandCounts = {};
    const lua: CommandCounts = {};
    const socket = connect(this.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('MONITOR\r\n');
    let buffer = '';
    let monitoring = false;
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('latin1');
      let newline: number;
      while ((newline = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        if (line === '+OK') {
          monitoring = true;
          continue;
        }
        // +1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "..."   or   [0 lua] "HGETALL" "..."
        const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
        if (!m) continue;
        const name = m[2].toLowerCase();
        const bucket = m[1] === 'lua' ? lua : client;
        bucket[name] = (bucket[name] ?? 0) + 1;
      }
    };
    socket.on('data', onData);
    for (let i = 0; i < 50 && !monitoring; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    if (!monitoring) {
      socket.destroy();
      throw new Error('MONITOR did not start');
    }
    try {
      const result = await run();
      // Let the last lines arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { result, client, lua };
    } finally {
      socket.off('data', onData);
      socket.destroy();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await withTimeout(exited, 5000, 'redis-server stop').catch(() => this.child.kill('SIGKILL'));
  }
}

/**
 * A memcached of the benchmark's own (kit-memcached), on a free port and `core`, at raised priority like
 * {@link PrivateRedis}: 64 MB, nothing persisted (memcached keeps nothing anyway).
 */
export class PrivateMemcached {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(core?: number): Promise<PrivateMemcached> {
    const port = await freePort();
    const server = ['nice', '-n', '-10', 'memcached', '-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64'];
    const [program, ...args] = hasSetpriv() ? ['setpriv', '--pdeathsig', 'TERM', ...server] : server;
    const child = spawnTracked(program, args, core, { stdio: ['ignore', 'ignore', 'ignore'] });
    const failed = new Promise<never>((_, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`memcached exited at start-up (code ${code}); is it installed (apt-get install -y memcached)?`)),
      );
      child.once('error', reject);
    });
    for (let attempt = 0; attempt < 100; attempt++) {
      const up = await Promise.race([canConnect(port), failed]);
      if (up) return new PrivateMemcached(port, child);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error('memcached did not accept connections within 10 s');
  }

  /** `host:port`, as `MemcachedSessionStore`'s `server` option takes it. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await withTimeout(exited, 5000, 'memcached stop').catch(() => this.child.kill('SIGKILL'));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function hasSetpriv(): boolean {
  return spawnSync('setpriv', ['--pdeathsig', 'TERM', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Sends one command over a fresh connection and returns the raw reply (enough for PING, INFO, FLUSHALL). */
function command(port: number, args: string[]): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const socket: Socket = connect(port, '127.0.0.1');
      let reply = '';
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        reply += chunk.toString('latin1');
        if (isComplete(reply)) {
          socket.destroy();
          resolve(reply);
        }
      });
      socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    }),
    5000,
    `redis ${args[0]}`,
  );
}

/** True when `reply` holds a whole simple reply (+/-/:) or a whole bulk string ($). */
function isComplete(reply: string): boolean {
  if (!reply.endsWith('\r\n')) return false;
  if (reply[0] !== '$') return true;
  const header = reply.indexOf('\r\n');
  const length = Number(reply.slice(1, header));
  return length < 0 || Buffer.byteLength(reply, 'latin1') >= header + 2 + length + 2;
}
