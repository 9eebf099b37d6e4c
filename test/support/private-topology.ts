/**
 * Test support: a private Redis Cluster (3 masters, 3 replicas on 127.0.0.1:7100-7105) and a private Sentinel set-up
 * (master 7200, replica 7201, sentinels 7202-7204), each in a throwaway directory, created by the test and torn down
 * after it. Fixed ports, kept clear of the other suites (which use 6379 and random ports): a port already taken
 * fails the set-up with a message, never a skip. A missing redis-server or redis-cli fails too.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Polls `check` until it answers true, or fails after `timeoutMs` with `what` (generous: a loaded 2-core machine). */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs redis-cli against 127.0.0.1:`port` and returns its output (trimmed). */
export async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('redis-cli is missing: apt-get install -y redis-tools (or redis-server)');
    throw new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One redis-server child process (a node, or a sentinel with `--sentinel`), started from a config file. */
class RedisProcess {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly conf: string,
    private readonly sentinel = false,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (await portInUse(this.port)) {
      throw new Error(
        `port ${this.port} is already in use (a redis-server left over from an earlier run of this suite?): stop it, ` +
          `e.g. redis-cli -p ${this.port} shutdown nosave`,
      );
    }
    const args = [this.conf, ...(this.sentinel ? ['--sentinel'] : [])];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${this.port} within 30 s:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections') || (this.sentinel && output.includes('Sentinel ID is'))) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run redis-server (is it on PATH? apt-get install -y redis-server): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${this.port} exited with ${code} before it was ready:\n${output}`));
      });
    });
  }

  /** SIGKILL: a crash, nothing flushed, no goodbye to the cluster. Resolves once the process has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

/** A Redis Cluster of 3 masters and 3 replicas on 127.0.0.1:7100-7105. */
export class PrivateRedisCluster {
  static readonly PORTS = [7100, 7101, 7102, 7103, 7104, 7105];
  private readonly dir = mkdtempSync(join(tmpdir(), 'nsk-cluster-'));
  readonly nodes: RedisProcess[];

  constructor() {
    this.nodes = PrivateRedisCluster.PORTS.map((port) => {
      const conf = join(this.dir, `${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'cluster-enabled yes',
          `cluster-config-file nodes-${port}.conf`,
          // Short, so a failover takes seconds; the tests still allow a minute for it.
          'cluster-node-timeout 2000',
          'save ""',
          'appendonly no',
          // The first sync at once (Redis 7 waits 5 s for more replicas before a diskless transfer).
          'repl-diskless-sync-delay 0',
          `dir ${this.dir}`,
          `dbfilename dump-${port}.rdb`,
        ].join('\n') + '\n',
      );
      return new RedisProcess(port, conf);
    });
  }

  /** `redis://127.0.0.1:PORT` of every node (what `clusterNodes` takes). */
  get urls(): string[] {
    return PrivateRedisCluster.PORTS.map((port) => `redis://127.0.0.1:${port}`);
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start()));
    await cli(
      this.nodes[0].port,
      '--cluster',
      'create',
      ...PrivateRedisCluster.PORTS.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    );
    await this.waitHealthy();
  }

  /** Until every running node says cluster_state:ok and there are 3 masters with a replica each, as seen by each node. */
  async waitHealthy(timeoutMs = 90_000): Promise<void> {
    await waitFor(
      'the cluster to be healthy (cluster_state:ok, 3 masters each with a connected replica)',
      async () => {
        for (const node of this.nodes.filter((n) => n.running)) {
          if (!(await cli(node.port, 'cluster', 'info')).includes('cluster_state:ok')) return false;
        }
        const masters = await this.masters();
        if (masters.length !== 3) return false;
        for (const master of masters) {
          // `online`, not just connected: a replica waiting for its first sync confirms no WAIT.
          if (!/slave0:.*state=online/.test(await cli(master, 'info', 'replication'))) return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** Ports of the masters that serve slots, from a running node's CLUSTER NODES. */
  async masters(): Promise<number[]> {
    const node = this.nodes.find((n) => n.running);
    if (!node) return [];
    const lines = (await cli(node.port, 'cluster', 'nodes')).split('\n');
    return lines
      .map((line) => line.split(' '))
      .filter((f) => f[2]?.includes('master') && !f[2].includes('fail') && f.length > 8)
      .map((f) => Number(f[1].split('@')[0].split(':')[1]));
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slot = Number(await cli(this.nodes.find((n) => n.running)!.port, 'cluster', 'keyslot', key));
    const node = this.nodes.find((n) => n.running)!;
    const lines = (await cli(node.port, 'cluster', 'nodes')).split('\n').map((line) => line.split(' '));
    for (const f of lines) {
      if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
      for (const range of f.slice(8)) {
        const [from, to] = range.split('-').map(Number);
        if (slot >= from && slot <= (to ?? from)) return Number(f[1].split('@')[0].split(':')[1]);
      }
    }
    throw new Error(`no master serves slot ${slot} of ${key}`);
  }

  /** The replica of the master on `masterPort`. */
  async replicaOf(masterPort: number): Promise<number> {
    const node = this.nodes.find((n) => n.running)!;
    const lines = (await cli(node.port, 'cluster', 'nodes')).split('\n').map((line) => line.split(' '));
    const master = lines.find((f) => f[1].split('@')[0].endsWith(`:${masterPort}`));
    if (!master) throw new Error(`no node on ${masterPort}`);
    const replica = lines.find((f) => f[3] === master[0] && !f[2].includes('fail'));
    if (!replica) throw new Error(`the master on ${masterPort} has no replica`);
    return Number(replica[1].split('@')[0].split(':')[1]);
  }

  node(port: number): RedisProcess {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on ${port}`);
    return node;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One master (7200), one replica (7201) and three sentinels (7202-7204) watching it as `nsk-master`. */
export class PrivateRedisSentinel {
  static readonly NAME = 'nsk-master';
  static readonly MASTER = 7200;
  static readonly REPLICA = 7201;
  static readonly SENTINELS = [7202, 7203, 7204];
  private readonly dir = mkdtempSync(join(tmpdir(), 'nsk-sentinel-'));
  readonly master: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: RedisProcess[];

  constructor() {
    const node = (port: number, extra: string[]) => {
      const conf = join(this.dir, `${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'save ""',
          'appendonly no',
          'repl-diskless-sync-delay 0',
          `dir ${this.dir}`,
          `dbfilename dump-${port}.rdb`,
          ...extra,
        ].join('\n') + '\n',
      );
      return new RedisProcess(port, conf);
    };
    this.master = node(PrivateRedisSentinel.MASTER, []);
    this.replica = node(PrivateRedisSentinel.REPLICA, [`replicaof 127.0.0.1 ${PrivateRedisSentinel.MASTER}`]);
    this.sentinels = PrivateRedisSentinel.SENTINELS.map((port) => {
      const conf = join(this.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${this.dir}`,
          `sentinel monitor ${PrivateRedisSentinel.NAME} 127.0.0.1 ${PrivateRedisSentinel.MASTER} 2`,
          `sentinel down-after-milliseconds ${PrivateRedisSentinel.NAME} 1000`,
          `sentinel failover-timeout ${PrivateRedisSentinel.NAME} 10000`,
          `sentinel parallel-syncs ${PrivateRedisSentinel.NAME} 1`,
        ].join('\n') + '\n',
      );
      return new RedisProcess(port, conf, true);
    });
  }

  /** `redis://127.0.0.1:PORT` of each sentinel. */
  get sentinelUrls(): string[] {
    return PrivateRedisSentinel.SENTINELS.map((port) => `redis://127.0.0.1:${port}`);
  }

  async start(): Promise<void> {
    await this.master.start();
    await this.replica.start();
    await Promise.all(this.sentinels.map((s) => s.start()));
    await this.waitHealthy(PrivateRedisSentinel.MASTER);
  }

  /** The port the sentinels name as master now. */
  async currentMaster(): Promise<number> {
    const reply = await cli(PrivateRedisSentinel.SENTINELS[0], 'sentinel', 'get-master-addr-by-name', PrivateRedisSentinel.NAME);
    return Number(reply.split('\n')[1]);
  }

  /** Until the sentinels agree that `masterPort` is the master, it has a connected replica, and they know each other. */
  async waitHealthy(masterPort: number, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `the Sentinel set-up to settle with 127.0.0.1:${masterPort} as master and a connected replica`,
      async () => {
        for (const port of PrivateRedisSentinel.SENTINELS) {
          const addr = await cli(port, 'sentinel', 'get-master-addr-by-name', PrivateRedisSentinel.NAME);
          if (Number(addr.split('\n')[1]) !== masterPort) return false;
          const master = await cli(port, 'sentinel', 'master', PrivateRedisSentinel.NAME);
          const fields = master.split('\n');
          const field = (name: string) => fields[fields.indexOf(name) + 1];
          if (Number(field('num-slaves')) < 1 || Number(field('num-other-sentinels')) < 2) return false;
        }
        if (!/slave0:.*state=online/.test(await cli(masterPort, 'info', 'replication'))) return false;
        return true;
      },
      timeoutMs,
    );
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, this.replica, this.master].map((p) => p.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
