import { decodeBase64 } from "hono/utils/encode";
import { canonicalJson, hexOf, sha256Hex } from "../../shared/canonical.ts";
import { LIMITS } from "../../shared/limits.ts";
import { schemaProblem } from "../../shared/output-schema.ts";
import type { KernelManifest, PublishKernel } from "../../shared/schemas.ts";
import { ApiError } from "../errors.ts";
import { inspectJs } from "./inspect-js.ts";
import { inspectWasm } from "./inspect-wasm.ts";

/** A kernel ready to store: its module bytes and the manifest everyone else sees. */
export interface Prepared {
  manifest: KernelManifest;
  module: Uint8Array;
}

function refuse(field: string, message: string): never {
  throw new ApiError(400, "invalid_kernel", `${field}: ${message}`);
}

function wasmBytes(text: string): Uint8Array {
  try {
    return decodeBase64(text);
  } catch {
    refuse("wasm", "must be base64");
  }
}

/**
 * Checks a publish request without executing anything (Workers may not compile WASM from bytes
 * or eval JS): the module's shape, its size, the output schema. The id is derived from the content:
 * the module's SHA-256 and the manifest, so publishing the same thing twice names the same kernel.
 * Throws a 400 naming the problem; stores nothing.
 */
export async function prepareKernel(body: PublishKernel, now: number): Promise<Prepared> {
  const module = body.language === "js" ? new TextEncoder().encode(body.source!) : wasmBytes(body.wasm!);
  const field = body.language === "js" ? "source" : "wasm";
  if (module.byteLength > LIMITS.kernelModuleBytes) refuse(field, `module is ${module.byteLength} bytes; at most ${LIMITS.kernelModuleBytes}`);
  if (module.byteLength === 0) refuse(field, "module is empty");
  if (body.language === "js") {
    const problem = inspectJs(body.source!);
    if (problem) refuse("source", problem);
  } else {
    const inspected = inspectWasm(module);
    if (!inspected.ok) refuse("wasm", inspected.problem);
  }
  if (body.output !== undefined) {
    const problem = schemaProblem(body.output);
    if (problem) refuse("output", problem);
  }
  const sha256 = hexOf(await crypto.subtle.digest("SHA-256", module as Uint8Array<ArrayBuffer>));
  const described = {
    name: body.name,
    language: body.language,
    sha256,
    bytes: module.byteLength,
    reduce: body.reduce,
    ...(body.description !== undefined && { description: body.description }),
    ...(body.output !== undefined && { output: body.output }),
    ...(body.compare !== undefined && { compare: body.compare }),
  };
  const id = `k_${(await sha256Hex(canonicalJson(described))).slice(0, 32)}`;
  return { manifest: { id, ...described, createdAt: now }, module };
}

/** Where a kernel's module lives in the blob store. */
export const moduleKey = (id: string) => `kernels/${id}`;
