import { IsIn } from 'class-validator';

/** Themes the pages support. */
export const THEMES = ['light', 'dark', 'system'] as const;
/** Languages a user can pick. */
export const LANGUAGES = ['en', 'fr', 'de', 'es'] as const;

export type Theme = (typeof THEMES)[number];
export type Language = (typeof LANGUAGES)[number];

/** Body of `PUT /preferences`: both fields, since PUT replaces the whole resource. */
export class PreferencesDto {
  @IsIn(THEMES, { message: `theme must be one of ${THEMES.join(', ')}` })
  theme: Theme;

  @IsIn(LANGUAGES, { message: `language must be one of ${LANGUAGES.join(', ')}` })
  language: Language;
}
