import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SessionData, SessionService, SessionView } from '../../../lib';
import { ApiException } from '../common/api-exception';
import { WizardStepFields, WizardStepNumber } from './wizard-steps.dto';

/** The wizard's progress as the API shows it. */
export interface WizardState {
  /** The first step not saved yet (3 once everything is saved). */
  currentStep: WizardStepNumber;
  /** True once step 3 confirmed steps 1 and 2. */
  completed: boolean;
  /** What each step saved, or null. */
  steps: { [N in WizardStepNumber]: WizardStepFields[N] | null };
}

type StoredWizard = Partial<{ [N in WizardStepNumber]: WizardStepFields[N] }>;

const KEY = 'wizard';

/**
 * A three-step form whose progress lives in the session (key `wizard`), so a user can leave and come back.
 *
 * Changing step 1 or 2 drops an earlier confirmation: step 3 confirms the data as it was shown.
 */
@Injectable()
export class WizardService {
  constructor(private readonly sessions: SessionService) {}

  /** The session's progress. */
  view(session: SessionView): WizardState {
    return toState(readWizard(session.data));
  }

  /**
   * Saves one step's (validated) fields. Confirming (step 3 with `confirm: true`) needs steps 1 and 2 first:
   * 409 `WIZARD_INCOMPLETE` otherwise.
   */
  async saveStep(req: Request, step: WizardStepNumber, fields: WizardStepFields[WizardStepNumber]): Promise<WizardState> {
    const session = await this.sessions.update(req, (data) => {
      const wizard = readWizard(data);
      if (step === 3) {
        const { confirm } = fields as WizardStepFields[3];
        if (confirm && (!wizard[1] || !wizard[2])) {
          throw ApiException.conflict('WIZARD_INCOMPLETE', 'Complete steps 1 and 2 before confirming.');
        }
        wizard[3] = { confirm };
      } else {
        // Spread: the validated DTO instance becomes plain JSON data.
        if (step === 1) wizard[1] = { ...(fields as WizardStepFields[1]) };
        else wizard[2] = { ...(fields as WizardStepFields[2]) };
        delete wizard[3];
      }
      data[KEY] = wizard;
    });
    return toState(readWizard(session.data));
  }
}

/** Stored JSON is read defensively: a step whose fields do not have the expected types counts as not saved. */
function readWizard(data: SessionData): StoredWizard {
  const stored = data[KEY];
  if (!isObject(stored)) return {};
  const wizard: StoredWizard = {};
  const contact = pick(stored[1], { name: 'string', email: 'string' });
  const address = pick(stored[2], { street: 'string', city: 'string', postalCode: 'string', country: 'string' });
  const confirm = pick(stored[3], { confirm: 'boolean' });
  if (contact) wizard[1] = contact;
  if (address) wizard[2] = address;
  if (confirm) wizard[3] = confirm;
  return wizard;
}

type FieldTypes = Record<string, 'string' | 'boolean'>;
type Picked<T extends FieldTypes> = { [K in keyof T]: T[K] extends 'string' ? string : boolean };

/** The listed fields of `value` if each has its expected type; undefined otherwise. */
function pick<T extends FieldTypes>(value: unknown, fields: T): Picked<T> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(fields)) {
    if (typeof value[name] !== type) return undefined;
    out[name] = value[name];
  }
  return out as Picked<T>;
}

function toState(wizard: StoredWizard): WizardState {
  const currentStep: WizardStepNumber = !wizard[1] ? 1 : !wizard[2] ? 2 : 3;
  return {
    currentStep,
    completed: wizard[3]?.confirm === true,
    steps: { 1: wizard[1] ?? null, 2: wizard[2] ?? null, 3: wizard[3] ?? null },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
