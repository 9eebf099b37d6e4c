/** `parseConfig`: the sample's environment, its defaults, and one clear error per bad variable. */
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, parseConfig, SampleEnv } from '../../sample/src/config';

function problemOf(env: SampleEnv): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('sample config: parseConfig(env)', () => {
  it('has the contract defaults', () => {
    expect(parseConfig({})).toEqual({
      host: '127.0.0.1',
      port: 3000,
      database: { kind: 'sqlite', path: 'sample/data/sample.sqlite' },
      sessionStore: { kind: 'memory' },
      session: {
        idleTimeoutMs: 30 * 60_000,
        absoluteTimeoutMs: 12 * 3_600_000,
        rotationIntervalMs: 15 * 60_000,
        rotationGraceMs: 10_000,
        maxConcurrentSessions: 10,
        binding: 'monitor',
        bindingAction: 'end',
        reauthMaxAgeMs: 5 * 60_000,
        limitPolicy: 'evict-oldest',
        rememberIdleTimeoutMs: 30 * 86_400_000,
        rememberAbsoluteTimeoutMs: 90 * 86_400_000,
        impersonationMaxAgeMs: 3_600_000,
      },
      mfa: { encryptionKeys: undefined, requiredForAdmins: false },
      cookie: { secure: true, name: '__Host-sid' },
      trustProxy: false,
      csrf: { secret: undefined, allowedOrigins: [] },
      bruteForce: {
        lockoutThreshold: 10,
        lockoutDurationMs: 15 * 60_000,
        captchaAfterFailures: 3,
        baseDelayMs: 1000,
        redisPrefix: 'nsk:attempts:',
      },
      rateLimit: { sensitive: { limit: 30, windowMs: 60_000 } },
      apiTokens: { accessTokenTtlMs: 10 * 60_000, refreshIdleTimeoutMs: 86_400_000, refreshAbsoluteTimeoutMs: 30 * 86_400_000 },
      securityLog: '-',
      metrics: { enabled: true },
    });
  });

  it('treats empty variables as unset', () => {
    expect(parseConfig({ PORT: '', SESSION_STORE: ' ', SESSION_IDLE_TIMEOUT: '' })).toEqual(parseConfig({}));
  });

  it('reads every variable', () => {
    const config = parseConfig({
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgres://app:secret@db.internal:5432/app',
      SESSION_STORE: 'redis',
      REDIS_URL: 'redis://cache:6380',
      SESSION_IDLE_TIMEOUT: '10m',
      SESSION_ABSOLUTE_TIMEOUT: '8h',
      SESSION_ROTATION_INTERVAL: '0',
      SESSION_ROTATION_GRACE: '5s',
      SESSION_MAX_CONCURRENT: '0',
      SESSION_BINDING: 'STRICT',
      SESSION_BINDING_ACTION: 'reauth',
      REAUTH_MAX_AGE: '90000',
      SESSION_LIMIT_POLICY: 'deny-new',
      REMEMBER_IDLE_TIMEOUT: '7d',
      REMEMBER_ABSOLUTE_TIMEOUT: '30d',
      IMPERSONATION_MAX_AGE: '15m',
      MFA_ENCRYPTION_KEYS: `k2:${'A'.repeat(43)}, k1:${'B'.repeat(43)}`,
      TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1',
      LOCKOUT_THRESHOLD: '5',
      LOCKOUT_DURATION: '2m',
      CAPTCHA_AFTER_FAILURES: '0',
      LOGIN_DELAY: '500',
      RATE_LIMIT_SENSITIVE: '100/15m',
      SECURITY_LOG: '/var/log/sample/security.jsonl',
      COOKIE_SECURE: 'false',
      ADMIN_REQUIRE_MFA: 'TRUE',
      CSRF_SECRET: 'C'.repeat(32),
      CSRF_ALLOWED_ORIGINS: 'https://admin.example.com, http://localhost:8080',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_IDLE_TIMEOUT: '2d',
      REFRESH_ABSOLUTE_TIMEOUT: '14d',
      METRICS_ENABLED: 'false',
      METRICS_TOKEN: 'T'.repeat(32),
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 8080,
      database: { kind: 'postgres', url: 'postgres://app:secret@db.internal:5432/app' },
      sessionStore: { kind: 'redis', url: 'redis://cache:6380' },
      session: {
        idleTimeoutMs: 10 * 60_000,
        absoluteTimeoutMs: 8 * 3_600_000,
        rotationIntervalMs: 0,
        rotationGraceMs: 5000,
        maxConcurrentSessions: 0,
        binding: 'strict',
        bindingAction: 'reauth',
        reauthMaxAgeMs: 90_000,
        limitPolicy: 'deny-new',
        rememberIdleTimeoutMs: 7 * 86_400_000,
        rememberAbsoluteTimeoutMs: 30 * 86_400_000,
        impersonationMaxAgeMs: 15 * 60_000,
      },
      mfa: { encryptionKeys: `k2:${'A'.repeat(43)}, k1:${'B'.repeat(43)}`, requiredForAdmins: true },
      cookie: { secure: false, name: 'sid' },
      trustProxy: ['loopback', '10.0.0.0/8', '::1'],
      csrf: { secret: 'C'.repeat(32), allowedOrigins: ['https://admin.example.com', 'http://localhost:8080'] },
      bruteForce: {
        lockoutThreshold: 5,
        lockoutDurationMs: 120_000,
        captchaAfterFailures: 0,
        baseDelayMs: 500,
        redisPrefix: 'nsk:attempts:',
      },
      rateLimit: { sensitive: { limit: 100, windowMs: 15 * 60_000 } },
      apiTokens: { accessTokenTtlMs: 5 * 60_000, refreshIdleTimeoutMs: 2 * 86_400_000, refreshAbsoluteTimeoutMs: 14 * 86_400_000 },
      securityLog: '/var/log/sample/security.jsonl',
      metrics: { enabled: false, token: 'T'.repeat(32) },
    });
  });

  it('refuses API token lifetimes out of range, naming the variable', () => {
    expect(() => parseConfig({ ACCESS_TOKEN_TTL: '2h', REFRESH_IDLE_TIMEOUT: '10d', REFRESH_ABSOLUTE_TIMEOUT: '1d' })).toThrow(
      /ACCESS_TOKEN_TTL is 2h: keep access tokens short-lived, at most 1h.*REFRESH_ABSOLUTE_TIMEOUT \(1d\) is shorter than REFRESH_IDLE_TIMEOUT \(10d\)/,
    );
    expect(() => parseConfig({ ACCESS_TOKEN_TTL: 'soon' })).toThrow(/ACCESS_TOKEN_TTL is "soon"/);
  });

  it('refuses a short CSRF_SECRET and origins that are not origins, naming the variable', () => {
    expect(() => parseConfig({ CSRF_SECRET: 'short', CSRF_ALLOWED_ORIGINS: 'https://ok.example.com,https://x.example.com/path' })).toThrow(
      /CSRF_SECRET is 5 bytes long: give at least 32 random characters.*CSRF_ALLOWED_ORIGINS has "https:\/\/x\.example\.com\/path"/,
    );
  });

  it('SESSION_STORE=memcached reads MEMCACHED_URL (memcached://HOST:PORT or HOST:PORT) and keeps API tokens in DATABASE_URL', () => {
    expect(parseConfig({ SESSION_STORE: 'memcached' }).sessionStore).toEqual({
      kind: 'memcached',
      server: '127.0.0.1:11211',
      tokenDatabase: { kind: 'sqlite', path: 'sample/data/sample.sqlite' },
    });
    expect(parseConfig({ SESSION_STORE: 'memcached', MEMCACHED_URL: 'cache.internal:11212' }).sessionStore).toMatchObject({
      server: 'cache.internal:11212',
    });
    expect(() => parseConfig({ SESSION_STORE: 'memcached', MEMCACHED_URL: 'redis://cache:6379' })).toThrow(
      /MEMCACHED_URL is "redis:\/\/cache:6379": use memcached:\/\/HOST:PORT or HOST:PORT/,
    );
  });

  describe('SESSION_STORE', () => {
    it('defaults the Redis URL', () => {
      expect(parseConfig({ SESSION_STORE: 'redis' }).sessionStore).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
    });

    it.each([
      ['postgres', { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' }],
      ['mariadb', { kind: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' }],
      ['sqlite', { kind: 'sqlite', path: 'sample/data/sessions.sqlite' }],
    ])('gives %s its default database', (store, database) => {
      expect(parseConfig({ SESSION_STORE: store }).sessionStore).toEqual({ kind: store, database });
    });

    it('uses DATABASE_URL when it is of the store kind, and SESSION_DATABASE_URL above all', () => {
      expect(parseConfig({ SESSION_STORE: 'postgres', DATABASE_URL: 'postgres://u@h/app' }).sessionStore).toEqual({
        kind: 'postgres',
        database: { kind: 'postgres', url: 'postgres://u@h/app' },
      });
      expect(parseConfig({ SESSION_STORE: 'mariadb', DATABASE_URL: 'postgres://u@h/app' }).sessionStore).toEqual({
        kind: 'mariadb',
        database: { kind: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' },
      });
      expect(parseConfig({ SESSION_STORE: 'sqlite', DATABASE_URL: 'sqlite:/tmp/app.db' }).sessionStore).toEqual({
        kind: 'sqlite',
        database: { kind: 'sqlite', path: '/tmp/app.db' },
      });
      expect(
        parseConfig({ SESSION_STORE: 'postgres', DATABASE_URL: 'postgres://u@h/app', SESSION_DATABASE_URL: 'postgresql://s@h/sessions' })
          .sessionStore,
      ).toEqual({
        kind: 'postgres',
        database: { kind: 'postgres', url: 'postgresql://s@h/sessions' },
      });
    });

    it('accepts sqlite::memory: and mariadb:// URLs', () => {
      expect(parseConfig({ DATABASE_URL: 'sqlite::memory:' }).database).toEqual({ kind: 'sqlite', path: ':memory:' });
      expect(parseConfig({ DATABASE_URL: 'mariadb://root@db/app' }).database).toEqual({ kind: 'mysql', url: 'mariadb://root@db/app' });
    });
  });

  it('accepts Express trust proxy values', () => {
    expect(parseConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(parseConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(parseConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '192.168.0.0/255.255.0.0,fe80::/10' }).trustProxy).toEqual(['192.168.0.0/255.255.0.0', 'fe80::/10']);
  });

  describe('a bad value stops start-up with a message naming the variable', () => {
    it.each<[string, SampleEnv]>([
      ['SESSION_STORE', { SESSION_STORE: 'mongodb' }],
      ['DATABASE_URL', { DATABASE_URL: 'ftp://files.example.com/db' }],
      ['DATABASE_URL', { DATABASE_URL: 'sqlite:' }],
      ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
      ['SESSION_DATABASE_URL', { SESSION_STORE: 'postgres', SESSION_DATABASE_URL: 'mysql://root@db/test' }],
      ['SESSION_DATABASE_URL', { SESSION_STORE: 'sqlite', SESSION_DATABASE_URL: 'nonsense' }],
      ['REDIS_URL', { SESSION_STORE: 'redis', REDIS_URL: 'http://cache:6379' }],
      ['SESSION_IDLE_TIMEOUT', { SESSION_IDLE_TIMEOUT: 'soon' }],
      ['SESSION_IDLE_TIMEOUT', { SESSION_IDLE_TIMEOUT: '-5m' }],
      ['SESSION_IDLE_TIMEOUT', { SESSION_IDLE_TIMEOUT: '500ms' }],
      ['SESSION_ABSOLUTE_TIMEOUT', { SESSION_ABSOLUTE_TIMEOUT: '12 hours' }],
      ['SESSION_ABSOLUTE_TIMEOUT', { SESSION_IDLE_TIMEOUT: '30m', SESSION_ABSOLUTE_TIMEOUT: '10m' }],
      ['SESSION_ROTATION_INTERVAL', { SESSION_ROTATION_INTERVAL: '15 minutes' }],
      ['SESSION_ROTATION_GRACE', { SESSION_ROTATION_GRACE: '5m' }],
      ['SESSION_MAX_CONCURRENT', { SESSION_MAX_CONCURRENT: 'two' }],
      ['SESSION_MAX_CONCURRENT', { SESSION_MAX_CONCURRENT: '-1' }],
      ['SESSION_MAX_CONCURRENT', { SESSION_MAX_CONCURRENT: '2.5' }],
      ['SESSION_BINDING', { SESSION_BINDING: 'paranoid' }],
      ['SESSION_BINDING_ACTION', { SESSION_BINDING_ACTION: 'logout' }],
      ['REAUTH_MAX_AGE', { REAUTH_MAX_AGE: 'yesterday' }],
      ['REAUTH_MAX_AGE', { REAUTH_MAX_AGE: '0' }],
      ['COOKIE_SECURE', { COOKIE_SECURE: 'maybe' }],
      ['ADMIN_REQUIRE_MFA', { ADMIN_REQUIRE_MFA: 'yes' }],
      ['ADMIN_REQUIRE_MFA', { ADMIN_REQUIRE_MFA: '1' }],
      ['SESSION_LIMIT_POLICY', { SESSION_LIMIT_POLICY: 'evict-newest' }],
      ['REMEMBER_IDLE_TIMEOUT', { REMEMBER_IDLE_TIMEOUT: 'a while' }],
      ['REMEMBER_ABSOLUTE_TIMEOUT', { REMEMBER_IDLE_TIMEOUT: '30d', REMEMBER_ABSOLUTE_TIMEOUT: '7d' }],
      ['IMPERSONATION_MAX_AGE', { IMPERSONATION_MAX_AGE: 'forever' }],
      ['MFA_ENCRYPTION_KEYS', { MFA_ENCRYPTION_KEYS: 'just-a-password' }],
      ['MFA_ENCRYPTION_KEYS', { MFA_ENCRYPTION_KEYS: `k1:${'A'.repeat(42)}` }],
      ['TRUST_PROXY', { TRUST_PROXY: 'everyone' }],
      ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
      ['TRUST_PROXY', { TRUST_PROXY: ',' }],
      ['LOCKOUT_THRESHOLD', { LOCKOUT_THRESHOLD: '0' }],
      ['LOCKOUT_THRESHOLD', { LOCKOUT_THRESHOLD: '101' }],
      ['LOCKOUT_DURATION', { LOCKOUT_DURATION: 'a while' }],
      ['LOCKOUT_DURATION', { LOCKOUT_DURATION: '10' }],
      ['CAPTCHA_AFTER_FAILURES', { CAPTCHA_AFTER_FAILURES: 'three' }],
      ['LOGIN_DELAY', { LOGIN_DELAY: '1m' }],
      ['PORT', { PORT: '70000' }],
      ['PORT', { PORT: 'http' }],
      ['HOST', { HOST: 'bad host' }],
    ])('%s (%j)', (variable, env) => {
      const error = problemOf(env);
      expect(error.problems.map((p) => p.variable)).toEqual([variable]);
      expect(error.message).toContain(variable);
      expect(error.message).not.toContain('\n');
    });

    it('reports every bad variable at once, in one line', () => {
      const error = problemOf({ SESSION_STORE: 'mongodb', SESSION_IDLE_TIMEOUT: 'soon', COOKIE_SECURE: 'yes' });
      expect(error.problems.map((p) => p.variable)).toEqual(['SESSION_STORE', 'SESSION_IDLE_TIMEOUT', 'COOKIE_SECURE']);
      expect(error.message).toMatch(/^Invalid configuration: SESSION_STORE .*; SESSION_IDLE_TIMEOUT .*; COOKIE_SECURE /);
      expect(error.message).not.toContain('\n');
    });

    it('says what the variable accepts', () => {
      expect(problemOf({ SESSION_STORE: 'mongodb' }).message).toContain('memory, redis, postgres, mariadb, sqlite');
      expect(problemOf({ SESSION_IDLE_TIMEOUT: '30m', SESSION_ABSOLUTE_TIMEOUT: '10m' }).message).toContain(
        'shorter than SESSION_IDLE_TIMEOUT',
      );
    });

    it('never repeats MFA key material', () => {
      const key = 'S3cr3tKeyMaterial'.padEnd(40, 'x');
      expect(problemOf({ MFA_ENCRYPTION_KEYS: `k1:${key}` }).message).not.toContain(key);
    });

    it('never repeats a database password', () => {
      const error = problemOf({ SESSION_STORE: 'postgres', SESSION_DATABASE_URL: 'mysql://root:hunter2@db/test' });
      expect(error.message).not.toContain('hunter2');
    });
  });
});

describe('sample config: ACCESS_TOKEN_KEYS (one set of signing keys for every instance)', () => {
  const jwk = (kid: string) => ({ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid });
  const problem = (raw: string) => {
    try {
      parseConfig({ ACCESS_TOKEN_KEYS: raw });
    } catch (error) {
      return error as ConfigError;
    }
    throw new Error(`ACCESS_TOKEN_KEYS=${raw} was accepted`);
  };

  it('is unset by default: the library generates a key pair per start', () => {
    expect(parseConfig({}).apiTokens.keys).toBeUndefined();
  });

  it('takes a JSON array of private JWKs, in order', () => {
    const keys = [jwk('k2'), jwk('k1')];
    expect(parseConfig({ ACCESS_TOKEN_KEYS: JSON.stringify(keys) }).apiTokens.keys).toEqual(keys);
  });

  it.each([
    ['not JSON', 'k1:abc'],
    ['an empty array', '[]'],
    ['a key without kid', JSON.stringify([{ ...jwk('x'), kid: undefined }])],
    ['two keys with one kid', JSON.stringify([jwk('k1'), jwk('k1')])],
    ['a public key', JSON.stringify([{ ...jwk('k1'), d: undefined }])],
    [
      'an RSA key',
      JSON.stringify([{ ...generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' }), kid: 'r' }]),
    ],
    ['a broken key', JSON.stringify([{ ...jwk('k1'), d: 'AAAA' }])],
  ])('refuses %s, naming the variable and how to make a key', (_, raw) => {
    const error = problem(raw);
    expect(error.problems.map((p) => p.variable)).toEqual(['ACCESS_TOKEN_KEYS']);
    expect(error.message).toContain('generateKeyPairSync');
    expect(error.message).not.toContain('\n');
  });

  it('never repeats key material', () => {
    const key = { ...jwk('k1'), crv: 'X25519' };
    expect(problem(JSON.stringify([key])).message).not.toContain(key.d!);
  });
});
