import { Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';

export interface LoginDto {
  username: string;
  password: string;
}

export interface User {
  id: string;
  roles: string[];
}

/** Fixed accounts (password `<name>-correct-horse-1`): bob is an administrator, the others are users. A test fixture. */
@Injectable()
export class UsersService {
  private readonly accounts = new Map<string, { password: string; user: User }>([
    ['alice', { password: 'alice-correct-horse-1', user: { id: 'alice', roles: ['user'] } }],
    ['bob', { password: 'bob-correct-horse-1', user: { id: 'bob', roles: ['user', 'admin'] } }],
    ['carol', { password: 'carol-correct-horse-1', user: { id: 'carol', roles: ['user'] } }],
    ['dave', { password: 'dave-correct-horse-1', user: { id: 'dave', roles: ['user'] } }],
  ]);

  verify(username: unknown, password: unknown): User {
    const account = typeof username === 'string' ? this.accounts.get(username) : undefined;
    const given = Buffer.from(typeof password === 'string' ? password : '');
    const expected = Buffer.from(account?.password ?? '');
    if (!account || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedException('Wrong username or password.');
    }
    return { ...account.user, roles: [...account.user.roles] };
  }
}
