import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { SECURITY_EVENT_TYPES } from '../../../lib';
import { ROLES } from '../users/user.entity';
import { EVENTS_MAX_LIMIT } from './admin.service';

/** Body of `PUT /admin/users/:id/roles`: only roles the app knows, at least one. */
export class SetRolesDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(ROLES.length)
  @ArrayUnique()
  @IsIn(ROLES, { each: true, message: `each role must be one of: ${ROLES.join(', ')}` })
  roles: string[];
}

/** Query of `GET /admin/events`: a user id (UUID), an event type the library knows, a page size of 1 to 500. */
export class EventsQueryDto {
  @IsOptional()
  @IsUUID()
  userId?: string;

  @IsOptional()
  @IsString()
  @IsIn(SECURITY_EVENT_TYPES, { message: 'type must be a security event type, e.g. authn_login_fail' })
  type?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(EVENTS_MAX_LIMIT)
  limit?: number;
}
