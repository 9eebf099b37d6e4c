/** Injection token of the app's {@link SampleConfig}. */
export const SAMPLE_CONFIG = Symbol('sample:config');
