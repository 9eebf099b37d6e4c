/**
 * scripts/run-tests.js (what `npm test` runs) against a throwaway jest project: one passing spec and specs that
 * fail without a failing test (a throw at load, a missing import). Such files must count as failures in the
 * closing line and the exit code, not only in jest's own summary above it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUN_TESTS = resolve(__dirname, '../../scripts/run-tests.js');

function runOn(files: Record<string, string>): { status: number | null; stdout: string; stderr: string; closing: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nsk-run-tests-'));
  try {
    writeFileSync(
      join(dir, 'jest.config.js'),
      `module.exports = { rootDir: __dirname, testEnvironment: 'node', testMatch: ['<rootDir>/*.spec.js'], transform: {} };\n`,
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const run = spawnSync(process.execPath, [RUN_TESTS, '--config', join(dir, 'jest.config.js')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const lines = run.stdout.trim().split('\n');
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, closing: lines[lines.length - 1] ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function counts(closing: string): { passed: number; failed: number } {
  const match = /^(\d+) passed, (\d+) failed/.exec(closing);
  if (!match) throw new Error(`the closing line is not "N passed, M failed": ${JSON.stringify(closing)}`);
  return { passed: Number(match[1]), failed: Number(match[2]) };
}

const PASSING = `test('passes', () => expect(1 + 1).toBe(2));\n`;

describe('scripts/run-tests.js', () => {
  it('counts a spec that throws at load as failed, names it, and exits non-zero', () => {
    const run = runOn({
      'passing.spec.js': PASSING,
      'throws-at-load.spec.js': `throw new Error('broken at load');\ntest('never runs', () => {});\n`,
      'missing-import.spec.js': `require('./does-not-exist');\ntest('never runs', () => {});\n`,
    });
    expect(run.status).not.toBe(0);
    expect(counts(run.closing)).toEqual({ passed: 1, failed: 2 });
    expect(run.stderr).toContain('throws-at-load.spec.js: broken at load');
    expect(run.stderr).toMatch(/missing-import\.spec\.js: Cannot find module '\.\/does-not-exist'/);
  });

  it('counts a failing test once and exits non-zero', () => {
    const run = runOn({ 'passing.spec.js': PASSING, 'failing.spec.js': `test('fails', () => expect(1).toBe(2));\n` });
    expect(run.status).not.toBe(0);
    expect(counts(run.closing)).toEqual({ passed: 1, failed: 1 });
  });

  it('exits 0 with "N passed, 0 failed" when everything passes', () => {
    const run = runOn({ 'passing.spec.js': PASSING });
    expect({ status: run.status, closing: run.closing }).toEqual({ status: 0, closing: '1 passed, 0 failed' });
  });
});
