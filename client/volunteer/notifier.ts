/** A wake-up call between loops: `wait()` resolves at the next `notify()` (or when `signal` aborts). */
export interface Notifier {
  wait(signal?: AbortSignal): Promise<void>;
  notify(): void;
}

/**
 * Creates a Notifier. Callers check their condition and then wait, with no `await` in between,
 * so a notify can never fall into the gap.
 */
export function createNotifier(): Notifier {
  let waiters: Array<() => void> = [];
  return {
    wait(signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const done = () => {
          signal?.removeEventListener("abort", done);
          resolve();
        };
        waiters.push(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    },
    notify() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
  };
}
