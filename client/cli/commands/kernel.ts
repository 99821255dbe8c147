import type { Command } from "commander";
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { CompareSpec, ReduceSpec } from "../../../shared/schemas.ts";
import type { KernelSpec } from "../../api/index.ts";
import { UsageError } from "../exit.ts";
import { describeReduce, formatKernel, formatKernelList } from "../format-kernels.ts";
import { jsonObject } from "../input/numbers.ts";
import { defaultKernelName, readKernelFile } from "../input/kernel-file.ts";
import { formatSize } from "../input/size.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

interface PublishFlags extends ConnectionFlags {
  reduce: string;
  name?: string;
  output?: string;
  compare?: string;
  description?: string;
}

/** A flag's JSON checked by a shared wire schema, or a usage error naming the flag. */
function checked<S extends z.ZodType>(flag: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` ${issue.path.join(".")}` : "";
    throw new UsageError(`${flag}${where}: ${issue?.message ?? "invalid"} (got ${JSON.stringify(value)})`);
  }
  return parsed.data;
}

/** `--reduce sum|min|max|collect` or a JSON object of one op per top-level field. */
function parseReduce(text: string): ReduceSpec {
  const value = text.trim().startsWith("{") ? jsonObject("--reduce", text) : text.trim();
  const problem = 'must be sum, min, max, collect or a JSON object such as \'{"inside":"sum","peak":"max"}\'';
  const parsed = ReduceSpec.safeParse(value);
  if (!parsed.success) throw new UsageError(`--reduce ${problem}, got ${JSON.stringify(text)}`);
  return parsed.data;
}

function readSchema(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--output ${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  return jsonObject(`--output ${path}`, text);
}

/** The `POST /v1/kernels` body for a file and these flags (the file is read, and bundled when it is a script). */
export async function publishBody(file: string, flags: Omit<PublishFlags, keyof ConnectionFlags>): Promise<KernelSpec> {
  const reduce = parseReduce(flags.reduce);
  const output = flags.output === undefined ? undefined : readSchema(flags.output);
  const compare = flags.compare === undefined ? undefined : checked("--compare", CompareSpec, jsonObject("--compare", flags.compare));
  const name = flags.name ?? defaultKernelName(file);
  const code = await readKernelFile(file);
  return {
    name,
    ...(code.language === "js" ? { language: "js", source: code.source } : { language: "wasm", wasm: code.wasm }),
    reduce,
    ...(flags.description !== undefined && { description: flags.description }),
    ...(output !== undefined && { output }),
    ...(compare !== undefined && { compare }),
  };
}

/** `colmeia kernel publish|list|show`: kernels you bring. */
export function kernelCommand(program: Command): void {
  const kernel = program
    .command("kernel")
    .summary("publish and list kernels")
    .description(
      "Publish your own kernels (js/1 or wasm/1 modules) and list the kernels\n" +
        "you can submit jobs to.\n\n" +
        "Examples:\n" +
        "  colmeia kernel publish ./pi.ts --reduce sum --name monte-carlo-pi\n" +
        '  colmeia kernel publish ./hist.wasm --reduce \'{"counts":"sum","peak":"max"}\'\n' +
        "  colmeia kernel list",
    );

  withConnection(
    kernel
      .command("publish")
      .summary("publish a kernel")
      .description(
        "Publish a kernel. A .ts/.mts/.js/.mjs file is bundled with everything it\n" +
          "imports into one readable ES module (js/1: it exports compute(input, params));\n" +
          "a .wasm file is sent as it is (wasm/1).\n\n" +
          "Prints the kernel's id (k_...), the same every time the same kernel is\n" +
          "published. Run it with: colmeia submit k_... --range start:end:step",
      )
      .argument("<file>", "the kernel: .ts, .mts, .js, .mjs or .wasm")
      .requiredOption("--reduce <how>", 'how outputs merge: sum, min, max, collect, or \'{"field":"sum",...}\'')
      .option("--name <name>", "the kernel's name (default: the file's name)")
      .option("--output <schema.json>", "a JSON Schema every output must satisfy")
      .option("--compare <json>", "tolerance under which two outputs agree, e.g. '{\"relTol\":1e-9}'")
      .option("--description <text>", "a note shown with the kernel"),
  ).action(async (file: string, flags: PublishFlags) => {
    const client = submitterFrom(flags);
    const body = await publishBody(file, flags);
    const { created, kernel: answer } = await client.publishKernel(body);
    if (flags.json) return printJson(answer);
    const what = `${answer.name} (${answer.language}/1, ${formatSize(answer.bytes)}, reduce ${describeReduce(answer.reduce)})`;
    process.stderr.write(created ? `Published ${what}:\n` : `Already published ${what}:\n`);
    process.stdout.write(`${answer.id}\n`);
  });

  withConnection(kernel.command("list").summary("list kernels").description("List the built-in kernels and the ones this token published.")).action(
    async (flags: ConnectionFlags) => {
      const answer = await submitterFrom(flags).listKernels();
      if (flags.json) return printJson(answer);
      process.stdout.write(`${formatKernelList(answer.kernels)}\n`);
    },
  );

  withConnection(
    kernel.command("show").summary("show a kernel").description("Show one kernel's manifest.").argument("<id>", "a kernel id (k_...) or a built-in's name"),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const answer = await submitterFrom(flags).getKernel(id);
    if (flags.json) return printJson(answer);
    process.stdout.write(`${formatKernel(answer)}\n`);
  });
}
