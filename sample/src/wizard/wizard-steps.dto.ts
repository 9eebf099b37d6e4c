import { IsBoolean, IsEmail, IsISO31661Alpha2, IsString, Length, Matches, MaxLength } from 'class-validator';

/** Step 1: who. */
export class ContactStepDto {
  @IsString()
  @Length(1, 100)
  name: string;

  @IsEmail()
  @MaxLength(254)
  email: string;
}

/** Step 2: where. */
export class AddressStepDto {
  @IsString()
  @Length(1, 200)
  street: string;

  @IsString()
  @Length(1, 100)
  city: string;

  @IsString()
  @Matches(/^[A-Za-z0-9 -]{3,10}$/, { message: 'postalCode must be 3 to 10 letters, digits, spaces or dashes' })
  postalCode: string;

  @IsISO31661Alpha2({ message: 'country must be a two-letter ISO 3166-1 code such as FR' })
  country: string;
}

/** Step 3: the user confirms what steps 1 and 2 recorded. */
export class ConfirmStepDto {
  @IsBoolean()
  confirm: boolean;
}

/** The DTO of each step, by step number: the route picks the class, then validates the body against it. */
export const WIZARD_STEPS = { 1: ContactStepDto, 2: AddressStepDto, 3: ConfirmStepDto } as const;

/** A step number. */
export type WizardStepNumber = keyof typeof WIZARD_STEPS;
/** The fields of each step. */
export type WizardStepFields = { [N in WizardStepNumber]: InstanceType<(typeof WIZARD_STEPS)[N]> };
