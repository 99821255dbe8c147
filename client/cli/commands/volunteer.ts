import { Option, type Command } from "commander";
import { availableParallelism } from "node:os";
import type { VolunteerEvent } from "../../volunteer/index.ts";
import { ColmeiaError } from "../../api/index.ts";
import { EXIT, ExitWith, UsageError } from "../exit.ts";
import { wholeNumber } from "../input/numbers.ts";
import { printJson, withConnection, type ConnectionFlags } from "../options.ts";
import { createVolunteerView, describeEvent } from "../volunteer-view.ts";

interface VolunteerFlags extends ConnectionFlags {
  threads: string;
  dutyCycle?: string;
  key?: string;
}

/** `colmeia volunteer`: computes shards for the grid on worker threads until Ctrl-C. */
export function volunteerCommand(program: Command): void {
  withConnection(
    program
      .command("volunteer")
      .summary("compute shards for the grid")
      .description(
        "Contribute this machine: register as one volunteer and compute shards on worker threads\n" +
          "(the same kernels the browser page runs) until stopped.\n\n" +
          "Ctrl-C (or SIGTERM) stops cleanly: no new shards are taken, queued ones are given back,\n" +
          "running ones finish and their results are handed in. A second Ctrl-C abandons the\n" +
          "running shards at once (they are given back too) and exits 130.",
      )
      .addOption(new Option("--threads <n>", "worker threads (shards computed at once)").default(String(availableParallelism())))
      .option("--duty-cycle <fraction>", "share of time each thread computes, e.g. 0.5 (default 1)")
      .addOption(
        new Option("--key <key>", "one of the grid's VOLUNTEER_KEYS: register as a volunteer the operator vouches for (trusted from the start)").env(
          "COLMEIA_VOLUNTEER_KEY",
        ),
      ),
    { token: false },
  ).action(async (flags: VolunteerFlags) => {
    const threads = wholeNumber("--threads", flags.threads);
    const dutyCycle = flags.dutyCycle === undefined ? undefined : Number(flags.dutyCycle);
    if (dutyCycle !== undefined && !(dutyCycle > 0 && dutyCycle <= 1)) {
      throw new UsageError(`--duty-cycle must be a fraction in (0, 1], got ${JSON.stringify(flags.dutyCycle)}`);
    }
    // Caught from the start, so even a Ctrl-C during registration ends with leases given back.
    let signals = 0;
    let onSignal = () => {};
    const signalled = () => (signals++, onSignal());
    for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(name, signalled);

    // Loaded here, not at startup: only this command needs worker threads and the scheduling core.
    const { startNodeVolunteer } = await import("../../node/volunteer.ts");
    const { createRateMeter } = await import("../../volunteer/index.ts");
    const view = createVolunteerView(process.stderr);
    const rate = createRateMeter();
    const onEvent = (event: VolunteerEvent) => {
      if (event.type === "accepted") rate.add(event.leaseIds.length);
      const text = signals === 0 && !flags.json ? describeEvent(event) : undefined;
      if (text) view.note(text);
    };

    if (flags.key === "") throw new UsageError("--key must not be empty");
    const volunteer = await startNodeVolunteer({ url: flags.url, threads, dutyCycle, key: flags.key, onEvent }).catch((error: unknown) => {
      // An unreachable coordinator already says so; a refusal is worded as the registration it refused.
      if (!(error instanceof ColmeiaError) || error.status === 0) throw error;
      throw new ColmeiaError(error.status, error.code, `could not register as a volunteer: ${error.message}`, error.retryAfterMs);
    });
    const { loop, identity } = volunteer;
    const as = `${identity.id}${flags.key === undefined ? "" : " (vouched for by key)"}`;
    if (!flags.json) view.note(`Volunteering for ${flags.url} as ${as} with ${threads} thread${threads === 1 ? "" : "s"} (Ctrl-C to stop)`);
    const ticker = flags.json ? undefined : setInterval(() => view.update(loop.status(), rate.perSecond()), 500);

    // First signal: stop gracefully. Second: abandon what is running. Both give every lease back.
    let handled = 0;
    await new Promise<void>((resolve) => {
      onSignal = () => {
        if (handled === 0 && signals >= 1) {
          handled = 1;
          const running = loop.status().running.length;
          if (!flags.json)
            view.note(
              `Stopping: ${running ? `finishing ${running} running shard${running === 1 ? "" : "s"}, ` : ""}handing in results (Ctrl-C again to abandon)`,
            );
          volunteer.stop().then(resolve, resolve);
        }
        if (handled === 1 && signals >= 2) {
          handled = 2;
          if (!flags.json) view.note("Abandoning running shards and giving them back");
          volunteer.abandon().then(resolve, resolve);
        }
      };
      onSignal();
    });
    clearInterval(ticker);
    const s = loop.status();
    const summary = { volunteer: identity.id, computed: s.computed, accepted: s.accepted, rejected: s.rejected, kernelErrors: s.kernelErrors };
    if (flags.json) printJson(summary);
    else {
      view.update(s, rate.perSecond());
      view.close();
      process.stderr.write(`Stopped. ${s.accepted} result${s.accepted === 1 ? "" : "s"} accepted, ${s.computed} computed.\n`);
    }
    if (handled === 2) throw new ExitWith(EXIT.interrupted);
  });
}
