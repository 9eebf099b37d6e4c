/**
 * nest-session-kit public API. Backends with optional peer dependencies are sub-path entries:
 * `nest-session-kit/redis`, `nest-session-kit/typeorm`.
 */
export { SessionModule } from './session.module';
export { SESSION_OPTIONS, SESSION_OPTIONS_TYPE, SESSION_ASYNC_OPTIONS_TYPE } from './session.module-definition';
export {
  SessionModuleOptions,
  SessionCookieOptions,
  ResolvedSessionOptions,
  Duration,
  SESSION_DEFAULTS,
  resolveSessionOptions,
} from './session.options';
export { SessionService, peekSession, SessionView, SessionListing, CreateSessionOptions } from './session.service';
export { SessionAuthGuard } from './guards/session-auth.guard';
export { Public } from './decorators/public.decorator';
export { CurrentSession, CurrentUser } from './decorators/current-session.decorator';
export {
  SessionHttpException,
  SessionErrorBody,
  SessionRequiredException,
  SessionExpiredException,
  SessionStoreUnavailableException,
} from './errors/session.exceptions';
export { Clock, SystemClock, ManualClock } from './core/clock';
export { parseDuration, formatDuration } from './core/duration';
export { SessionManager, SessionPolicy, ClientInfo, ActiveSession, ResolveOutcome, CreateSessionInput } from './core/session-manager';
export { SessionRecord, SessionData, SessionChanges, isSessionRecord, MAX_USER_AGENT_LENGTH, MAX_IP_LENGTH } from './core/session-record';
export { generateToken, generateHandle, hashToken, isWellFormedToken, isWellFormedHandle, TOKEN_BYTES, TOKEN_LENGTH } from './core/token';
export { SessionStoreUnavailableError, SessionGoneError, SessionOptionsError } from './core/errors';
export * from './stores/session-store';
export { InMemorySessionStore, InMemorySessionStoreOptions } from './stores/memory/in-memory-session.store';
export { SecurityEvent, SecurityEventType, SecurityEventLevel, SecurityEventSink } from './events/security-event';
export { SecurityEventBus } from './events/security-event-bus';
export { JsonLinesEventSink } from './events/json-lines.sink';
export { CookiePolicy } from './http/cookie-policy';
export { clientInfoOf } from './http/client-info';
export { HttpRequestLike, HttpResponseLike } from './http/http-types';
