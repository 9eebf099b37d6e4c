// examples/quick-start/users.service.ts
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const hashPassword = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

export interface LoginDto {
  username: string;
  password: string;
}

export interface User {
  id: string;
  username: string;
}

interface Account {
  user: User;
  salt: Buffer;
  hash: Buffer;
}

/**
 * Stand-in for your user store, with one demo user (alice / alice-correct-horse-1). A real app keeps accounts in
 * a database, hashes with argon2id, validates the body (ValidationPipe) and rate-limits logins.
 */
@Injectable()
export class UsersService {
  private readonly accounts = new Map<string, Promise<Account>>();
  private readonly decoy = account({ id: '', username: '' }, randomBytes(32).toString('base64url'));

  constructor() {
    this.accounts.set('alice', account({ id: '1', username: 'alice' }, 'alice-correct-horse-1'));
  }

  /** The user with these credentials; 401 otherwise, after the same work whether the user exists or not. */
  async verify(username: unknown, password: unknown): Promise<User> {
    const known = typeof username === 'string' ? this.accounts.get(username) : undefined;
    const { user, salt, hash } = await (known ?? this.decoy);
    const candidate = await hashPassword(typeof password === 'string' ? password : '', salt, hash.length);
    if (!known || !timingSafeEqual(candidate, hash)) throw new UnauthorizedException('Wrong username or password.');
    return user;
  }
}

async function account(user: User, password: string): Promise<Account> {
  const salt = randomBytes(16);
  return { user, salt, hash: await hashPassword(password, salt, 32) };
}
