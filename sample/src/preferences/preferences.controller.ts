import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import type { Request } from 'express';
import { CurrentSession, SessionView } from '../../../lib';
import { PreferencesDto } from './preferences.dto';
import { Preferences, PreferencesService } from './preferences.service';

/** `GET /preferences`, `PUT /preferences`: display preferences kept in the session. */
@Controller('preferences')
export class PreferencesController {
  constructor(private readonly preferences: PreferencesService) {}

  @Get()
  get(@CurrentSession() session: SessionView): Preferences {
    return this.preferences.view(session);
  }

  @Put()
  put(@Body() body: PreferencesDto, @Req() req: Request): Promise<Preferences> {
    return this.preferences.save(req, body);
  }
}
