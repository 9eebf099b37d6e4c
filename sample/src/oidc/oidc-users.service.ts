import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { OidcIdentity } from '../../../lib/oidc';
import { PasswordHasher } from '../users/password-hasher';
import { User } from '../users/user.entity';
import { OidcIdentityLink } from './oidc-identity.entity';

/**
 * Local accounts for provider users, keyed by (issuer, subject). A first sign-in creates a linked account:
 * role `user`, no usable password (an argon2 hash of 32 random bytes nobody keeps, so a password login fails like
 * any wrong password, at the same cost), and a username derived from the provider's claims for display only.
 *
 * Link rules: an identity is never linked to an existing account by e-mail (or any other claim). An account that
 * signed up with a password stays separate from a provider identity with the same address; linking the two would
 * need the user to prove both, which the sample does not offer.
 */
@Injectable()
export class OidcUsersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
  ) {}

  /** The account linked to (issuer, subject), created on the first sign-in. */
  async findOrCreate(identity: OidcIdentity): Promise<{ user: User; created: boolean }> {
    const existing = await this.find(identity);
    if (existing) return { user: existing, created: false };
    const passwordHash = await this.hasher.hash(randomBytes(32).toString('base64url'));
    try {
      const user = await this.dataSource.transaction(async (manager) => {
        const created = await manager.getRepository(User).save(
          manager.getRepository(User).create({
            username: usernameFor(identity),
            passwordHash,
            roles: ['user'],
            totpSecret: null,
            totpPendingSecret: null,
            totpLastStep: null,
            recoveryCodeHashes: null,
            mfaFailures: 0,
            mfaLockedUntil: null,
            disabled: false,
          }),
        );
        await manager.getRepository(OidcIdentityLink).insert({ issuer: identity.issuer, subject: identity.subject, userId: created.id });
        return created;
      });
      return { user, created: true };
    } catch (error) {
      // A parallel first sign-in of the same identity won the unique (issuer, subject) index: use its account.
      const raced = await this.find(identity);
      if (raced) return { user: raced, created: false };
      throw error;
    }
  }

  private async find(identity: OidcIdentity): Promise<User | null> {
    const link = await this.dataSource.getRepository(OidcIdentityLink).findOneBy({ issuer: identity.issuer, subject: identity.subject });
    return link ? this.dataSource.getRepository(User).findOneBy({ id: link.userId }) : null;
  }
}

/**
 * A display name from `preferred_username` or the e-mail's local part (letters, digits, `.`, `_`, `-`; at most 40),
 * plus 12 hex characters of SHA-256(issuer, subject): unique per identity, so no claim can take another's name.
 */
export function usernameFor(identity: OidcIdentity): string {
  const claim =
    identity.claims.preferred_username ?? (typeof identity.claims.email === 'string' ? identity.claims.email.split('@')[0] : undefined);
  const base =
    (typeof claim === 'string' ? claim : '')
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 40) || 'user';
  const tag = createHash('sha256').update(`${identity.issuer}\n${identity.subject}`).digest('hex').slice(0, 12);
  return `${base}~${tag}`;
}
