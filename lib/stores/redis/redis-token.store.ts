import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  createOwnedClient,
  errorMessage,
  isErrorReply,
  isTransientReply,
  OwnedClient,
  ownedConnectionState,
  redactUrl,
} from './owned-client';
import { assertClusterPrefix, isClusterCommands } from './redis-topology';
import { BoundedCall, DeadlineSweeper, runBounded } from '../deadline-sweeper';
import {
  AccessCheck,
  AccessRevocation,
  RefreshFamily,
  RefreshRotation,
  RefreshRotationResult,
  TokenStore,
  TokenStoreUnavailableError,
} from '../../tokens/token-store';
import {
  CREATE_FAMILY_SCRIPT,
  DENY_SCRIPT,
  LIST_FAMILIES_SCRIPT,
  REVOKE_ALL_SCRIPT,
  REVOKE_FAMILY_SCRIPT,
  ROTATE_REFRESH_SCRIPT,
} from './redis-token-scripts';

/**
 * The part of a node-redis client (v5 or v6) the token store uses: raw commands. The store never closes a client
 * you pass. It is the same shape as `RedisSessionClient`, so the session store's client can be shared.
 */
export interface RedisTokenClient {
  /** Sends one command and resolves with Redis' reply. */
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
}

/** Options of {@link RedisTokenStore}. Give `client` or `url`, not both. */
export interface RedisTokenStoreOptions {
  /**
   * A connected node-redis client you own, e.g. the one your `RedisSessionStore` uses: the store never closes it.
   * Create it with `disableOfflineQueue: true` so an outage fails fast (503) and give it an `'error'` listener.
   * Default: none (the store creates and owns a client for `url`).
   */
  client?: RedisTokenClient;
  /**
   * Where to connect when no `client` is given. The store then owns the client: offline queue disabled, reconnection
   * with a capped backoff (0 to 2000 ms) so it heals after an outage, closed by {@link RedisTokenStore.close}.
   * Default `'redis://127.0.0.1:6379'`.
   */
  url?: string;
  /**
   * Prefix of every key. Default `'{nsk}:tok:'`: a Redis Cluster hash tag at its start puts every key in one slot, as
   * the session store's default `{nsk}:` does, so the multi-key scripts are valid on a Cluster. See the key layout
   * on {@link RedisTokenStore}. Give each application sharing a Redis its own prefix.
   */
  prefix?: string;
  /** Longest wait (ms) for one operation before it fails with {@link TokenStoreUnavailableError}. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** How long (ms) {@link RedisTokenStore.connect} may take for a store-owned client. Ignored with `client`. Default 10000 ms. */
  connectTimeoutMs?: number;
}

/** Default {@link RedisTokenStoreOptions.prefix}. */
export const DEFAULT_REDIS_TOKEN_PREFIX = '{nsk}:tok:';

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface Script {
  name: string;
  source: string;
  sha1: string;
}

const script = (name: string, source: string): Script => ({ name, source, sha1: createHash('sha1').update(source).digest('hex') });

const SCRIPTS = {
  createFamily: script('createFamily', CREATE_FAMILY_SCRIPT),
  rotateRefresh: script('rotateRefresh', ROTATE_REFRESH_SCRIPT),
  revokeFamily: script('revokeFamily', REVOKE_FAMILY_SCRIPT),
  revokeAllForUser: script('revokeAllForUser', REVOKE_ALL_SCRIPT),
  listFamilies: script('listFamilies', LIST_FAMILIES_SCRIPT),
  deny: script('deny', DENY_SCRIPT),
};

/**
 * The {@link TokenStore} on Redis (node-redis v5 or v6): refresh-token families and access-token revocation, next to
 * the sessions of `RedisSessionStore`, on the same server and, if you like, the same client.
 *
 * Every operation is ONE round trip: a Lua script (EVALSHA, and EVAL once after Redis lost its script cache), which
 * Redis runs atomically, or for {@link checkAccess} one MGET. Twenty parallel refreshes with the same token are
 * twenty scripts run one after the other: the first rotates, the others find the token used and answer `grace` with
 * the same successor. Decisions follow the caller's `now`; every key has a TTL of exactly `deadline - now`, so
 * nothing outlives its deadline. Unreadable (corrupted or foreign) entries read as missing. An unreachable or
 * stalled Redis throws {@link TokenStoreUnavailableError} (the API answers 503); an error reply such as a script
 * error is a bug and is thrown as it is.
 *
 * Key layout, under `prefix` (P). The user's keys carry a hash tag of the user, `{u:<userId>}`, so a family, its
 * tokens and the user's index and cut-off always share one Redis Cluster slot:
 *
 * | key | type | holds | expires |
 * | --- | --- | --- | --- |
 * | `P{u:<userId>}:f:<familyId>` | hash | the {@link RefreshFamily} fields, `revokedAt` ('' while live), `live` (the latest token id) | absolute deadline |
 * | `P{u:<userId>}:t:<tokenId>` | hash | `familyId`, `idleExpiresAt`; once used `usedAt`, `graceUntil`, `successorId`, `sealedSuccessor` | idle deadline (or grace end) |
 * | `P{u:<userId>}:fams` | sorted set | the user's family ids, scored by `createdAt` | latest absolute deadline |
 * | `P{u:<userId>}:nb` | string | the access-token cut-off `notBefore:until` | `until` |
 * | `Pr:<tokenId>` | string | the user id: how a token id leads to its user's slot | as the token |
 * | `Pf:<familyId>` | string | the user id, for revocation by family id | absolute deadline |
 * | `Pj:<jti>`, `Ps:<sid>` | string | the denylist deadline `until` | `until` |
 *
 * The routers (`r:`, `f:`) never change once written, so a future sharded mode can read one first and then run the
 * script in the user's slot. Today the scripts derive the user's keys from the router in the same script, which a
 * Cluster accepts only when every key is in one slot: hence the default prefix `{nsk}:tok:`, whose leading hash tag
 * wins over the per-user one. With a prefix without a hash tag the store works on a single Redis (or a Sentinel
 * primary) only.
 *
 * @example
 * // Sharing the session store's Redis client (you own it: connect it, listen to 'error', close it):
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * client.on('error', (error) => logger.warn(error));
 * await client.connect();
 * const sessions = new RedisSessionStore({ client });
 * const tokens = new RedisTokenStore({ client });
 * // Or with a client of its own:
 * const own = new RedisTokenStore({ url: process.env.REDIS_URL });
 * await own.connect();
 */
export class RedisTokenStore extends TokenStore {
  private readonly logger = new Logger('RedisTokenStore');
  private readonly client: RedisTokenClient;
  private readonly owned: OwnedClient | undefined;
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** Where Redis is, for error messages: the URL without credentials. */
  private readonly target: string;
  private connecting: Promise<void> | undefined;
  /** The owned client's connection: ever ready, the first connection's deadline, the last connection error. */
  private readonly connection = ownedConnectionState();
  private closed = false;
  /** Commands in flight with their deadlines (see {@link send}). */
  private readonly pending: DeadlineSweeper<BoundedCall>;

  /** Creates the store; with `url` (or no option) call {@link connect} before the first operation. */
  constructor(options: RedisTokenStoreOptions = {}) {
    super();
    this.prefix = options.prefix ?? DEFAULT_REDIS_TOKEN_PREFIX;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (typeof this.prefix !== 'string' || this.prefix.length === 0) {
      throw new TypeError(`RedisTokenStore: prefix must be a non-empty string (default "${DEFAULT_REDIS_TOKEN_PREFIX}")`);
    }
    for (const [name, value] of [
      ['commandTimeoutMs', this.commandTimeoutMs],
      ['connectTimeoutMs', this.connectTimeoutMs],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new RangeError(`RedisTokenStore: ${name} must be a positive number of milliseconds (got ${String(value)})`);
      }
    }
    this.pending = new DeadlineSweeper(this.commandTimeoutMs, (overdue) => {
      for (const command of overdue) {
        command.reject(new Error(`no answer from Redis at ${this.target} within ${this.commandTimeoutMs} ms (commandTimeoutMs)`));
      }
    });
    // Its scripts go from a token id to the user's keys: on a cluster they must all share the prefix's hash tag.
    if (isClusterCommands(options.client)) assertClusterPrefix('RedisTokenStore', this.prefix, DEFAULT_REDIS_TOKEN_PREFIX);
    if (options.client && options.url) {
      throw new TypeError(
        "RedisTokenStore: give either `client` (yours, e.g. the session store's) or `url` (the store connects), not both",
      );
    }
    if (options.client) {
      if (typeof options.client.sendCommand !== 'function') {
        throw new TypeError('RedisTokenStore: `client` must be a node-redis client (createClient(), then connect())');
      }
      this.client = options.client;
      this.target = 'the Redis client passed to RedisTokenStore';
    } else {
      const url = options.url ?? DEFAULT_URL;
      this.target = redactUrl(url);
      this.owned = createOwnedClient(url, {
        storeName: 'RedisTokenStore',
        target: this.target,
        commandTimeoutMs: this.commandTimeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        logger: this.logger,
        state: this.connection,
        isClosed: () => this.closed,
      });
      this.client = this.owned;
    }
  }

  /**
   * Connects the store's own client (retrying for `connectTimeoutMs`) and checks that Redis answers; with a client
   * you passed, only checks that it answers. Safe to call again.
   *
   * @throws TokenStoreUnavailableError when Redis cannot be reached, naming the URL (without credentials).
   */
  override async connect(): Promise<void> {
    if (this.closed) throw new TokenStoreUnavailableError('connect', new Error('the store is closed; create a new one'));
    if (this.owned && !this.owned.isOpen) {
      this.connecting ??= this.openOwnedClient(this.owned).finally(() => (this.connecting = undefined));
      return this.connecting;
    }
    if (this.connecting) return this.connecting;
    await this.ping();
  }

  async createFamily(family: RefreshFamily, tokenId: string, now: number, idleTimeoutMs: number): Promise<void> {
    assertFamily(family);
    const reply = await this.eval(
      SCRIPTS.createFamily,
      [this.key('r:', id(tokenId, 'tokenId')), this.key('f:', family.familyId)],
      [
        num(now, 'now'),
        num(idleTimeoutMs, 'idleTimeoutMs'),
        tokenId,
        'familyId',
        family.familyId,
        'userId',
        family.userId,
        'clientId',
        family.clientId,
        'scope',
        family.scope,
        'aal',
        num(family.aal, 'aal'),
        'authTime',
        num(family.authTime, 'authTime'),
        'createdAt',
        num(family.createdAt, 'createdAt'),
        'absoluteExpiresAt',
        num(family.absoluteExpiresAt, 'absoluteExpiresAt'),
      ],
    );
    if (text(reply) === 'exists') {
      throw new Error('RedisTokenStore.createFamily: the family id or token id exists already; generate fresh random values');
    }
    if (text(reply) !== 'created') throw unexpected('createFamily', reply);
  }

  async rotateRefresh(rotation: RefreshRotation): Promise<RefreshRotationResult> {
    const reply = await this.eval(
      SCRIPTS.rotateRefresh,
      [this.key('r:', id(rotation.tokenId, 'tokenId'))],
      [
        rotation.tokenId,
        id(rotation.successorId, 'successorId'),
        str(rotation.sealedSuccessor, 'sealedSuccessor'),
        num(rotation.now, 'now'),
        num(rotation.idleTimeoutMs, 'idleTimeoutMs'),
        num(rotation.graceMs, 'graceMs'),
      ],
    );
    const [status, flat, successorId, sealedSuccessor] = tuple(reply, 'rotateRefresh');
    if (status === 'missing') return { status };
    if (status === 'exists') {
      throw new Error('RedisTokenStore.rotateRefresh: the successor id exists already; generate a fresh random token');
    }
    const family = decodeFamily(flat);
    if (!family) return { status: 'missing' };
    if (status === 'grace') return { status, family, successorId: text(successorId), sealedSuccessor: text(sealedSuccessor) };
    if (status === 'rotated' || status === 'reused' || status === 'expired') return { status, family };
    throw unexpected('rotateRefresh', reply);
  }

  async revokeFamilyOfToken(tokenId: string, now: number): Promise<RefreshFamily | null> {
    const reply = await this.eval(SCRIPTS.revokeFamily, [this.key('r:', id(tokenId, 'tokenId'))], [num(now, 'now'), tokenId, '']);
    return this.revoked(reply, 'revokeFamilyOfToken');
  }

  async revokeFamily(familyId: string, now: number): Promise<boolean> {
    const reply = await this.eval(SCRIPTS.revokeFamily, [this.key('f:', id(familyId, 'familyId'))], [num(now, 'now'), '', familyId]);
    return (await this.revoked(reply, 'revokeFamily')) !== null;
  }

  async revokeAllForUser(userId: string, notBefore: number, until: number, now: number): Promise<number> {
    const user = this.userPart(userId);
    const reply = await this.eval(
      SCRIPTS.revokeAllForUser,
      [`${user}fams`, `${user}nb`],
      [userId, num(notBefore, 'notBefore'), num(until, 'until'), num(now, 'now')],
    );
    const count = Number(text(reply));
    if (!Number.isInteger(count) || count < 0) throw unexpected('revokeAllForUser', reply);
    return count;
  }

  async listFamilies(userId: string, now: number): Promise<RefreshFamily[]> {
    const reply = await this.eval(SCRIPTS.listFamilies, [`${this.userPart(userId)}fams`], [userId, num(now, 'now')]);
    if (!Array.isArray(reply)) throw unexpected('listFamilies', reply);
    return reply.flatMap((flat) => decodeFamily(flat) ?? []);
  }

  async denyAccessToken(jti: string, until: number, now: number): Promise<void> {
    await this.eval(SCRIPTS.deny, [this.key('j:', id(jti, 'jti'))], [num(until, 'until'), num(now, 'now')]);
  }

  async denySession(sid: string, until: number, now: number): Promise<void> {
    await this.eval(SCRIPTS.deny, [this.key('s:', id(sid, 'sid'))], [num(until, 'until'), num(now, 'now')]);
  }

  /** One MGET of the `jti` entry, the user's cut-off and (with `sid`) the session entry; decided against `now`. */
  async checkAccess(check: AccessCheck, now: number): Promise<AccessRevocation> {
    const keys = [this.key('j:', id(check.jti, 'jti')), `${this.userPart(check.userId)}nb`];
    if (check.sid !== undefined) keys.push(this.key('s:', id(check.sid, 'sid')));
    num(check.issuedAt, 'issuedAt');
    num(now, 'now');
    const reply = await this.send('checkAccess', ['MGET', ...keys]);
    if (!Array.isArray(reply)) throw unexpected('checkAccess', reply);
    const [jti, cutoff, session] = reply.map((v) => (v === null || v === undefined ? undefined : text(v)));
    if (jti !== undefined && now < parseNumber(jti)) return 'jti';
    const match = cutoff === undefined ? null : /^([^:]+):([^:]+)$/.exec(cutoff);
    if (match && now < parseNumber(match[2]) && check.issuedAt < parseNumber(match[1])) return 'user';
    if (session !== undefined && now < parseNumber(session)) return 'session';
    return null;
  }

  async ping(): Promise<void> {
    await this.send('ping', ['PING']);
  }

  /**
   * Closes the store's own client once the commands in flight have their answer or their timeout (at most
   * `commandTimeoutMs`); a client you passed stays open. Safe to call twice.
   */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Commands in flight settle by their answer or at their deadline; then the sweeper's timer stops.
    await this.pending.stop();
    if (this.owned?.isOpen) this.owned.destroy();
  }

  private key(kind: string, value: string): string {
    return `${this.prefix}${kind}${value}`;
  }

  private userPart(userId: string): string {
    return `${this.prefix}{u:${id(userId, 'userId')}}:`;
  }

  private revoked(reply: unknown, operation: string): RefreshFamily | null {
    const [status, flat] = tuple(reply, operation);
    if (status === 'none') return null;
    if (status !== 'revoked') throw unexpected(operation, reply);
    return decodeFamily(flat);
  }

  /** One script in one round trip: EVALSHA, and EVAL (which caches it again) only after a NOSCRIPT reply. */
  private async eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, this.prefix, ...args];
    try {
      return await this.send(s.name, ['EVALSHA', s.sha1, ...tail]);
    } catch (error) {
      if (!errorMessage(error).startsWith('NOSCRIPT')) throw error;
      return this.send(s.name, ['EVAL', s.source, ...tail]);
    }
  }

  /**
   * One command, bounded by `commandTimeoutMs`. No answer in time, no connection, or a "not now" reply (LOADING,
   * BUSY...) is {@link TokenStoreUnavailableError}; any other error reply is thrown as it is (a bug, not an outage).
   *
   * The deadline is judged by a {@link DeadlineSweeper}, as in `RedisSessionStore`: after the poll phase has read the
   * socket (a reply that came in time while the process could not run is an answer), and counting only the time the
   * process ran (a command node-redis had not yet written when the process stopped gets its whole timeout after the
   * resume). No timer per command.
   */
  private async send(operation: string, command: string[]): Promise<unknown> {
    if (this.closed) throw new TokenStoreUnavailableError(operation, new Error('the store is closed; create a new one'));
    try {
      return await runBounded(this.pending, this.commandTimeoutMs, () => this.client.sendCommand(command));
    } catch (error) {
      if (isErrorReply(error) && !isTransientReply(error)) throw error;
      throw new TokenStoreUnavailableError(operation, new Error(`Redis at ${this.target}: ${errorMessage(error)}`, { cause: error }));
    }
  }

  private async openOwnedClient(client: OwnedClient): Promise<void> {
    this.connection.connectDeadline = performance.now() + this.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const opening = client.connect().then(() => this.ping());
    opening.catch(() => undefined);
    try {
      await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.connectTimeoutMs} ms (connectTimeoutMs)`)),
            this.connectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (client.isOpen) client.destroy();
      throw new TokenStoreUnavailableError(
        'connect',
        new Error(
          `Redis at ${this.target} did not answer (${errorMessage(error)}); check that it runs and that the url option (often REDIS_URL) points to it`,
          {
            cause: error,
          },
        ),
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

const FAMILY_STRINGS = ['familyId', 'userId', 'clientId', 'scope'] as const;
const FAMILY_NUMBERS = ['aal', 'authTime', 'createdAt', 'absoluteExpiresAt'] as const;

/** A family from its hash (HGETALL reply), or null when it is not a well-formed family. */
function decodeFamily(flat: unknown): RefreshFamily | null {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return null;
  const fields = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) fields.set(text(flat[i]), text(flat[i + 1]));
  const family: Record<string, unknown> = {};
  for (const k of FAMILY_STRINGS) {
    const v = fields.get(k);
    if (v === undefined) return null;
    family[k] = v;
  }
  for (const k of FAMILY_NUMBERS) {
    const v = parseNumber(fields.get(k));
    if (!Number.isFinite(v)) return null;
    family[k] = v;
  }
  if (family.familyId === '' || family.userId === '') return null;
  return family as unknown as RefreshFamily;
}

function assertFamily(family: RefreshFamily): void {
  if (typeof family !== 'object' || family === null) throw new TypeError('RedisTokenStore.createFamily: family must be a RefreshFamily');
  for (const k of FAMILY_STRINGS) {
    if (typeof family[k] !== 'string') throw new TypeError(`RedisTokenStore.createFamily: family.${k} must be a string`);
  }
  id(family.familyId, 'familyId');
  id(family.userId, 'userId');
}

/** Decimal number as JavaScript prints it (and Lua's `%.17g` writes). NaN for anything else. */
const NUMBER_TEXT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(value: string | undefined): number {
  return value !== undefined && NUMBER_TEXT.test(value) ? Number(value) : NaN;
}

function num(value: number, what: string): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`RedisTokenStore: ${what} must be a finite number of milliseconds, got ${String(value)}`);
  }
  return String(value);
}

function id(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`RedisTokenStore: ${what} must be a non-empty string`);
  return value;
}

function str(value: string, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`RedisTokenStore: ${what} must be a string`);
  return value;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function tuple(reply: unknown, operation: string): [string, ...unknown[]] {
  if (!Array.isArray(reply) || reply.length === 0) throw unexpected(operation, reply);
  return [text(reply[0]), ...reply.slice(1)];
}

function unexpected(operation: string, reply: unknown): Error {
  let shown: string;
  try {
    shown = JSON.stringify(reply)?.slice(0, 120) ?? String(reply);
  } catch {
    shown = String(reply);
  }
  return new Error(
    `RedisTokenStore.${operation}: unexpected reply from Redis (${shown}). Check that no other program writes under the ` +
      "store's prefix and that the client does not map replies to custom types.",
  );
}
