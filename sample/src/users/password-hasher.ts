import { Injectable, OnModuleInit } from '@nestjs/common';
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

/**
 * Argon2id with the OWASP Password Storage Cheat Sheet's first recommended setting: 19 MiB of memory, two
 * passes, one lane. `Algorithm` is a `const enum` that the native module does not export at run time, so the
 * value is written out (2 = Argon2id) rather than read from the enum.
 */
const ARGON2_OPTIONS: Options = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Longest password accepted (characters): bounds the hashing cost an attacker can ask for. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Hashes and verifies passwords (argon2id via `@node-rs/argon2`, which runs off the event loop).
 *
 * {@link verifyAgainstNothing} spends the same time as a real verification, for usernames that do not exist:
 * the response time of a failed login then says nothing about whether the account exists.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private dummyHash: string;

  /**
   * The dummy hash is made at start-up with the same parameters as real ones, rather than hard-coded, so the
   * two costs stay equal when the parameters change.
   */
  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash(randomBytes(32).toString('base64url'));
  }

  /** A new PHC-format argon2id hash with a random salt. */
  hash(password: string): Promise<string> {
    return hash(password, ARGON2_OPTIONS);
  }

  /** True when `password` matches `passwordHash`. A malformed stored hash counts as a mismatch. */
  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  /** Burns one verification's worth of time and returns false. */
  async verifyAgainstNothing(password: string): Promise<false> {
    await this.verify(this.dummyHash, password);
    return false;
  }
}
