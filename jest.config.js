/** Two projects: fast unit specs, and integration suites that talk to real servers (Redis, PostgreSQL, MariaDB). */
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
const common = { testEnvironment: 'node', transform: { '^.+\\.(t|j)s$': swc }, moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  // Per-project testTimeout is ignored by jest; the integration suites talk to real servers.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/{stores,e2e,integration}/**/*.spec.ts'], testTimeout: 60000 },
  ],
};
