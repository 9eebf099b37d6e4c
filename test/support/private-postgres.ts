/**
 * Test support: a private PostgreSQL server (its own `initdb` cluster in a throwaway directory, on a port the test
 * picks) that a test may kill, pause and restart without touching the shared server on 5432. The binaries come from
 * /usr/lib/postgresql/<version>/bin and run as the `postgres` OS user (PostgreSQL refuses to run as root).
 *
 * A signal goes to the postmaster and every process under it (each backend is a session leader of its own, so a
 * process-group signal would miss them): a SIGKILL is a real crash (no backend lingers serving its connection) and a
 * SIGSTOP freezes the whole server.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const OS_USER = 'postgres';

/** The newest installed PostgreSQL's bin directory; throws, saying what to install, when there is none. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL binaries under ${root}/*/bin: apt-get install -y postgresql`);
  return join(root, versions[0], 'bin');
}

/** Runs `command` as the postgres OS user when this process is root (PostgreSQL refuses root), else as is. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', OS_USER, '--', command, ...args]] : [command, args];
}

export class PrivatePostgres {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'nsk-pg-'));
  private readonly bin = binDir();

  constructor(readonly port: number) {}

  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication on loopback). */
  get url(): string {
    return `postgres://${OS_USER}@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates the cluster (first call only) and starts the server; resolves once it accepts queries. */
  async start(): Promise<void> {
    const data = join(this.dir, 'data');
    if (!existsSync(data)) {
      if (userInfo().uid === 0) chownSync(this.dir, Number(execFileSync('id', ['-u', OS_USER]).toString()), 0);
      const [cmd, args] = asPostgres(join(this.bin, 'initdb'), ['-D', data, '-U', OS_USER, '--auth=trust', '-E', 'UTF8', '--no-sync']);
      execFileSync(cmd, args, { stdio: 'pipe' });
    }
    const [cmd, args] = asPostgres(join(this.bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      // A process crash loses nothing the OS has (the WAL is written before a commit answers); only a machine crash
      // would, and a test never has one: no fsync keeps the test fast on a shared disk.
      '-c',
      'fsync=off',
      '-c',
      'max_connections=50',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`postgres exited with ${code} before it was ready:\n${output}`))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await Promise.race([this.answers(), exited]);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`postgres did not accept queries on ${this.port} within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Sends a signal to the whole server (postmaster and backends). For signals that end it (SIGKILL, SIGTERM...),
   * waits until it has exited.
   */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const tree = [child.pid, ...descendantsOf(child.pid)];
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      for (const pid of tree) tryKill(pid, signal);
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (const pid of tree) tryKill(pid, 'SIGCONT');
    for (const pid of tree) tryKill(pid, signal);
    await exited;
    // Wait until every backend is gone too, so a restart finds the port and the shared memory free.
    for (let i = 0; i < 100 && tree.some(isAlive); i++) await new Promise((r) => setTimeout(r, 50));
    this.process = undefined;
  }

  async dispose(): Promise<void> {
    if (this.process) await this.signal('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether the server accepts connections (`pg_isready`, which needs no client library). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      execFile(join(this.bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.port), '-t', '1'], (error) => resolve(!error));
    });
  }
}

/** Every process under `pid` (children, their children...), from `ps`. */
function descendantsOf(pid: number): number[] {
  const pairs = execFileSync('ps', ['-e', '-o', 'pid=,ppid='])
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of pairs) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
