// examples/oidc/users.service.ts
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

export interface User {
  id: string;
  roles: string[];
}

@Injectable()
export class UsersService {
  // In a real app: a table with a unique index on (issuer, subject).
  private readonly byIdentity = new Map<string, User>();

  findOrCreate(issuer: string, subject: string): User {
    const key = JSON.stringify([issuer, subject]);
    let user = this.byIdentity.get(key);
    if (!user) this.byIdentity.set(key, (user = { id: randomUUID(), roles: ['user'] }));
    return user;
  }
}
