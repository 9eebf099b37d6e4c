import { DataSource, LessThan } from 'typeorm';
import { OidcSessionLink, OidcSessionLinkStore } from '../../../lib/oidc';
import { OidcSessionLinkRow } from './oidc-session-link.entity';

/**
 * The sample's {@link OidcSessionLinkStore} on its users database (SQLite, PostgreSQL or MariaDB through TypeORM).
 * `take` selects and deletes in one transaction. Two back-channel logouts racing on the same rows may both see them:
 * each then revokes the same sessions, which is harmless (revoking an ended session does nothing).
 */
export class TypeOrmOidcSessionLinkStore extends OidcSessionLinkStore {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async add(link: OidcSessionLink, now: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(OidcSessionLinkRow);
      // Forgotten here rather than by a timer: links of sessions past their absolute deadline name nothing.
      await rows.delete({ expiresAt: LessThan(now) });
      await rows.insert({ ...link });
    });
  }

  async take(issuer: string, target: { subject?: string; sid?: string }, now: number): Promise<OidcSessionLink[]> {
    if (target.sid === undefined && target.subject === undefined) return [];
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(OidcSessionLinkRow);
      const where =
        target.sid !== undefined
          ? { issuer, sid: target.sid, ...(target.subject === undefined ? {} : { subject: target.subject }) }
          : { issuer, subject: target.subject };
      const found = await rows.find({ where });
      if (found.length > 0) await rows.delete(found.map((r) => r.id));
      return found
        .filter((r) => r.expiresAt >= now)
        .map((r) => ({
          issuer: r.issuer,
          subject: r.subject,
          sid: r.sid,
          userId: r.userId,
          sessionHandle: r.sessionHandle,
          expiresAt: r.expiresAt,
        }));
    });
  }
}
