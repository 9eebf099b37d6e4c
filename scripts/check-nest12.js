#!/usr/bin/env node
/*
 * The packed package in a Nest 12 app. Nest 12 is ESM-only and jest cannot load it, so the repository's own tests
 * run on Nest 11; this job checks what a Nest 12 user gets:
 *
 *  1. `npm pack` (the same tarball checks as scripts/check-package.js).
 *  2. A scratch app with `"type": "module"` installs the tarball with Nest 12 from the registry at the exact
 *     versions of NEST12 below (pinned, so a run is reproducible and a new Nest release changes nothing until
 *     someone bumps them here and in the README), plus reflect-metadata, rxjs, redis, typescript and the typings
 *     at the versions of package-lock.json. npm refuses the install when a peerDependencies range excludes Nest 12.
 *  3. test/nest12/app (written as a Nest 12 user would: relative imports with `.js`, decorators with
 *     emitDecoratorMetadata) and test/nest12/suite compile with `module`/`moduleResolution: nodenext`, strict and
 *     without skipLibCheck, against the installed declarations of the package and of Nest 12.
 *  4. node:test runs the suite: it checks that the app and the package share one @nestjs/common and @nestjs/core,
 *     then starts the compiled app once per store (memory, then Redis at REDIS_URL, default
 *     redis://127.0.0.1:6379) and tests login, the auth guard, @Roles, rotation (login, privilege change,
 *     periodic through the module's clock) and logout over HTTP. A warning or error in the app's output fails it.
 *
 * Run after `npm run build`: `node scripts/check-nest12.js` (CI: .ci/run, after check-package). KEEP_NEST12_CHECK=1
 * keeps the scratch app; NEST12_STORES=memory runs the suite without Redis (CI runs both).
 */
const { spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { checkContents, lockedSpec, newestMtime, readJson, run, writeJson } = require('./check-package');

const ROOT = resolve(__dirname, '..');
const SOURCES = join(ROOT, 'test/nest12');
/** Nest 12, pinned. Bump together, then update the README's "Supported Nest versions". */
const NEST12 = { '@nestjs/common': '12.5.1', '@nestjs/core': '12.5.1', '@nestjs/platform-express': '12.5.1' };
/** The rest of the app, at the versions of package-lock.json. */
const APP_PACKAGES = ['reflect-metadata', 'rxjs', 'redis', 'typescript', '@types/node', '@types/express'];

const started = Date.now();
let work;

main().then(
  () => {
    console.log(`check-nest12: OK in ${seconds()} s`);
    cleanup(true);
  },
  (error) => {
    console.error(`\ncheck-nest12: FAIL: ${error.message}`);
    cleanup(false);
    process.exit(1);
  },
);

async function main() {
  const lock = readJson(join(ROOT, 'package-lock.json'));
  if (!existsSync(join(ROOT, 'dist/lib/index.js'))) throw new Error('dist/lib is missing: run `npm run build` first.');
  if (newestMtime(join(ROOT, 'lib')) > newestMtime(join(ROOT, 'dist/lib'))) {
    console.warn('check-nest12: warning: lib/ changed after the last build; this checks dist/ as built.');
  }

  work = mkdtempSync('/tmp/nsk-nest12-');
  const app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });

  step('npm pack');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }).stdout);
  checkContents(packed.files.map((f) => f.path));

  step('install the tarball with Nest 12 into a fresh ESM app');
  writeJson(join(app, 'package.json'), { name: 'nsk-nest12-app', version: '0.0.0', private: true, type: 'module', license: 'UNLICENSED' });
  const wanted = [
    ...Object.entries(NEST12).map(([name, version]) => `${name}@${version}`),
    ...APP_PACKAGES.map((n) => lockedSpec(lock, n)),
  ];
  console.log(`  ${wanted.join(' ')}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename), ...wanted], {
    cwd: app,
  });
  for (const [name, version] of Object.entries(NEST12)) {
    const installed = readJson(join(app, 'node_modules', name, 'package.json'));
    if (installed.version !== version || installed.type !== 'module') {
      throw new Error(`${name}: expected ${version} (ESM-only), installed ${installed.version} (type ${installed.type ?? 'commonjs'})`);
    }
  }

  step('compile test/nest12 (module and moduleResolution nodenext, strict, no skipLibCheck)');
  cpSync(join(SOURCES, 'app'), join(app, 'src/app'), { recursive: true });
  cpSync(join(SOURCES, 'suite'), join(app, 'src/suite'), { recursive: true });
  writeJson(join(app, 'tsconfig.json'), {
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'ES2022',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: false,
      types: ['node'],
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  });
  run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, what: 'tsc (Nest 12 app)' });

  step('node:test end-to-end suite against the compiled app');
  const suite = spawnSync(process.execPath, ['--test', '--test-reporter=spec', 'dist/suite/nest12.e2e.js'], {
    cwd: app,
    stdio: 'inherit',
    env: { ...process.env, NO_COLOR: '1', NEST12_APP_MAIN: join(app, 'dist/app/main.js') },
  });
  if (suite.error) throw new Error(`could not start node --test: ${suite.error.message}`);
  if (suite.status !== 0) throw new Error(`the Nest 12 end-to-end suite failed (exit ${suite.status}; see its output above)`);
}

function step(text) {
  console.log(`== check-nest12 [${seconds()} s]: ${text}`);
}

function seconds() {
  return ((Date.now() - started) / 1000).toFixed(1);
}

function cleanup(ok) {
  if (!work) return;
  if (process.env.KEEP_NEST12_CHECK === '1' || !ok) {
    console.error(`check-nest12: scratch app kept in ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}
