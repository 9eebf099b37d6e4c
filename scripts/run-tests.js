#!/usr/bin/env node
/*
 * Runs the whole jest suite (unit + integration against real PostgreSQL, MariaDB, Redis) and prints a plain
 * closing line "N passed, N failed" that CI can read. Exit code is jest's.
 */
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const out = join(mkdtempSync(join(tmpdir(), 'nsk-jest-')), 'results.json');
const args = ['--runInBand', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const run = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...args], { stdio: 'inherit' });
let status = run.status ?? 1;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  if (r.numTotalTests === 0) {
    console.error('No test ran: treat as a failure.');
    status = 1;
  }
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''));
} catch (e) {
  console.error(`Could not read jest results (${e.message}).`);
  status = status || 1;
}
process.exit(status);
