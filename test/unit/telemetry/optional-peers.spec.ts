/**
 * prom-client and @opentelemetry/api are optional peers: with neither installed (each made to fail to load here, as a
 * missing module does) the main entry loads and the module resolves its options; asking for metrics then stops
 * start-up with "npm install prom-client"; tracing quietly stays off.
 */
const missing = (name: string) => () => {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
};

describe('without prom-client and @opentelemetry/api installed', () => {
  let lib: typeof import('../../../lib');
  let options: typeof import('../../../lib/session.options');
  let tracing: typeof import('../../../lib/telemetry/tracing');

  beforeAll(() => {
    jest.resetModules();
    jest.doMock('prom-client', missing('prom-client'));
    jest.doMock('@opentelemetry/api', missing('@opentelemetry/api'));
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports -- the modules must load after doMock, inside isolateModules */
      lib = require('../../../lib');
      options = require('../../../lib/session.options');
      tracing = require('../../../lib/telemetry/tracing');
      /* eslint-enable @typescript-eslint/no-require-imports */
    });
  });
  afterAll(() => {
    jest.dontMock('prom-client');
    jest.dontMock('@opentelemetry/api');
  });

  it('loads the main entry and resolves options with metrics off', () => {
    expect(typeof lib.SessionModule).toBe('function');
    expect(options.resolveSessionOptions({}).metrics).toBeUndefined();
  });

  it('stops start-up with the install command when metrics are asked for', () => {
    const registry = { getSingleMetric: () => undefined, registerMetric: () => undefined, metrics: async () => '' };
    expect(() => options.resolveSessionOptions({ metrics: { registry } })).toThrow(
      'metrics needs the optional peer dependency prom-client: npm install prom-client (or leave metrics out)',
    );
  });

  it('has no tracer, whatever the tracing option', () => {
    expect(tracing.loadOtelApi()).toBeUndefined();
    expect(tracing.resolveTracer(true)).toBeUndefined();
  });
});
