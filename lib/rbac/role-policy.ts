/**
 * Role hierarchy and permissions, compiled once at start-up into lookup sets: a guarded request then costs a few
 * set lookups, never a walk of the hierarchy. Framework-free.
 */
export class RolePolicy {
  /** Every role each role stands for, itself included (transitive closure of the hierarchy). */
  private readonly closure = new Map<string, ReadonlySet<string>>();
  /** Every permission each role grants, with those of the roles it includes. */
  private readonly grants = new Map<string, ReadonlySet<string>>();

  /**
   * @param hierarchy roles each role includes: `{ admin: ['user'] }` (transitive; cycles make roles equivalent)
   * @param permissions permissions each role grants: `{ user: ['cart:write'] }`
   */
  constructor(hierarchy: Record<string, readonly string[]> = {}, permissions: Record<string, readonly string[]> = {}) {
    const names = new Set<string>([...Object.keys(hierarchy), ...Object.values(hierarchy).flat(), ...Object.keys(permissions)]);
    for (const role of names) {
      const reached = new Set<string>([role]);
      const queue = [role];
      while (queue.length > 0) {
        for (const next of hierarchy[queue.pop()!] ?? []) {
          if (!reached.has(next)) {
            reached.add(next);
            queue.push(next);
          }
        }
      }
      this.closure.set(role, reached);
      const granted = new Set<string>();
      for (const r of reached) for (const p of permissions[r] ?? []) granted.add(p);
      this.grants.set(role, granted);
    }
  }

  /** Whether a holder of `held` has `role`, directly or through the hierarchy. */
  hasRole(held: readonly string[], role: string): boolean {
    for (const h of held) {
      if (h === role || this.closure.get(h)?.has(role)) return true;
    }
    return false;
  }

  /** Whether a holder of `held` has at least one of `required` (an empty list is satisfied). */
  hasAnyRole(held: readonly string[], required: readonly string[]): boolean {
    return required.length === 0 || required.some((role) => this.hasRole(held, role));
  }

  /** Whether the roles in `held` grant every permission in `required`. */
  hasAllPermissions(held: readonly string[], required: readonly string[]): boolean {
    return required.every((permission) => held.some((h) => this.grants.get(h)?.has(permission) === true));
  }

  /** Every role `held` stands for (for display and audits), sorted. */
  expand(held: readonly string[]): string[] {
    const all = new Set<string>();
    for (const h of held) for (const r of this.closure.get(h) ?? [h]) all.add(r);
    return [...all].sort();
  }

  /** Every permission `held` grants, sorted. */
  permissionsOf(held: readonly string[]): string[] {
    const all = new Set<string>();
    for (const h of held) for (const p of this.grants.get(h) ?? []) all.add(p);
    return [...all].sort();
  }
}
