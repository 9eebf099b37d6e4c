/**
 * Three projects: fast unit specs, integration suites that talk to real servers (Redis, PostgreSQL, MariaDB), and
 * browser tests of the sample app's pages in chromium.
 */
const { exports: entries } = require('./package.json');

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

/**
 * `nest-session-kit` and its sub-paths resolve to the sources, read from package.json "exports", so examples/
 * import the package exactly as a user does and a new sub-path needs no change here. tsconfig.json "paths" say
 * the same for the type-checker (test/readme checks that the two agree).
 */
const packageSources = Object.fromEntries(
  Object.entries(entries)
    .filter(([, target]) => typeof target === 'object' && target.types)
    .map(([subpath, target]) => [
      `^nest-session-kit${subpath.slice(1)}$`,
      target.types.replace(/^\.\/dist\//, '<rootDir>/').replace(/\.d\.ts$/, '.ts'),
    ]),
);

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': swc },
  // ESM-only packages jest must transform: otplib 13's @scure/base and @noble/hashes (also when nested under
  // @otplib/*), jose 6 (API tokens), openid-client 6 and oauth4webapi 3 (OIDC login), oidc-provider 9 (OIDC tests).
  transformIgnorePatterns: [
    '/node_modules/(?!(.*/node_modules/)?(@scure/base|@noble/hashes|jose|openid-client|oauth4webapi|oidc-provider)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: packageSources,
};
module.exports = {
  // Per-project testTimeout is ignored by jest; the integration suites talk to real servers.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/{unit,tooling}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      // examples/ holds the README's code (test/readme checks that they match); their specs run as written.
      testMatch: ['<rootDir>/test/{stores,e2e,integration,readme}/**/*.spec.ts', '<rootDir>/examples/**/*.spec.ts'],
      testTimeout: 60000,
    },
    {
      ...common,
      displayName: 'browser',
      // Debian's chromium driven by playwright-core against the sample app in-process; never skipped (see
      // test/browser/support/chromium.ts). The 60 s timeout above leaves room for a browser start on a slow VM.
      testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
      testTimeout: 60000,
    },
  ],
};
