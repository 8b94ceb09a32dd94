/**
 * Where a feature module keeps what it wired onto a container, for the CLI and tests to reach (`keysOf(c)`,
 * `schedulingOf(c)`…). A WeakMap, so a closed container's module goes with it; `of` throws when the feature's
 * register function did not run, naming the feature.
 */
export function featureSlot<T>(feature: string): { of(c: object): T; set(c: object, module: T): void } {
  const modules = new WeakMap<object, T>();
  return {
    of(c) {
      const m = modules.get(c);
      if (!m) throw new Error(`${feature} is not wired into this container`);
      return m;
    },
    set(c, module) {
      modules.set(c, module);
    },
  };
}
