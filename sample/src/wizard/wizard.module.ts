import { Module } from '@nestjs/common';
import { WizardController } from './wizard.controller';
import { WizardService } from './wizard.service';

/** A multi-step form whose progress lives in the session. */
@Module({ controllers: [WizardController], providers: [WizardService], exports: [WizardService] })
export class WizardModule {}
