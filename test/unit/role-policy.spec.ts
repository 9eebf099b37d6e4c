import { RolePolicy } from '../../lib/rbac/role-policy';

describe('RolePolicy', () => {
  const policy = new RolePolicy(
    { admin: ['editor'], editor: ['user'], auditor: ['viewer'] },
    { user: ['cart:write'], editor: ['posts:edit'], admin: ['users:manage'], viewer: ['events:read'] },
  );

  it('follows the hierarchy transitively', () => {
    expect(policy.hasRole(['admin'], 'user')).toBe(true);
    expect(policy.hasRole(['editor'], 'user')).toBe(true);
    expect(policy.hasRole(['user'], 'editor')).toBe(false);
    expect(policy.hasRole(['auditor'], 'user')).toBe(false);
    expect(policy.expand(['admin'])).toEqual(['admin', 'editor', 'user']);
  });

  it('needs one of the required roles, and an empty requirement passes', () => {
    expect(policy.hasAnyRole(['user'], ['admin', 'user'])).toBe(true);
    expect(policy.hasAnyRole(['viewer'], ['admin', 'user'])).toBe(false);
    expect(policy.hasAnyRole([], [])).toBe(true);
    expect(policy.hasAnyRole([], ['user'])).toBe(false);
  });

  it('grants the permissions of included roles, and needs all required ones', () => {
    expect(policy.permissionsOf(['admin'])).toEqual(['cart:write', 'posts:edit', 'users:manage']);
    expect(policy.hasAllPermissions(['admin'], ['users:manage', 'cart:write'])).toBe(true);
    expect(policy.hasAllPermissions(['editor'], ['users:manage'])).toBe(false);
    expect(policy.hasAllPermissions(['user', 'viewer'], ['cart:write', 'events:read'])).toBe(true);
  });

  it('treats a role it does not know as itself, with no permissions', () => {
    expect(policy.hasRole(['ghost'], 'ghost')).toBe(true);
    expect(policy.hasRole(['ghost'], 'user')).toBe(false);
    expect(policy.hasAllPermissions(['ghost'], ['cart:write'])).toBe(false);
  });

  it('terminates on cycles, making the roles equivalent', () => {
    const cyclic = new RolePolicy({ a: ['b'], b: ['a'] });
    expect(cyclic.hasRole(['a'], 'b')).toBe(true);
    expect(cyclic.hasRole(['b'], 'a')).toBe(true);
  });
});
