import type { Command } from "commander";
import { basename } from "node:path";
import { LIMITS } from "../../../shared/limits.ts";
import { DatasetName } from "../../../shared/schemas.ts";
import { UsageError } from "../exit.ts";
import { formatDuration } from "../format.ts";
import { formatDataset, formatDatasetList } from "../format-datasets.ts";
import { formatSize, sizeFlag } from "../input/size.ts";
import { interruptSignal, printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";
import { uploadFile } from "../upload.ts";
import { DEFAULT_PART } from "../upload-plan.ts";
import { byteProgress } from "../upload-progress.ts";
import { stateDir, uploadState } from "../upload-state.ts";

interface UploadFlags extends ConnectionFlags {
  name?: string;
  partSize?: string;
}

/** The dataset's name: `--name`, else the file's own, as the coordinator takes it. */
function datasetName(file: string, given?: string): string {
  const name = given ?? basename(file);
  const parsed = DatasetName.safeParse(name);
  if (!parsed.success)
    throw new UsageError(`${given === undefined ? "the file's name" : "--name"} ${JSON.stringify(name)}: ${parsed.error.issues[0]?.message}`);
  return name;
}

/** `colmeia dataset upload|list|show|rm`: data files jobs read. */
export function datasetCommand(program: Command): void {
  const dataset = program
    .command("dataset")
    .summary("upload and manage datasets")
    .description(
      "Upload a data file once, then run jobs over it: each shard is a chunk of\n" +
        "whole lines (records) of the file.\n\n" +
        "Examples:\n" +
        "  colmeia dataset upload orders.jsonl\n" +
        "  colmeia dataset upload events.csv --part-size 64MiB   (rerun to resume)\n" +
        "  colmeia dataset list\n" +
        "  colmeia submit records.aggregate --dataset d_... --chunk 1MiB \\\n" +
        '      --params \'{"format":"jsonl","groupBy":["category"]}\' --watch\n' +
        "  colmeia dataset rm d_...",
    );

  withConnection(
    dataset
      .command("upload")
      .summary("upload a file as a dataset")
      .description(
        `Upload a file as a dataset. Files up to ${formatSize(LIMITS.datasetBodyBytes)} go up in one streamed body;\n` +
          `larger ones (or larger than --part-size when given) in parts, resumably:\n` +
          "run the same command again after an interruption and it continues where it\n" +
          "stopped (unfinished uploads are kept 24 hours; state in $COLMEIA_STATE_DIR,\n" +
          "default ~/.colmeia). The SHA-256 the coordinator computes is checked against\n" +
          "the file's. Prints the dataset's id (d_...).",
      )
      .argument("<file>", "the file to upload (JSON Lines, CSV, text)")
      .option("--name <name>", "the dataset's name (default: the file's name)")
      .option(
        "--part-size <size>",
        `part size of a multipart upload, ${formatSize(LIMITS.partBytes.min)} to ${formatSize(LIMITS.partBytes.max)} (default ${DEFAULT_PART})`,
      ),
  ).action(async (file: string, flags: UploadFlags) => {
    const name = datasetName(file, flags.name);
    const partBytes = flags.partSize === undefined ? undefined : sizeFlag("--part-size", flags.partSize, LIMITS.partBytes.min, LIMITS.partBytes.max);
    const client = submitterFrom(flags);
    const interrupt = interruptSignal();
    const started = Date.now();
    try {
      const answer = await uploadFile({
        client,
        url: flags.url,
        file,
        name,
        partBytes,
        state: uploadState(stateDir()),
        progress: (total) => byteProgress(total, { stream: process.stderr, quiet: flags.json }),
        log: (line, always) => void ((always || !flags.json) && process.stderr.write(`${line}\n`)),
        signal: interrupt.signal,
      });
      if (flags.json) return printJson(answer);
      const took = formatDuration(Date.now() - started);
      process.stderr.write(`Uploaded ${answer.name} (${formatSize(answer.bytes)}, sha256 ${answer.sha256.slice(0, 16)}…) in ${took}:\n`);
      process.stdout.write(`${answer.id}\n`);
    } finally {
      interrupt.dispose();
    }
  });

  withConnection(dataset.command("list").summary("list datasets").description("List the datasets this token uploaded.")).action(
    async (flags: ConnectionFlags) => {
      const answer = await submitterFrom(flags).datasets();
      if (flags.json) return printJson(answer);
      process.stdout.write(`${formatDatasetList(answer.datasets)}\n`);
    },
  );

  withConnection(dataset.command("show").summary("show a dataset").description("Show one dataset.").argument("<id>", "a dataset id (d_...)")).action(
    async (id: string, flags: ConnectionFlags) => {
      const answer = await submitterFrom(flags).dataset(id);
      if (flags.json) return printJson(answer);
      process.stdout.write(`${formatDataset(answer)}\n`);
    },
  );

  withConnection(
    dataset
      .command("rm")
      .summary("delete a dataset")
      .description("Delete a dataset. Refused while a running job reads it (cancel the job first).")
      .argument("<id>", "a dataset id (d_...)"),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const answer = await submitterFrom(flags).deleteDataset(id);
    if (flags.json) return printJson(answer);
    process.stdout.write(`Deleted dataset ${id}\n`);
  });
}
