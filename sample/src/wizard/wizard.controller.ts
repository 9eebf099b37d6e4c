import { Body, Controller, Get, Param, Put, Req, ValidationPipe } from '@nestjs/common';
import type { Request } from 'express';
import { CurrentSession, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { createValidationPipe } from '../common/validation';
import { AlsoAPage } from '../pages/also-a-page.decorator';
import { WIZARD_STEPS, WizardStepFields, WizardStepNumber } from './wizard-steps.dto';
import { WizardService, WizardState } from './wizard.service';

/** `GET /wizard`, `PUT /wizard/steps/:n`. A browser visiting `/wizard` gets the wizard page. */
@Controller('wizard')
export class WizardController {
  /** The app's validation rules, applied by hand because the DTO depends on the step in the URL. */
  private readonly validation: ValidationPipe = createValidationPipe();

  constructor(private readonly wizard: WizardService) {}

  @AlsoAPage('wizard')
  @Get()
  get(@CurrentSession() session: SessionView): WizardState {
    return this.wizard.view(session);
  }

  /**
   * Validates the body against step `n`'s DTO (400 `VALIDATION_FAILED` with messages per field, unknown fields
   * included) and saves it. A step that does not exist is 404 `WIZARD_STEP_NOT_FOUND`.
   */
  @Put('steps/:n')
  async putStep(@Param('n') n: string, @Body() body: unknown, @Req() req: Request): Promise<WizardState> {
    const step = stepNumber(n);
    const fields = (await this.validation.transform(body, {
      type: 'body',
      metatype: WIZARD_STEPS[step],
    })) as WizardStepFields[WizardStepNumber];
    return this.wizard.saveStep(req, step, fields);
  }
}

function stepNumber(raw: string): WizardStepNumber {
  if (!/^[1-9]\d*$/.test(raw) || !(raw in WIZARD_STEPS)) {
    throw ApiException.notFound('WIZARD_STEP_NOT_FOUND', `The wizard has steps 1 to ${Object.keys(WIZARD_STEPS).length}.`);
  }
  return Number(raw) as WizardStepNumber;
}
