#!/usr/bin/env node
/*
 * Runs the whole jest suite (unit + integration against real PostgreSQL, MariaDB, Redis) and prints a plain
 * closing line "N passed, M failed" that CI can read. Extra arguments go to jest (e.g. a path filter).
 *
 * M counts failed tests plus test files that failed without a failing test: a file that does not load (syntax
 * error, missing import, a throw at its top level or in a describe block), has no test, or fails in afterAll.
 * jest counts none of those in numFailedTests, so a bare "numPassedTests passed, numFailedTests failed" used to
 * print "N passed, 0 failed" above a non-zero exit. Those files are listed by name before the closing line.
 * The exit code is non-zero when jest's is, or when anything failed.
 */
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');

const dir = mkdtempSync(join(tmpdir(), 'nsk-jest-'));
const out = join(dir, 'results.json');
const args = ['--runInBand', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const run = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...args], { stdio: 'inherit' });
let status = run.status ?? 1;
if (run.error) console.error(`Could not start jest: ${run.error.message}`);

let results;
try {
  results = JSON.parse(readFileSync(out, 'utf8'));
} catch (e) {
  console.error(`Could not read jest results (${e.message}): jest stopped before running the suites (see its output above).`);
  status = status || 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (results) {
  // A failed file with no failed test in it: it never ran its tests, or failed outside them.
  const broken = results.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  );
  const failed = results.numFailedTests + broken.length;
  if (broken.length > 0) {
    console.error(`\n${broken.length} test file(s) failed to run or failed outside a test:`);
    for (const file of broken) console.error(`  ${relative(process.cwd(), file.name)}: ${firstLine(file.message)}`);
  }
  if (results.numTotalTests === 0) {
    console.error('No test ran: treat as a failure.');
    status = status || 1;
  }
  // jest sets success false for reasons the counts above may not show (e.g. open handles with --detectOpenHandles).
  if (failed > 0 || results.success === false) status = status || 1;
  const skipped = results.numPendingTests + results.numTodoTests;
  console.log(
    `${results.numPassedTests} passed, ${failed} failed` +
      (skipped ? `, ${skipped} skipped` : '') +
      (broken.length ? ` (${results.numFailedTests} failed tests, ${broken.length} files failed to run)` : ''),
  );
}
process.exit(status);

/** The first meaningful line of a jest failure message ("Test suite failed to run" is the heading, not the cause). */
function firstLine(message) {
  const lines = String(message ?? '')
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('● Test suite failed to run'));
  return lines[0] ?? '(no message)';
}
