import { createVolunteerLoop } from "../volunteer/loop.ts";
import { createModuleLoader } from "../volunteer/modules.ts";
import { createMemoryOutbox } from "../volunteer/outbox.ts";
import { createKernelPool } from "../volunteer/pool.ts";
import { createRateMeter } from "../volunteer/rate.ts";
import { createSessionApi } from "../volunteer/session-api.ts";
import type { PendingResult, VolunteerEvent } from "../volunteer/types.ts";
import { bindControls, type ControlValues } from "./controls.ts";
import { createIdbOutbox } from "./idb-outbox.ts";
import { cacheApiModuleStore } from "./module-cache.ts";
import { sendClosingRequests } from "./page-close.ts";
import { parseSettings } from "./settings.ts";
import { createStatsStore, idbIdentity, loadSettings, openVolunteerDb, saveSettings, type VolunteerDatabase } from "./store.ts";
import { createProblemLog, createView } from "./view.ts";
import { dedicateWorker, spawnWebKernelWorker } from "./web-pool.ts";

/** The volunteer page: wires the scheduling core to Web Workers, IndexedDB and the DOM. */
async function main() {
  const problems = createProblemLog();
  const view = createView();

  let db: VolunteerDatabase | undefined;
  try {
    db = await openVolunteerDb();
  } catch (err) {
    problems.add(`IndexedDB is unavailable (${(err as Error).message}): results will not survive closing this tab.`);
  }
  const settings = parseSettings(location.search, await loadSettings(db).catch(() => ({})));
  const stats = createStatsStore(db);
  await stats.load().catch(() => {});
  const store = db ? await createIdbOutbox(db) : { outbox: createMemoryOutbox(), mirror: new Map<string, PendingResult>() };

  const identityStore = idbIdentity(db);
  const stored = await identityStore.load().catch(() => undefined);
  // Leases, results, heartbeats and releases over one WebSocket session, work pushed; HTTP when no session opens.
  const api = createSessionApi({ baseUrl: location.origin, identity: identityStore });
  const pool = createKernelPool({
    spawn: () => spawnWebKernelWorker(),
    size: settings.threads,
    timeoutMs: settings.shardTimeoutMs,
    dedicate: dedicateWorker,
  });
  const modules = createModuleLoader({ api, store: cacheApiModuleStore() });
  const rate = createRateMeter(5_000);
  let visit = 0;
  let serverCredit: number | undefined;
  let acceptedAt = 0;
  let lastProblem = "";
  const problem = (message: string) => {
    if (message !== lastProblem) problems.add(message);
    lastProblem = message;
  };

  const onEvent = (e: VolunteerEvent) => {
    if (e.type === "computed") visit++, rate.add(), stats.bump({ computed: 1 });
    else if (e.type === "accepted") stats.bump({ accepted: e.leaseIds.length }), (acceptedAt = Date.now()), creditSoon();
    else if (e.type === "rejected") problem(`The coordinator refused a result (${e.status}): ${e.message}`);
    else if (e.type === "kernel-error") {
      const what = e.reason === "timeout" ? "took too long" : e.reason === "module" ? "could not start" : "failed";
      const then = e.reported ? "Reported to the coordinator as this shard's result." : "It was handed back.";
      problem(`Shard ${e.lease.shardId} of job ${e.lease.jobId} (${e.lease.kernel}) ${what}: ${e.message}. ${then}`);
    } else if (e.type === "error" && !/unreachable/.test(e.message)) problem(e.message);
    scheduleRender();
  };
  const loop = createVolunteerLoop({
    api,
    pool,
    modules,
    outbox: store.outbox,
    threads: settings.threads,
    dutyCycle: settings.dutyCycle,
    shardTimeoutMs: settings.shardTimeoutMs,
    onEvent,
  });

  let values: ControlValues = settings;
  let wanted = settings.autostart;
  let hiddenPause = false;
  const apply = () => {
    const hidden = values.onlyVisible && document.visibilityState === "hidden";
    hiddenPause = wanted && hidden;
    if (wanted && !hidden) loop.start();
    else loop.pause();
    scheduleRender();
  };

  // biome-ignore lint/correctness/noUnusedVariables: read by `||=` (one frame requested at a time)
  let frame = 0;
  function scheduleRender() {
    frame ||= requestAnimationFrame(render);
  }
  function render() {
    frame = 0;
    view.render({
      status: loop.status(),
      wanted,
      hiddenPause,
      shardsThisVisit: visit,
      shardsAllTime: stats.get().computed,
      ratePerSecond: rate.perSecond(),
      credit: serverCredit ?? stats.get().accepted,
      volunteerId: (api.currentIdentity() ?? stored)?.id,
      now: Date.now(),
    });
  }

  bindControls(values, Math.max(navigator.hardwareConcurrency || 2, 1), {
    toggle() {
      wanted = !wanted;
      apply();
    },
    change(next) {
      if (next.threads !== values.threads) loop.setThreads(next.threads);
      if (next.dutyCycle !== values.dutyCycle) loop.setDutyCycle(next.dutyCycle);
      values = next;
      apply();
      void saveSettings(db, next).catch(() => {});
    },
  });

  // Credit from the coordinator when it offers GET /v1/volunteers/me; else the local count.
  let meOffered = true;
  let polledAt = 0;
  let creditTimer: ReturnType<typeof setTimeout> | undefined;
  async function pollCredit() {
    if (!meOffered || !(api.currentIdentity() ?? stored)) return;
    polledAt = Date.now();
    try {
      const me = await api.me();
      if (me === null) meOffered = false;
      else if (typeof me.credit === "number") serverCredit = me.credit;
    } catch {}
    scheduleRender();
  }
  /** After results were accepted: ask now if we have not lately, else once they stop coming. */
  function creditSoon() {
    clearTimeout(creditTimer);
    if (Date.now() - polledAt > 5000) void pollCredit();
    else creditTimer = setTimeout(() => void pollCredit(), 1000);
  }

  document.addEventListener("visibilitychange", apply);
  window.addEventListener("pagehide", (event) => {
    const identity = api.currentIdentity();
    if (identity) sendClosingRequests(identity, loop.heldLeases(), [...store.mirror.values()]);
    void stats.flush();
    if (event.persisted) loop.pause();
    // Gone for good: close the session now, while the page can still say so. A socket merely torn
    // down with the page is noticed by the coordinator a little later, and a job starting meanwhile
    // is pushed to this waiting session: those shards would wait out their leases.
    else api.close?.();
  });
  window.addEventListener("pageshow", (event) => event.persisted && apply());
  setInterval(render, 1000);
  // Not once idle for a minute: an idle volunteer sends nothing (its credit settles soon after its last results).
  setInterval(() => {
    if (!loop.status().waitingForWork || Date.now() - acceptedAt < 60_000) void pollCredit();
  }, 15_000);
  void pollCredit();
  apply();
  render();
}

main().catch((err) => {
  const state = document.getElementById("state");
  if (state) state.textContent = `The volunteer page failed to start: ${(err as Error).message ?? err}`;
  console.error(err);
});
