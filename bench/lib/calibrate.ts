import { sleep, type JsonClient } from "./http.ts";
import { Samples, type Summary } from "./stats.ts";

export interface Calibration {
  clients: number;
  requestsPerSec: number;
  latency: Summary;
  errors: number;
}

/**
 * The stack's floor on this machine: GET /healthz (routing only, no Durable Object, no storage)
 * from `clients` closed-loop clients. Whatever the coordinator's own requests cost is on top of
 * this, so it tells how much of a result is the machine and wrangler dev rather than Colmeia.
 */
export async function calibrate(http: JsonClient, clients: number, warmupMs: number, measureMs: number): Promise<Calibration> {
  const samples = new Samples();
  let errors = 0;
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.POSITIVE_INFINITY;
  let stopped = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      const r = await http.call("GET", "/healthz");
      if (r.end < t0 || r.end > t1) continue;
      samples.add(r.ms);
      if (r.status !== 200) errors++;
    }
  });
  await sleep(warmupMs);
  t0 = performance.now();
  await sleep(measureMs);
  t1 = performance.now();
  stopped = true;
  await Promise.all(loops);
  return { clients, requestsPerSec: samples.count / ((t1 - t0) / 1000), latency: samples.summary(), errors };
}
