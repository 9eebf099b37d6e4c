/**
 * Every code block of README.md is compiled and run here, so the README cannot rot again:
 *
 * - each ```ts block is an example file under examples/, word for word: its first line names the file
 *   (`// examples/quick-start/app.module.ts`). The files import `nest-session-kit` and its sub-paths by name, as
 *   users do (tsconfig.json "paths" and jest's moduleNameMapper point those at lib/). Edit the example, then
 *   copy it into the README, or let `UPDATE_README_EXAMPLES=1 npx jest test/readme` copy every one;
 * - the examples type-check (strict, with the project's tsconfig.json);
 * - the quick start boots against the real Redis (127.0.0.1:6379, or REDIS_URL) and serves login, cart and
 *   logout over HTTP; examples/**\/*.spec.ts run as jest specs of their own;
 * - each ```sh block runs only npm commands that exist, the README opens with the two newcomer commands, and
 *   package-lock.json agrees with package.json (else `npm ci` refuses to install).
 *
 * scripts/check-package.sh runs the quick start once more from the packed tarball, as a user installs it.
 */
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import request from 'supertest';
import * as ts from 'typescript';
import { SessionStore } from 'nest-session-kit';

const ROOT = resolve(__dirname, '../..');
const README = join(ROOT, 'README.md');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  exports: Record<string, string | { types?: string; default?: string }>;
  [field: string]: unknown;
};

interface CodeBlock {
  lang: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
  text: string;
}

function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { lang: string; line: number; body: string[] } | undefined;
  markdown.split('\n').forEach((line, index) => {
    if (!open) {
      const fence = /^```(\S*)\s*$/.exec(line);
      if (fence) open = { lang: fence[1], line: index + 1, body: [] };
    } else if (/^```\s*$/.test(line)) {
      blocks.push({ lang: open.lang, line: open.line, text: open.body.join('\n') });
      open = undefined;
    } else {
      open.body.push(line);
    }
  });
  if (open) throw new Error(`README.md line ${open.line}: a code block is never closed`);
  return blocks;
}

/** The example file a ts block shows, from its first line `// examples/...`. */
function exampleOf(block: CodeBlock): string {
  const named = /^\/\/ (examples\/\S+\.ts)$/.exec(block.text.split('\n')[0]);
  if (!named) {
    throw new Error(
      `README.md line ${block.line}: a ts block must start with the example file it shows, e.g. "// examples/quick-start/app.module.ts"` +
        ` (the file is compiled and run by test/readme; the README shows it word for word). It starts with ${JSON.stringify(block.text.split('\n')[0])}.`,
    );
  }
  return named[1];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The shell commands of a sh block: comments dropped, `a && b` split. */
function commandsOf(block: CodeBlock): string[][] {
  return block.text
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split('&&').map((command) => command.trim().replace(/\s+/g, ' ')));
}

/** Where `nest-session-kit[/sub]` resolves in the sources, per package.json "exports" (types entry). */
function sourcesOfExports(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pkg.exports)
      .filter((entry): entry is [string, { types: string }] => typeof entry[1] === 'object' && typeof entry[1].types === 'string')
      .map(([subpath, target]) => [
        `nest-session-kit${subpath.slice(1)}`,
        target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'),
      ]),
  );
}

const blocks = codeBlocks(readFileSync(README, 'utf8'));

describe('README.md code blocks', () => {
  it('has only ts and sh blocks (each kind is checked below)', () => {
    const unknown = blocks.filter((b) => b.lang !== 'ts' && b.lang !== 'sh');
    expect(
      unknown.map((b) => `README.md line ${b.line}: \`\`\`${b.lang || '(no language)'} has no test; use ts or sh, or cover it here`),
    ).toEqual([]);
    expect(blocks.filter((b) => b.lang === 'ts').length).toBeGreaterThan(0);
  });

  it('shows each example file word for word', () => {
    let readme = readFileSync(README, 'utf8');
    const update = process.env.UPDATE_README_EXAMPLES === '1';
    const drifts: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'ts')) {
      const file = exampleOf(block);
      const path = join(ROOT, file);
      if (!existsSync(path)) {
        drifts.push(`README.md line ${block.line}: ${file} does not exist`);
        continue;
      }
      const example = readFileSync(path, 'utf8').replace(/\n+$/, '');
      if (example === block.text) continue;
      if (update) {
        readme = readme.replace('```ts\n' + block.text + '\n```', () => '```ts\n' + example + '\n```');
        continue;
      }
      const shown = block.text.split('\n');
      const real = example.split('\n');
      const at = shown.findIndex((line, i) => line !== real[i]);
      const n = at === -1 ? shown.length : at;
      drifts.push(
        `README.md line ${block.line} differs from ${file} at line ${n + 1}:\n` +
          `  README:  ${JSON.stringify(shown[n] ?? '(end of block)')}\n  example: ${JSON.stringify(real[n] ?? '(end of file)')}\n` +
          '  The example file is the one that is compiled and run: change it, then copy it into the README ' +
          '(UPDATE_README_EXAMPLES=1 npx jest test/readme does that).',
      );
    }
    if (update) writeFileSync(README, readme);
    expect(drifts).toEqual([]);
  });

  it('opens with the two newcomer commands, and npm ci can install from the lockfile', () => {
    const first = blocks[0];
    expect(first.lang).toBe('sh');
    const readme = readFileSync(README, 'utf8');
    expect(readme.slice(0, readme.indexOf('```')).trim()).toBe(''); // the very first lines a newcomer sees
    expect(commandsOf(first)).toEqual([
      ['npm ci', 'npm run sample'],
      ['npm ci', 'npm test'],
    ]);
    // `npm run sample` is what test/e2e/sample-smoke.spec.ts builds and starts; `npm test` is what CI runs.
    const smoke = readFileSync(join(ROOT, 'test/e2e/sample-smoke.spec.ts'), 'utf8');
    for (const part of ['sample/tsconfig.json', 'dist-sample/sample/src/main.js']) {
      expect({ part, inSampleScript: pkg.scripts.sample.includes(part), inSmokeTest: smoke.includes(part) }).toEqual({
        part,
        inSampleScript: true,
        inSmokeTest: true,
      });
    }
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
    // npm ci refuses a lockfile whose root entry disagrees with package.json.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const root = lock.packages[''];
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies', 'peerDependenciesMeta']) {
      expect({ field, lock: root[field] ?? {} }).toEqual({ field, lock: pkg[field] ?? {} });
    }
  });

  it('runs only npm commands that exist in sh blocks', () => {
    const bad: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'sh')) {
      for (const command of commandsOf(block).flat()) {
        const script = /^npm run (\S+)$/.exec(command)?.[1];
        if (command === 'npm ci' || (command === 'npm test' && pkg.scripts.test)) continue;
        if (script && pkg.scripts[script]) continue;
        bad.push(`README.md line ${block.line}: "${command}" is not npm ci, npm test or npm run <a script of package.json>`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('examples/', () => {
  it('resolve nest-session-kit exactly as package.json "exports" does (tsconfig paths, jest moduleNameMapper)', () => {
    const expected = sourcesOfExports();
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const paths = (config.config as { compilerOptions: { paths?: Record<string, string[]> } }).compilerOptions.paths ?? {};
    expect(Object.fromEntries(Object.entries(paths).map(([name, [target]]) => [name, target.replace(/^\.\//, '')]))).toEqual(expected);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jestConfig = require(join(ROOT, 'jest.config.js')) as { projects: { moduleNameMapper: Record<string, string> }[] };
    for (const project of jestConfig.projects) {
      expect(
        Object.fromEntries(
          Object.entries(project.moduleNameMapper).map(([re, target]) => [re.replace(/^\^|\$$/g, ''), target.replace('<rootDir>/', '')]),
        ),
      ).toEqual(expected);
    }
    for (const [name, source] of Object.entries(expected)) {
      expect({ name, source, exists: existsSync(join(ROOT, source)) }).toEqual({ name, source, exists: true });
    }
  });

  it('type-check with the project settings (strict)', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      { noEmit: true },
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!parsed) throw new Error('cannot read tsconfig.json');
    const files = filesUnder(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));
    const program = ts.createProgram(files, parsed.options);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const text = ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    });
    expect(text).toBe('');
  }, 120_000);

  it('every example spec is a jest spec of the suite', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jestConfig = require(join(ROOT, 'jest.config.js')) as { projects: { testMatch: string[] }[] };
    const specs = filesUnder(join(ROOT, 'examples')).filter((f) => f.endsWith('.spec.ts'));
    expect(specs.length).toBeGreaterThan(0);
    expect(jestConfig.projects.flatMap((p) => p.testMatch)).toContain('<rootDir>/examples/**/*.spec.ts');
    expect(specs.map((f) => relative(ROOT, f)).every((f) => f.startsWith('examples/'))).toBe(true);
  });
});

describe('examples/quick-start against the real Redis', () => {
  let app: INestApplication;
  let store: SessionStore;
  const COOKIE = '__Host-sid';

  beforeAll(async () => {
    // Imported here, not at the top: the module creates its store from REDIS_URL when it is loaded.
    const before = process.env.REDIS_URL;
    process.env.REDIS_URL = before ?? 'redis://127.0.0.1:6379';
    const { AppModule } = await import('../../examples/quick-start/app.module').finally(() => {
      if (before === undefined) delete process.env.REDIS_URL;
    });
    app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    await app.init();
    store = app.get(SessionStore);
  });

  afterAll(async () => {
    await app?.close();
    // The module never closes a store it was given; the quick start creates it inline, so close it here.
    await store?.close();
  });

  /** The session cookie from a response, as `name=value` for a Cookie header (supertest drops Secure cookies over http). */
  function sessionCookie(res: request.Response): string {
    const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
    const line = (raw ?? []).find((c) => c.startsWith(`${COOKIE}=`));
    if (!line) throw new Error(`no ${COOKIE} cookie in ${JSON.stringify(raw)}`);
    return line.split(';')[0];
  }

  it('denies by default, logs in, reads and fills the cart, logs out', async () => {
    const http = app.getHttpServer();
    await request(http).get('/cart').expect(401);
    await request(http).post('/auth/login').send({ username: 'alice', password: 'wrong' }).expect(401);

    const login = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-correct-horse-1' }).expect(200);
    expect(login.body).toEqual({ user: { id: '1', username: 'alice' } });
    const setCookie = (login.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`${COOKIE}=`)) ?? '';
    expect(setCookie).toMatch(/; Secure/i);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; Path=\//i);
    const cookie = sessionCookie(login);

    await request(http).get('/cart').set('Cookie', cookie).expect(200, []);
    const item = { sku: 'tea-42', quantity: 2 };
    await request(http).post('/cart/items').set('Cookie', cookie).send(item).expect(201, [item]);
    await request(http).get('/cart').set('Cookie', cookie).expect(200, [item]);

    const logout = await request(http).post('/auth/logout').set('Cookie', cookie).expect(204);
    expect(logout.headers['set-cookie']).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${COOKIE}=;`))]));
    await request(http).get('/cart').set('Cookie', cookie).expect(401);
  });
});
