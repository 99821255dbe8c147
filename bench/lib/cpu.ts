import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";

/** Linux clock ticks per second (USER_HZ); 100 on every mainstream kernel. */
const TICKS = 100;

/** CPU seconds (user + system) of every descendant of this process: the server tree (start.mjs, wrangler, workerd). */
function childrenCpuSeconds(): number | undefined {
  let procs: string[];
  try {
    procs = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined; // not Linux
  }
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const pid of procs) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the parenthesised command name: state ppid … utime(14) stime(15).
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(pid), Number(rest[1]));
      cpu.set(Number(pid), (Number(rest[11]) + Number(rest[12])) / TICKS);
    } catch {}
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

export interface CpuReport {
  /** CPU use of the server's processes, in % of one core (200% = both of 2 cores). */
  serverPct: number | undefined;
  /** CPU use of this load generator, in % of one core. */
  clientPct: number;
  /** 99th percentile event-loop delay of the load generator, ms (its own queueing, part of every latency). */
  clientLagP99Ms: number;
}

/** Measures server and client CPU between start() and stop(). */
export class CpuMeter {
  #wall = 0;
  #server: number | undefined;
  #client = process.cpuUsage();
  #lag = monitorEventLoopDelay({ resolution: 10 });

  start(): void {
    this.#wall = performance.now();
    this.#server = childrenCpuSeconds();
    this.#client = process.cpuUsage();
    this.#lag.reset();
    this.#lag.enable();
  }

  stop(): CpuReport {
    const wall = (performance.now() - this.#wall) / 1000;
    const server = childrenCpuSeconds();
    const client = process.cpuUsage(this.#client);
    this.#lag.disable();
    return {
      serverPct: server !== undefined && this.#server !== undefined ? ((server - this.#server) / wall) * 100 : undefined,
      clientPct: ((client.user + client.system) / 1e6 / wall) * 100,
      clientLagP99Ms: this.#lag.percentile(99) / 1e6,
    };
  }
}

/** One line about the machine the numbers came from. */
export function hostLine(): string {
  const [l1, l5] = loadavg();
  return `${availableParallelism()} CPU core(s) shared by the load generator and the server; load average before the run ${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min); Node ${process.version}`;
}
