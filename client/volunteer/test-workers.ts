import type { ComputeReply, KernelTask, KernelWorker } from "./pool.ts";

/** Behaviour of a fake kernel worker, chosen per task. */
export type FakeBehaviour =
  | { output: unknown; ms?: number }
  | { throws: string }
  | { hangs: true }
  | { crashes: string }
  | { cannotRun: string }
  /** Answers this as the reply itself, whatever it is (a worker whose kernel forged its reply). */
  | { reply: unknown };

/**
 * Spawns in-process fake KernelWorkers for unit tests: `behave` decides what each task does.
 * `spawned` and `terminated` count worker lifecycles.
 */
export function fakeWorkers(behave: (task: KernelTask) => FakeBehaviour) {
  const stats = { spawned: 0, terminated: 0 };
  const spawn = (): KernelWorker => {
    stats.spawned++;
    let dead = false;
    return {
      async compute(task): Promise<ComputeReply> {
        const b = behave(task);
        if ("hangs" in b) return new Promise(() => {});
        if ("crashes" in b) throw new Error(b.crashes);
        if ("throws" in b) return { ok: false, error: b.throws };
        if ("cannotRun" in b) return { ok: false, error: b.cannotRun, cannotRun: true };
        if ("reply" in b) return b.reply as ComputeReply;
        if (b.ms) await new Promise((r) => setTimeout(r, b.ms));
        if (dead) return new Promise(() => {});
        return { ok: true, output: b.output };
      },
      terminate() {
        dead = true;
        stats.terminated++;
      },
    };
  };
  return { spawn, stats };
}
