#!/usr/bin/env node
/*
 * Checks the package as a user receives it, from the packed tarball rather than the sources:
 *
 *  1. `npm pack`: the tarball holds package.json, README, LICENSE (when the repo has one), dist/lib and every
 *     file that package.json "exports" names, and nothing else (no tests, examples, sources or configs).
 *  2. A fresh app in a scratch directory installs the tarball plus only its peer dependencies, the optional ones
 *     included so that every sub-path can load (and what an app brings itself: @nestjs/platform-express,
 *     typescript, @types/node, @types/express), at the versions of package-lock.json, from npm's cache when it can.
 *  3. Every sub-path of the installed package's "exports" (read from it, so a new one is covered without an
 *     edit here) is require()d in its own node process and imported from ESM; the main entry must not load the
 *     optional peers (read from "peerDependenciesMeta": redis, typeorm, otplib, qrcode, @simplewebauthn/server).
 *  4. The README quick start (examples/quick-start, copied) plus a file that imports every sub-path compile with
 *     `module: node16`, `moduleResolution: node16`, strict, against the installed declarations.
 *  5. The compiled quick start starts against the real Redis (REDIS_URL, default redis://127.0.0.1:6379), and
 *     answers one login and one guarded request over HTTP, then stops on SIGTERM.
 *
 * Run after `npm run build`: `npm run check-package` (CI: .ci/run). KEEP_PACKAGE_CHECK=1 keeps the scratch app.
 */
const { spawn, spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const EXAMPLE = join(ROOT, 'examples/quick-start');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** Packages a consumer app brings itself besides the peers: the HTTP platform, the compiler and the typings its code uses. */
const APP_PACKAGES = ['@nestjs/platform-express', 'typescript', '@types/node', '@types/express'];
/**
 * Optional peers that the main entry must never load (they belong to sub-path entries: redis, typeorm, mfa, throttler). Read
 * from package.json "peerDependenciesMeta", so a new optional peer is covered without an edit here.
 */
const OPTIONAL_PEERS = Object.entries(readJson(join(ROOT, 'package.json')).peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta && meta.optional)
  .map(([name]) => name);

// scripts/check-nest12.js reuses the helpers below (module.exports at the end) without running this check.
if (require.main === module) runScratchCheck('check-package', 'KEEP_PACKAGE_CHECK', main);

async function main({ work, app, step, pkg, lock }) {
  step('npm pack');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }).stdout);
  checkContents(packed.files.map((f) => f.path));
  const tarball = join(work, packed.filename);
  console.log(`  ${packed.filename}: ${packed.entryCount} files, ${Math.round(packed.size / 1024)} kB packed`);

  step('install the tarball and its peers into a fresh app');
  writeJson(join(app, 'package.json'), { name: 'nsk-consumer', version: '0.0.0', private: true, license: 'UNLICENSED' });
  const wanted = [...Object.keys(pkg.peerDependencies ?? {}), ...APP_PACKAGES].map((name) => lockedSpec(lock, name));
  console.log(`  ${wanted.join(' ')}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...wanted], { cwd: app });

  step('require() and import every sub-path of "exports"');
  const installed = readJson(join(app, 'node_modules', pkg.name, 'package.json'));
  const subpaths = checkExportTargets(installed, join(app, 'node_modules', pkg.name));
  for (const subpath of subpaths) {
    const specifier = pkg.name + subpath.slice(1);
    // One process per entry, so an entry that works only after another one loaded something still fails.
    const probe = `
      const names = Object.keys(require(${JSON.stringify(specifier)}));
      const files = Object.keys(require.cache);
      const leaked = ${JSON.stringify(OPTIONAL_PEERS)}.filter((p) => files.some((f) => f.includes('/node_modules/' + p + '/')));
      console.log(JSON.stringify({ names, leaked }));`;
    const { names, leaked } = JSON.parse(run(process.execPath, ['-e', probe], { cwd: app, what: `require('${specifier}')` }).stdout);
    if (names.length === 0) throw new Error(`require('${specifier}') exports nothing`);
    if (subpath === '.' && leaked.length) {
      throw new Error(`require('${specifier}') loads ${leaked.join(', ')}: optional peers belong to sub-path entries only.`);
    }
    // ESM apps import the CommonJS build by name: every export must be visible to Node's CommonJS lexer.
    const esm = `import * as m from ${JSON.stringify(specifier)};
      const missing = ${JSON.stringify(names)}.filter((n) => !(n in m));
      if (missing.length) throw new Error('not importable by name from ESM: ' + missing.join(', '));`;
    run(process.execPath, ['--input-type=module', '-e', esm], { cwd: app, what: `import from '${specifier}' (ESM)` });
    console.log(`  ${specifier}: ${names.length} exports`);
  }

  step('compile the README quick start and every sub-path (node16, strict)');
  for (const file of readdirSync(EXAMPLE).filter((f) => f.endsWith('.ts'))) cpSync(join(EXAMPLE, file), join(app, 'src', file));
  writeFileSync(
    join(app, 'src/every-entry.ts'),
    '// Generated by scripts/check-package.js: each sub-path of "exports" must have types under node16 resolution.\n' +
      subpaths.map((s, i) => `import * as entry${i} from '${pkg.name + s.slice(1)}';`).join('\n') +
      `\nexport const entries = [${subpaths.map((_, i) => `entry${i}`).join(', ')}];\n`,
  );
  writeJson(join(app, 'tsconfig.json'), {
    compilerOptions: {
      module: 'node16',
      moduleResolution: 'node16',
      target: 'ES2022',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      types: ['node'],
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  });
  run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, what: 'tsc (consumer app)' });

  step(`start the quick start against ${REDIS_URL}, log in, make a guarded request`);
  await bootQuickStart(app);
}

/** Only what a user needs may ship: an allowlist, so a new folder cannot slip into the tarball unnoticed. */
function checkContents(files) {
  const allowed = (f) => f === 'package.json' || /^(README|LICEN[CS]E|CHANGELOG)(\.md|\.txt)?$/i.test(f) || f.startsWith('dist/lib/');
  const isTest = (f) => /\.(spec|test)\.[cm]?[jt]s(\.map)?$/.test(f) || /(^|\/)(test|tests|__tests__)\//.test(f);
  const unexpected = files.filter((f) => !allowed(f) || isTest(f));
  if (unexpected.length) {
    throw new Error(`the tarball holds files a user does not need: ${unexpected.slice(0, 20).join(', ')} (fix "files" in package.json)`);
  }
  const required = ['package.json', 'README.md', ...readdirSync(ROOT).filter((f) => /^LICEN[CS]E/i.test(f))];
  const missing = required.filter((f) => !files.includes(f));
  if (!files.some((f) => f.startsWith('dist/lib/'))) missing.push('dist/lib/');
  if (missing.length) throw new Error(`the tarball lacks ${missing.join(', ')} (fix "files" in package.json)`);
}

/** Every target file of every "exports" entry (all conditions) must be in the installed package. */
function checkExportTargets(installed, dir) {
  if (!installed.exports || typeof installed.exports !== 'object') throw new Error('package.json has no "exports" map');
  const missing = [];
  const subpaths = [];
  for (const [subpath, target] of Object.entries(installed.exports)) {
    const targets = typeof target === 'string' ? { default: target } : target;
    for (const [condition, file] of Object.entries(targets)) {
      if (!existsSync(join(dir, file))) missing.push(`exports["${subpath}"].${condition} -> ${file}`);
    }
    if (subpath !== './package.json') subpaths.push(subpath);
  }
  if (missing.length) throw new Error(`files named by package.json "exports" are not in the package:\n  ${missing.join('\n  ')}`);
  return subpaths;
}

async function bootQuickStart(app) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: app,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', REDIS_URL, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  try {
    const base = await waitFor(
      () => /listening on (http:\/\/[\w.:[\]]+)/.exec(output)?.[1],
      30_000,
      () => child.exitCode !== null,
    );
    if (!base) throw new Error('the quick start did not print "listening on" within 30 s');

    const anonymous = await fetch(`${base}/cart`);
    await expectStatus(anonymous, 401, 'GET /cart without a session');
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-correct-horse-1' }),
    });
    await expectStatus(login, 200, 'POST /auth/login');
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('__Host-sid='));
    if (!cookie || !/;\s*Secure/i.test(cookie)) throw new Error(`login set no Secure __Host-sid cookie: ${login.headers.getSetCookie()}`);
    const cart = await fetch(`${base}/cart`, { headers: { cookie: cookie.split(';')[0] } });
    await expectStatus(cart, 200, 'GET /cart with the session cookie');
    const body = await cart.json();
    if (!Array.isArray(body)) throw new Error(`GET /cart answered ${JSON.stringify(body)}, not a cart`);
    console.log(`  ${base}: 401 without a session, login 200, GET /cart 200 ${JSON.stringify(body)}`);
  } catch (error) {
    throw new Error(`${error.message}\nThe quick start's output:\n${output.trim()}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const stop = await Promise.race([exited, new Promise((done) => setTimeout(() => done(null), 10_000).unref())]);
    if (stop === null) {
      child.kill('SIGKILL');
      throw new Error(`the quick start did not stop within 10 s of SIGTERM. Its output:\n${output}`);
    }
  }
}

async function expectStatus(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${await res.text()}`);
}

async function waitFor(probe, timeoutMs, gaveUp) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    if (gaveUp()) return probe();
    await new Promise((done) => setTimeout(done, 50));
  }
  return undefined;
}

/** Runs a command to completion; throws with its output when it fails. */
function run(command, args, { cwd, what = `${command} ${args.join(' ')}` }) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status}):\n${(result.stdout + result.stderr).trim().split('\n').slice(-40).join('\n')}`);
  }
  return result;
}

/** `name@version` at the version of package-lock.json (what the tests ran against), or `name` when it is not there. */
function lockedSpec(lock, name) {
  const locked = lock.packages[`node_modules/${name}`]?.version;
  return locked ? `${name}@${locked}` : name;
}

/**
 * Runs `main` as one check in a scratch directory: `main({ work, app, step, pkg, lock })` gets the directory
 * (`/tmp/nsk-NAME-…`), an empty app folder with `src/` in it, a logger of timed steps, and the repository's
 * package.json and package-lock.json. dist/ must be built (a lib/ newer than dist/ is warned about). Prints OK or
 * FAIL with the time taken and exits 1 on failure; the scratch directory is removed on success unless `keepVar`=1.
 */
function runScratchCheck(name, keepVar, main) {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  let work;
  const cleanup = (ok) => {
    if (!work) return;
    if (process.env[keepVar] === '1' || !ok) console.error(`${name}: scratch app kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  };
  const body = async () => {
    if (!existsSync(join(ROOT, 'dist/lib/index.js'))) throw new Error('dist/lib is missing: run `npm run build` first.');
    if (newestMtime(join(ROOT, 'lib')) > newestMtime(join(ROOT, 'dist/lib'))) {
      console.warn(`${name}: warning: lib/ changed after the last build; this checks dist/ as built.`);
    }
    work = mkdtempSync(`/tmp/nsk-${name}-`);
    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    const step = (text) => console.log(`== ${name} [${seconds()} s]: ${text}`);
    await main({ work, app, step, pkg: readJson(join(ROOT, 'package.json')), lock: readJson(join(ROOT, 'package-lock.json')) });
  };
  body().then(
    () => {
      console.log(`${name}: OK in ${seconds()} s`);
      cleanup(true);
    },
    (error) => {
      console.error(`\n${name}: FAIL: ${error.message}`);
      cleanup(false);
      process.exit(1);
    },
  );
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function writeJson(path, value) {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

module.exports = { checkContents, lockedSpec, readJson, run, runScratchCheck, writeJson };
