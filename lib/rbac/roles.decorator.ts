import { SetMetadata } from '@nestjs/common';

/** Metadata key of {@link Roles}. */
export const ROLES_KEY = 'session:roles';
/** Metadata key of {@link Permissions}. */
export const PERMISSIONS_KEY = 'session:permissions';

function names(decorator: string, values: string[]): string[] {
  if (values.length === 0 || values.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new TypeError(
      `@${decorator}() needs at least one non-empty name, e.g. @${decorator}('${decorator === 'Roles' ? 'admin' : 'users:manage'}')`,
    );
  }
  return [...values];
}

/**
 * Requires one of `roles` on a route or controller (a handler's list overrides its controller's). Read by
 * {@link RolesGuard} from the session's roles snapshot, with the role hierarchy of the module options (`admin`
 * including `user` passes `@Roles('user')`). Below it: 403 `INSUFFICIENT_ROLE`.
 *
 * @example @Roles('admin') @Get('admin/users') users() { ... }
 */
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, names('Roles', roles));

/**
 * Requires every one of `permissions`, granted by the session's roles through the `roles.permissions` option
 * (a role also grants what the roles it includes grant). Below it: 403 `INSUFFICIENT_ROLE`.
 *
 * @example @Permissions('users:manage') @Put('admin/users/:id/roles') setRoles() { ... }
 */
export const Permissions = (...permissions: string[]): MethodDecorator & ClassDecorator =>
  SetMetadata(PERMISSIONS_KEY, names('Permissions', permissions));
