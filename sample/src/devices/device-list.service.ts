import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Clock, describeDevice, relativeTime, SessionListing, SessionService } from '../../../lib';
import { DEMO_IP_LOCATIONS } from './demo-ip-locations';

/** One of the user's sessions as `GET /sessions` answers it: the library's listing and how a person reads it. */
export interface DeviceListing extends SessionListing {
  /** Browser family and OS: `Chrome on Linux`; `Unknown device` when the user agent says nothing. */
  device: string;
  /** Approximate place of the session's IP when the resolver knows one, else `null`. */
  place: string | null;
  /** Time since `lastSeenAt` on the server's clock: `3 minutes ago`, `just now`. */
  lastActive: string;
}

/** The user's devices for `GET /sessions` and the `/sessions` page: the same list, so both say the same. */
@Injectable()
export class DeviceList {
  private readonly logger = new Logger('DeviceList');

  constructor(
    private readonly sessions: SessionService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** This user's live sessions, oldest first, described. A location lookup that fails leaves `place` null. */
  async list(userId: string, req: Request): Promise<DeviceListing[]> {
    const listing = await this.sessions.list(userId, req);
    const now = this.clock.now();
    return Promise.all(
      listing.map(async (s) => ({
        ...s,
        device: describeDevice(s.userAgent).label,
        place: await this.placeOf(s.ip),
        lastActive: relativeTime(s.lastSeenAt, now),
      })),
    );
  }

  private async placeOf(ip: string): Promise<string | null> {
    try {
      return (await DEMO_IP_LOCATIONS.locate(ip))?.place ?? null;
    } catch (error) {
      this.logger.warn(`IP location lookup failed: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }
}
