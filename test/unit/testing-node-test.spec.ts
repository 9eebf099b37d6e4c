/**
 * `nest-session-kit/testing` must run under any test framework, not only the jest that runs this repository's
 * own specs. Proof: the conformance suite runs against InMemorySessionStore under `node --test` (a child
 * process, TypeScript compiled on the fly by @swc/core as jest does), and every test it registers passes there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { describeSessionStore, TestFrameworkHooks } from '../../lib/testing';

/** Type-level proof that node:test's functions fit the hooks as the JSDoc example passes them (jest's do too: see test/stores). */
const _nodeTestHooks = (t: typeof import('node:test')): TestFrameworkHooks => ({
  describe: t.describe,
  it: t.it,
  before: t.before,
  after: t.after,
});

const ROOT = resolve(__dirname, '../..');

/** How many tests the suite registers, counted with a minimal framework of our own (bodies are not run). */
function countRegisteredTests(): number {
  let count = 0;
  describeSessionStore('count', async () => ({ store: new InMemorySessionStore() }), {
    describe: (_name, body) => body(),
    it: () => count++,
    before: () => undefined,
    after: () => undefined,
  });
  return count;
}

/** A require hook that compiles .ts with @swc/core, with the options of jest.config.js. */
const REGISTER_TS = `
const { readFileSync } = require('node:fs');
const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
`;

const NODE_TEST_FILE = `
require('./register-ts.js');
const { after, before, describe, it } = require('node:test');
const { describeSessionStore } = require(${JSON.stringify(join(ROOT, 'lib/testing/index.ts'))});
const { InMemorySessionStore } = require(${JSON.stringify(join(ROOT, 'lib/stores/memory/in-memory-session.store.ts'))});
describeSessionStore('memory under node:test', async () => ({ store: new InMemorySessionStore() }), { describe, it, before, after });
`;

describe('nest-session-kit/testing under node:test', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsk-node-test-'));
    writeFileSync(join(dir, 'register-ts.js'), REGISTER_TS);
    writeFileSync(join(dir, 'conformance.test.js'), NODE_TEST_FILE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('registers its tests through the hooks it is given, and refuses to run without before/after hooks', () => {
    expect(countRegisteredTests()).toBeGreaterThan(40);
    expect(() =>
      describeSessionStore('no hooks', async () => ({ store: new InMemorySessionStore() }), {
        describe: () => undefined,
        it: () => undefined,
      }),
    ).toThrow(/beforeAll, afterAll.*before, after/);
  });

  it('runs the whole conformance suite against InMemorySessionStore, every test passing', () => {
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(dir, 'conformance.test.js')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 50_000,
    });
    const summary = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1]);
    const failure = `node --test exited with ${run.status}:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`;
    if (run.status !== 0 || summary('fail') !== 0) throw new Error(failure);
    expect(summary('pass')).toBe(countRegisteredTests());
  });
});
