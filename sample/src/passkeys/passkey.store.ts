import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, QueryFailedError, Repository } from 'typeorm';
import type { StoredPasskey } from '../../../lib/mfa';
import { User } from '../users/user.entity';
import { PasskeyCredential } from './passkey.entity';

/** The shape of a UUID: anything else cannot name a passkey, and answers 404 without a query. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `sample_passkeys` table. Every read and delete is scoped by the user id, so a passkey id of another account
 * behaves exactly like one that does not exist (no IDOR).
 */
@Injectable()
export class PasskeyStore {
  constructor(
    @InjectRepository(PasskeyCredential) private readonly passkeys: Repository<PasskeyCredential>,
    @InjectRepository(User) private readonly users: Repository<User>,
  ) {}

  /** The user's passkeys, oldest first. */
  listFor(userId: string): Promise<PasskeyCredential[]> {
    return this.passkeys.find({ where: { userId }, order: { createdAt: 'ASC' } });
  }

  /** True when the user has at least one passkey (a second factor for sign-in). */
  async hasAny(userId: string): Promise<boolean> {
    return (await this.passkeys.count({ where: { userId } })) > 0;
  }

  /** Which of these users have at least one passkey, in one query (the admin list's second-factor column). */
  async holdersAmong(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.passkeys.find({ select: { userId: true }, where: { userId: In([...userIds]) } });
    return new Set(rows.map((row) => row.userId));
  }

  /** Stores a verified passkey; null when its credential id is already registered (to anyone). */
  async add(userId: string, passkey: StoredPasskey): Promise<PasskeyCredential | null> {
    const row = this.passkeys.create({
      userId,
      credentialId: passkey.credentialId,
      publicKey: passkey.publicKey,
      counter: passkey.counter,
      transports: passkey.transports ?? null,
      name: passkey.name ?? null,
      createdAt: passkey.createdAt,
    });
    try {
      return await this.passkeys.save(row);
    } catch (error) {
      // The unique index on credential_id: a second registration of the same authenticator.
      if (error instanceof QueryFailedError) return null;
      throw error;
    }
  }

  /** Deletes one of the user's passkeys; false when the user has no passkey with that id. */
  async remove(userId: string, id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const result = await this.passkeys.delete({ id, userId });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Records the counter of an accepted assertion, only if the stored one is still `expected` (compare-and-set): of
   * two requests replaying the same assertion, one wins. On success the account's second-factor attempt count
   * restarts.
   */
  async advanceCounter(id: string, expected: number, next: number, userId: string): Promise<boolean> {
    const result = await this.passkeys
      .createQueryBuilder()
      .update(PasskeyCredential)
      .set({ counter: next })
      .where('id = :id AND counter = :expected', { id, expected })
      .execute();
    if ((result.affected ?? 0) === 0) return false;
    // A right second factor restarts the account's count of attempts, as a right TOTP code does (UsersService).
    await this.users.update({ id: userId }, { mfaFailures: 0, mfaLockedUntil: null });
    return true;
  }
}

/** A stored row as the library's `PasskeyService` takes it. */
export function toStoredPasskey(p: PasskeyCredential): StoredPasskey {
  return {
    credentialId: p.credentialId,
    publicKey: p.publicKey,
    counter: p.counter,
    ...(p.transports?.length ? { transports: p.transports } : {}),
    createdAt: p.createdAt,
    ...(p.name === null ? {} : { name: p.name }),
  };
}
