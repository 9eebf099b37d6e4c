/** Test support: a private memcached that a test may kill and restart without touching the shared one on 11211. */
import { ChildProcess, spawn } from 'node:child_process';
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
