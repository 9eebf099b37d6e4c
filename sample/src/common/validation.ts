import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiException } from './api-exception';

/**
 * Nest's ValidationPipe, plus one rule: a body validated against a DTO must be a JSON object. Without it an
 * array body would be reported field by field with its indexes as "fields".
 */
class ObjectBodyValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const validated = metadata.type === 'body' && metadata.metatype !== undefined && this.toValidate(metadata);
    if (validated && value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw ApiException.validationFailed({ body: ['body must be a JSON object'] });
    }
    return super.transform(value, metadata);
  }
}

/**
 * The app's validation: DTO classes with class-validator decorators. Unknown fields are rejected rather than
 * silently dropped (a typo in a field name should be an error, and no one can smuggle in a field a later
 * version might trust). Failures become 400 `VALIDATION_FAILED` with messages per field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ObjectBodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => ApiException.validationFailed(fieldErrors(errors)),
  });
}

/**
 * `{ field: [messages] }` from class-validator errors; nested fields get dotted paths. A body that is not an
 * object at all is reported under `body`.
 */
export function fieldErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = error.property ? (parent ? `${parent}.${error.property}` : error.property) : parent || 'body';
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) out[path] = [...(out[path] ?? []), ...messages];
    Object.assign(out, fieldErrors(error.children ?? [], path));
  }
  return out;
}
