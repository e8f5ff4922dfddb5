// Slows down password guessing: after `maxFailures` failed logins from one address within
// `windowMs`, further attempts from it are refused (429 with Retry-After) until the window has
// passed since the latest failure. A successful login clears the address's count.
export interface LoginThrottle {
  /** Seconds to wait when the address is locked out, else 0. */
  retryAfter(address: string, now?: number): number;
  failed(address: string, now?: number): void;
  succeeded(address: string): void;
}

export function createLoginThrottle(opts: { maxFailures?: number; windowMs?: number } = {}): LoginThrottle {
  const maxFailures = opts.maxFailures ?? 5;
  const windowMs = opts.windowMs ?? 60_000;
  const failures = new Map<string, number[]>();
  const recent = (address: string, now: number): number[] => {
    const list = (failures.get(address) ?? []).filter((t) => now - t < windowMs);
    if (list.length) failures.set(address, list);
    else failures.delete(address);
    return list;
  };
  return {
    retryAfter(address, now = Date.now()) {
      const list = recent(address, now);
      if (list.length < maxFailures) return 0;
      return Math.max(1, Math.ceil((list[list.length - 1] + windowMs - now) / 1000));
    },
    failed(address, now = Date.now()) {
      const list = recent(address, now);
      list.push(now);
      failures.set(address, list);
      // Bounded memory: a flood of addresses cannot grow this map without end.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string);
    },
    succeeded(address) {
      failures.delete(address);
    },
  };
}
