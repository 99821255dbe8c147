import type { Command } from "commander";
import type { ColmeiaClient, JobCreatedAnswer, JobSpec } from "../../api/index.ts";
import { follow } from "../follow.ts";
import { formatCount } from "../format.ts";
import { UsageError } from "../exit.ts";
import { DEFAULT_CHUNK, jobSpecs, type SpecFlags } from "../job-spec.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

/** Submits every part in order; if one is refused, cancels the parts already running. */
async function submitAll(client: ColmeiaClient, specs: JobSpec[]): Promise<JobCreatedAnswer[]> {
  const created: JobCreatedAnswer[] = [];
  try {
    for (const spec of specs) created.push(await client.submit(spec));
  } catch (error) {
    if (created.length === 0) throw error;
    await Promise.allSettled(created.map((job) => client.cancel(job.id)));
    (error as Error).message += ` (part ${created.length + 1} of ${specs.length}; cancelled the ${created.length} already submitted)`;
    throw error;
  }
  return created;
}

/** `colmeia submit <kernel> ...`: creates a job from a range, a JSONL file or a text file. */
export function submitCommand(program: Command): void {
  withConnection(
    program
      .command("submit")
      .summary("submit a job")
      .description(
        "Submit a job. Shards come from exactly one of --range, --shards, --file or\n--dataset (a dataset uploaded with colmeia dataset upload).\n\n" +
          "Examples:\n" +
          "  colmeia submit primes.count --range 0:10_000_000:100_000 --watch\n" +
          "  colmeia submit wordcount --file corpus.txt --chunk 64KiB --replicas 2 --quorum 2\n" +
          "  colmeia submit primes.count --shards shards.jsonl --json\n" +
          "  colmeia submit wordcount --dataset d_... --chunk 1MiB --watch\n" +
          "  colmeia submit k_0123456789abcdef0123456789abcdef --range 0:1e8:1e6   (a kernel you published)",
      )
      .argument("<kernel>", "kernel to run: a built-in (primes.count, wordcount) or a published kernel's id (k_...)")
      .option("--range <start:end:step>", "numeric range cut into shards of `step` numbers")
      .option("--shards <file.jsonl>", "one shard input (JSON) per line; - reads stdin")
      .option("--file <text>", 'UTF-8 text cut into {"text"} shards at line boundaries (wordcount); - reads stdin')
      .option("--dataset <id>", "a dataset (d_...) cut into shards of --chunk bytes at line ends")
      .option("--chunk <size>", `shard size for --file (default ${DEFAULT_CHUNK}) or --dataset (default 1MiB), e.g. 256KiB`)
      .option("--replicas <n>", "distinct volunteers that compute each shard")
      .option("--quorum <n>", "matching outputs needed to accept a shard (default: --replicas)")
      .option("--max-replicas <n>", "most replicas issued when outputs disagree")
      .option("--params <json>", "kernel parameters as a JSON object")
      .option("--lease-ttl <duration>", "how long a volunteer may hold a shard, e.g. 90s, 2m")
      .option("--label <text>", "a note shown in list and status (default: the file's name)")
      .option("--priority <n>", "among your running jobs, higher goes first (-100 to 100, default 0)")
      .option("--notify <url>", "webhook the coordinator POSTs to when the job ends")
      .option("--split-jobs", "when the shards exceed one job's size limit, submit several jobs")
      .option("--watch", "show a live progress bar until the job ends; exit 3 if it fails or is cancelled")
      .option("-q, --quiet", "print only the job id(s), e.g. JOB=$(colmeia submit ... --watch --quiet)"),
  ).action(async (kernel: string, flags: ConnectionFlags & SpecFlags & { watch?: boolean; quiet?: boolean }) => {
    if (flags.quiet && flags.json) throw new UsageError("give only one of --quiet and --json");
    const specs = jobSpecs(kernel, flags);
    const client = submitterFrom(flags);
    const created = await submitAll(client, specs);
    const ids = created.map((job) => job.id);

    if (flags.watch) {
      if (flags.quiet) return follow(client, ids, "quiet");
      if (!flags.json) {
        const shards = created.reduce((sum, job) => sum + job.shards.total, 0);
        process.stderr.write(
          `Submitted ${ids.length === 1 ? `job ${ids[0]}` : `${ids.length} jobs: ${ids.join(" ")}`} (${kernel}, ${formatCount(shards)} shards)\n`,
        );
      }
      return follow(client, ids, flags.json ? "json" : "human");
    }
    if (flags.json) return printJson(created.length === 1 ? created[0] : { jobs: created });
    if (flags.quiet) return void process.stdout.write(`${ids.join("\n")}\n`);
    for (const job of created) {
      process.stdout.write(`Submitted job ${job.id} (${kernel}, ${formatCount(job.shards.total)} shards)\n`);
    }
    process.stdout.write(`Follow it: colmeia status ${ids.join(" ")} --watch\n`);
  });
}
