/** Test support: a private memcached that a test may kill and restart without touching the shared one on 11211. */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';

export { freePort } from './private-redis';

/**
 * A memcached child process on a fixed port (`memcached -u root -l 127.0.0.1 -p <port>`), 16 MB of memory unless
 * `args` say otherwise (e.g. `['-m', '2']` for a small cache that evicts soon, `-M` to refuse writes when full).
 */
export class PrivateMemcached {
  private process: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly args: readonly string[] = ['-m', '16'],
  ) {}

  /** `host:port`, as `MemcachedSessionStore`'s `server` option takes it. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts memcached and waits until it accepts connections (10 s at most). */
  async start(): Promise<void> {
    const child = spawn('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(this.port), ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`cannot run memcached (is it on PATH? apt-get install -y memcached): ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`memcached exited with ${code} before it accepted connections:\n${output}`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await Promise.race([accepts(this.port), failed])) return;
      if (Date.now() > deadline) throw new Error(`memcached did not accept connections on ${this.port} within 10 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills it (SIGKILL: everything it held is lost, as in a crash) and waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Pauses it (SIGSTOP): connections stay open and nothing answers, like a stalled server. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Resumes it after {@link pause} (SIGCONT). */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** memcached's `cmd_get` counter: the get-type commands it has processed since it started. */
  async commandsGet(): Promise<number> {
    return Number(await statOf(this.port, 'cmd_get'));
  }

  /**
   * Blocks this process (synchronously: no timer, no I/O, as a long synchronous task would) until memcached has
   * processed more than `seen` get commands and the clock has reached `until` (ms since the epoch). A child process
   * watches memcached's counters, so the block ends only once memcached has answered, however slowly a loaded machine
   * schedules it. Throws after 10 s when memcached never sees the command (it was not written before the block).
   */
  blockUntilServed(seen: number, until: number): void {
    const script = `
      const { connect } = require('node:net');
      const [port, seen, until] = process.argv.slice(1).map(Number);
      const giveUp = Date.now() + 10000;
      const poll = () => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk;
          if (!text.includes('END\\r\\n')) return;
          socket.destroy();
          const served = Number(/STAT cmd_get (\\d+)/.exec(text)[1]) > seen;
          if (served) return setTimeout(() => process.exit(0), Math.max(20, until - Date.now()));
          if (Date.now() > giveUp) { console.error('memcached processed no get command in 10 s'); process.exit(1); }
          setTimeout(poll, 5);
        });
        socket.write('stats\\r\\n');
      };
      poll();`;
    execFileSync(process.execPath, ['-e', script, String(this.port), String(seen), String(until)], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.kill();
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function statOf(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes('END\r\n')) return;
      socket.destroy();
      const value = new RegExp(`STAT ${name} (\\S+)`).exec(text)?.[1];
      if (value === undefined) reject(new Error(`memcached on ${port} has no stat ${name}`));
      else resolve(value);
    });
    socket.once('error', reject);
    socket.write('stats\r\n');
  });
}
