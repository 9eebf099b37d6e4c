#!/usr/bin/env node
/**
 * Entry point of `npm run bench`: compiles the benchmark (bench/*.ts and the parts of lib/ it uses) into
 * bench/out/build with bench/tsconfig.json, then runs the driver. Plain JS so that it needs no build itself.
 *
 *   node bench/run.js                 full benchmark → bench/RESULTS.md + bench/out/results-*.json
 *   node bench/run.js profile [secs]  CPU profile of kit-memory under GET /me load → bench/out/profiles/
 *   node bench/run.js scale           1M sessions against 1k in Redis and PostgreSQL → bench/SCALE.md (bench/scale.ts)
 *   node bench/run.js soak            30 minutes of mixed traffic on the sample app → bench/SOAK.md, bench/soak.png (bench/soak.ts)
 *
 * Quick check: BENCH_ROUNDS=1 BENCH_DURATION=2 BENCH_LOGIN_ROUNDS=1 BENCH_WARMUP=1 node bench/run.js
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', join(__dirname, 'tsconfig.json')],
  {
    stdio: 'inherit',
    cwd: root,
  },
);
if (tsc.status !== 0) {
  console.error('bench: compiling bench/ failed');
  process.exit(tsc.status ?? 1);
}

// Run in this process (not a child), so that a signal to `npm run bench` reaches the driver's clean-up.
const [command, ...args] = process.argv.slice(2);
const script = { profile: 'profile.js', scale: 'scale.js', soak: 'soak.js' }[command] ?? 'driver.js';
process.argv = [process.argv[0], script, ...args];
require(join(__dirname, 'out', 'build', 'bench', script)).cli();
