import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SessionData, SessionService, SessionView } from '../../../lib';
import { LANGUAGES, Language, Theme, THEMES } from './preferences.dto';

/** A user's display preferences, kept in the session. */
export interface Preferences {
  theme: Theme;
  language: Language;
}

/** Used until the user saves their own. */
export const DEFAULT_PREFERENCES: Preferences = { theme: 'system', language: 'en' };

const KEY = 'preferences';

/** Reads and saves preferences in the session data (key `preferences`). */
@Injectable()
export class PreferencesService {
  constructor(private readonly sessions: SessionService) {}

  /** The session's preferences, defaults filled in. */
  view(session: SessionView): Preferences {
    return readPreferences(session.data);
  }

  /** Replaces the preferences. */
  async save(req: Request, preferences: Preferences): Promise<Preferences> {
    const session = await this.sessions.update(req, (data) => {
      data[KEY] = { theme: preferences.theme, language: preferences.language };
    });
    return readPreferences(session.data);
  }
}

/** Session data is stored JSON: read it defensively, falling back to defaults for anything unexpected. */
function readPreferences(data: SessionData): Preferences {
  const stored = data[KEY] as Partial<Record<keyof Preferences, unknown>> | undefined;
  const theme = (THEMES as readonly unknown[]).includes(stored?.theme) ? (stored!.theme as Theme) : DEFAULT_PREFERENCES.theme;
  const language = (LANGUAGES as readonly unknown[]).includes(stored?.language)
    ? (stored!.language as Language)
    : DEFAULT_PREFERENCES.language;
  return { theme, language };
}
