import type { SessionChanges, SessionRecord } from '../core/session-record';
import { routingTagOf } from '../core/token';
import {
  CounterState,
  CreateOptions,
  CreateResult,
  ReadOptions,
  ReadResult,
  RotateOptions,
  RotateResult,
  SessionStore,
  StoredSession,
  UpdateResult,
} from '../stores/session-store';

/**
 * The conformance suite's view of a store that routes by user ({@link SessionStore.routingTagFor}): the suite's tests
 * use plain random ids (`newId()`), which such a store refuses, so each id is given the routing tag of the user it is
 * created for (`<tag>.<id>`, as SessionManager mints them), a successor the tag of its predecessor, and ids in results
 * are mapped back. An id never created (a read of an unknown id) gets a tag of its own. Everything else goes to the
 * store unchanged: the store under test does all the work.
 *
 * @internal Used by describeSessionStore.
 */
export class RoutedIdStore extends SessionStore {
  private readonly routedOf = new Map<string, string>();
  private readonly plainOf = new Map<string, string>();

  constructor(private readonly inner: SessionStore & { routingTagFor(userId: string): string }) {
    super();
  }

  /** The routed id of a suite id; with `userId`, created (and remembered) with that user's tag. */
  private routed(id: string, userId?: string): string {
    const known = this.routedOf.get(id);
    if (known !== undefined) return known;
    if (userId === undefined) return `${this.inner.routingTagFor(id)}.${id}`;
    return this.remember(id, `${this.inner.routingTagFor(userId)}.${id}`);
  }

  private remember(id: string, routed: string): string {
    this.routedOf.set(id, routed);
    this.plainOf.set(routed, id);
    return routed;
  }

  private plain(routed: string): string {
    return this.plainOf.get(routed) ?? routed;
  }

  override connect(): Promise<void> {
    return this.inner.connect();
  }

  create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateResult> {
    return this.inner.create(this.routed(id, record.userId), record, options);
  }

  async read(id: string, options: ReadOptions): Promise<ReadResult> {
    const res = await this.inner.read(this.routed(id), options);
    return res.status === 'active' ? { ...res, id: this.plain(res.id) } : res;
  }

  async update(id: string, expectedVersion: number, changes: SessionChanges, now: number): Promise<UpdateResult> {
    const res = await this.inner.update(this.routed(id), expectedVersion, changes, now);
    return res.status === 'missing' ? res : { ...res, id: this.plain(res.id) };
  }

  async rotate(oldId: string, newId: string, options: RotateOptions): Promise<RotateResult> {
    const from = this.routed(oldId);
    const to = this.routedOf.get(newId) ?? this.remember(newId, `${routingTagOf(from)}.${newId}`);
    const res = await this.inner.rotate(from, to, options);
    return res.status === 'superseded' ? { ...res, id: this.plain(res.id) } : res;
  }

  destroy(id: string): Promise<SessionRecord | null> {
    return this.inner.destroy(this.routed(id));
  }

  async listByUser(userId: string, now: number): Promise<StoredSession[]> {
    return (await this.inner.listByUser(userId, now)).map((s) => ({ ...s, id: this.plain(s.id) }));
  }

  destroyByUser(userId: string, exceptId?: string): Promise<SessionRecord[]> {
    return this.inner.destroyByUser(userId, exceptId === undefined ? undefined : this.routed(exceptId, userId));
  }

  destroyByHandle(userId: string, handle: string): Promise<SessionRecord | null> {
    return this.inner.destroyByHandle(userId, handle);
  }

  requireRotationForUser(userId: string): Promise<number> {
    return this.inner.requireRotationForUser(userId);
  }

  updateUserRoles(userId: string, roles: string[], now: number): Promise<number> {
    return this.inner.updateUserRoles(userId, roles, now);
  }

  countByUser(userId: string, now: number): Promise<number> {
    return this.inner.countByUser(userId, now);
  }

  increment(key: string, windowMs: number, now: number): Promise<CounterState> {
    return this.inner.increment(key, windowMs, now);
  }

  resetCounter(key: string): Promise<void> {
    return this.inner.resetCounter(key);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The store as the suite drives it: wrapped in {@link RoutedIdStore} when it routes by user, else as is. */
export function suiteView(store: SessionStore): SessionStore {
  return typeof store.routingTagFor === 'function'
    ? new RoutedIdStore(store as SessionStore & { routingTagFor(userId: string): string })
    : store;
}
