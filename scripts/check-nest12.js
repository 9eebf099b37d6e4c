#!/usr/bin/env node
/*
 * The packed package in a Nest 12 app. Nest 12 is ESM-only and jest cannot load it, so the repository's own tests
 * run on Nest 11; this job checks what a Nest 12 user gets:
 *
 *  1. `npm pack` (the same tarball checks as scripts/check-package.js).
 *  2. A scratch app with `"type": "module"` installs the tarball with Nest 12 from the registry at the exact
 *     versions of NEST12 and NEST12_PEERS below (pinned, so a run is reproducible and a new Nest release changes
 *     nothing until someone bumps them here and in the README), plus every other peer (optional ones included),
 *     typescript and the typings at the versions of package-lock.json. npm refuses the install when a
 *     peerDependencies range excludes Nest 12.
 *  3. Every sub-path of "exports" is require()d (in one node process) and imported (in another) next to Nest 12;
 *     anything on stderr (an ExperimentalWarning about require(esm), say) fails the job.
 *  4. test/nest12/app (written as a Nest 12 user would: relative imports with `.js`, decorators with
 *     emitDecoratorMetadata), test/nest12/suite and a file importing every sub-path compile with
 *     `module`/`moduleResolution: nodenext`, strict and without skipLibCheck, against the installed declarations;
 *     the app compiles a second time as CommonJS (Nest 12 still supports CommonJS apps, through require(esm)).
 *  5. node:test runs the suite: it checks that the app and the package share one @nestjs/common and @nestjs/core,
 *     then starts the ESM app with the memory store, then with Redis (REDIS_URL, default redis://127.0.0.1:6379),
 *     then the CommonJS app with the memory store, then the ESM app again on @nestjs/platform-fastify 12
 *     (PLATFORM=fastify: the same compiled app, so Fastify costs one more app start and no install or compile), and
 *     tests login, the auth guard, @Roles, rotation (login,
 *     privilege change, periodic through the module's clock) and logout over HTTP. A warning or error in an app's
 *     output fails it.
 *
 * Run after `npm run build`: `npm run check-nest12` (CI: .ci/run, after check-package). KEEP_NEST12_CHECK=1
 * keeps the scratch app; NEST12_RUNS=esm:memory runs only that app and store, `kind:store:platform` picks the HTTP
 * platform (CI runs the default esm:memory,esm:redis,cjs:memory,esm:memory:fastify).
 */
const { spawnSync } = require('node:child_process');
const { cpSync, mkdirSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { checkContents, lockedSpec, readJson, run, runScratchCheck, writeJson } = require('./check-package');

const ROOT = resolve(__dirname, '..');
const SOURCES = join(ROOT, 'test/nest12');
/** Nest 12, pinned. Bump together, then update the README's "Supported Nest versions". */
const NEST12 = { '@nestjs/common': '12.5.1', '@nestjs/core': '12.5.1', '@nestjs/platform-express': '12.5.1' };
/** The Nest 12 majors of the optional @nestjs peers (package-lock.json has their Nest 11 majors), pinned too. */
const NEST12_PEERS = { '@nestjs/platform-fastify': '12.5.0', '@nestjs/terminus': '12.1.0' };
/** What the app brings besides the peers (which come from package.json), at the versions of package-lock.json. */
const APP_PACKAGES = ['typescript', '@types/node', '@types/express'];

runScratchCheck('check-nest12', 'KEEP_NEST12_CHECK', main);

async function main({ work, app, step, pkg, lock }) {
  step('npm pack');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }).stdout);
  checkContents(packed.files.map((f) => f.path));

  step('install the tarball with Nest 12 into a fresh ESM app');
  writeJson(join(app, 'package.json'), { name: 'nsk-nest12-app', version: '0.0.0', private: true, type: 'module', license: 'UNLICENSED' });
  // Every peer, the optional ones too, so that each sub-path entry can load under Nest 12.
  const pinned = { ...NEST12, ...NEST12_PEERS };
  const others = [...Object.keys(pkg.peerDependencies ?? {}), ...APP_PACKAGES].filter((name) => !(name in pinned));
  const wanted = [...Object.entries(pinned).map(([name, version]) => `${name}@${version}`), ...others.map((n) => lockedSpec(lock, n))];
  console.log(`  ${wanted.join(' ')}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename), ...wanted], {
    cwd: app,
  });
  for (const [name, version] of Object.entries(pinned)) {
    const installed = readJson(join(app, 'node_modules', name, 'package.json'));
    if (installed.version !== version || installed.type !== 'module') {
      throw new Error(`${name}: expected ${version} (ESM-only), installed ${installed.version} (type ${installed.type ?? 'commonjs'})`);
    }
  }

  // One process for require() and one for import (check-package.js already loads each entry alone, on Nest 11):
  // what differs under Nest 12 is require(esm), and its warnings would show on stderr.
  step('require() and import every sub-path of "exports" next to Nest 12, with nothing on stderr');
  const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
  const specifiers = subpaths.map((subpath) => JSON.stringify(pkg.name + subpath.slice(1)));
  const probes = {
    'require()': ['-e', `require('reflect-metadata'); ${specifiers.map((s) => `require(${s});`).join(' ')}`],
    import: ['--input-type=module', '-e', `import 'reflect-metadata'; ${specifiers.map((s) => `await import(${s});`).join(' ')}`],
  };
  for (const [how, args] of Object.entries(probes)) {
    const { stderr } = run(process.execPath, args, { cwd: app, what: `${how} of every sub-path with Nest 12` });
    if (stderr.trim()) throw new Error(`${how} of every sub-path with Nest 12 printed:\n${stderr.trim()}`);
  }
  console.log(`  ${subpaths.length} entries: ${subpaths.map((s) => pkg.name + s.slice(1)).join(', ')}`);

  step('compile test/nest12 as ESM and as CommonJS, and every sub-path (nodenext, strict, no skipLibCheck)');
  cpSync(join(SOURCES, 'app'), join(app, 'src/app'), { recursive: true });
  cpSync(join(SOURCES, 'suite'), join(app, 'src/suite'), { recursive: true });
  // The same app in a folder whose package.json says CommonJS: nodenext compiles it to require() calls, as a Nest 12
  // app that kept CommonJS is built. The package.json must sit next to the output too, for node.
  cpSync(join(SOURCES, 'app'), join(app, 'src/cjs-app'), { recursive: true });
  for (const dir of ['src/cjs-app', 'dist/cjs-app']) {
    mkdirSync(join(app, dir), { recursive: true });
    writeJson(join(app, dir, 'package.json'), { type: 'commonjs' });
  }
  writeFileSync(
    join(app, 'src/every-entry.ts'),
    '// Generated by scripts/check-nest12.js: each sub-path of "exports" must have types under nodenext with Nest 12.\n' +
      subpaths.map((s, i) => `import * as entry${i} from '${pkg.name + s.slice(1)}';`).join('\n') +
      `\nexport const entries = [${subpaths.map((_, i) => `entry${i}`).join(', ')}];\n`,
  );
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
    env: {
      ...process.env,
      NO_COLOR: '1',
      NEST12_ESM_MAIN: join(app, 'dist/app/main.js'),
      NEST12_CJS_MAIN: join(app, 'dist/cjs-app/main.js'),
    },
  });
  if (suite.error) throw new Error(`could not start node --test: ${suite.error.message}`);
  if (suite.status !== 0) throw new Error(`the Nest 12 end-to-end suite failed (exit ${suite.status}; see its output above)`);
}
