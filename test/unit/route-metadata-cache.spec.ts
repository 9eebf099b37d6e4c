import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RouteMetadataCache } from '../../lib/guards/route-context';

class A {
  one() {}
  two() {}
}
class B extends A {}

const contextOf = (cls: new () => object, handler: () => void) => new ExecutionContextHost([], cls as never, handler);

describe('RouteMetadataCache', () => {
  it('answers each (handler, class) pair with its own value, reading each pair once, in any order', () => {
    const read = jest.fn(
      (targets: [unknown, unknown]) => `${(targets[1] as { name: string }).name}.${(targets[0] as { name: string }).name}`,
    );
    const cache = new RouteMetadataCache<string>(read);
    const order: Array<[new () => object, () => void, string]> = [
      [A, A.prototype.one, 'A.one'],
      [A, A.prototype.one, 'A.one'],
      [A, A.prototype.two, 'A.two'],
      [B, A.prototype.one, 'B.one'],
      [A, A.prototype.one, 'A.one'],
      [B, A.prototype.two, 'B.two'],
      [B, A.prototype.one, 'B.one'],
      [A, A.prototype.two, 'A.two'],
    ];
    for (const [cls, handler, expected] of order) expect(cache.get(contextOf(cls, handler))).toBe(expected);
    expect(read).toHaveBeenCalledTimes(4);
  });

  it('keeps a null answer as an answer', () => {
    const read = jest.fn(() => null);
    const cache = new RouteMetadataCache<null>(read);
    cache.get(contextOf(A, A.prototype.one));
    cache.get(contextOf(A, A.prototype.two));
    cache.get(contextOf(A, A.prototype.one));
    expect(read).toHaveBeenCalledTimes(2);
  });
});
