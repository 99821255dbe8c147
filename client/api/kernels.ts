import type { z } from "zod";
import type { PublishKernel } from "../../shared/schemas.ts";
import { pathId, type Rpc } from "./connection.ts";
import type { KernelAnswer, KernelListAnswer, KernelManifestAnswer } from "./responses.ts";
import { readJson } from "./transport.ts";

/** A kernel as `POST /v1/kernels` takes it: a `js/1` source or a `wasm/1` module in base64, with its `reduce`. */
export type KernelSpec = z.input<typeof PublishKernel>;

/** What publishing answered: the manifest exactly as sent, and whether it is new (`201`) or was already there (`200`). */
export interface PublishedKernel {
  created: boolean;
  kernel: KernelManifestAnswer;
}

/** Calls about kernels for a submitter's {@link Rpc} client; part of `createClient`. */
export function kernelCalls(api: Rpc) {
  return {
    /**
     * `POST /v1/kernels`: publishes a kernel. The id (`k_...`) is derived from the content, so
     * publishing the same kernel again answers the same id with `created: false`.
     * @example
     * const { kernel } = await colmeia.publishKernel({ name: "double", language: "js", reduce: "sum",
     *   source: "export function compute(input) { return { n: 2 * input.start }; }" });
     * await colmeia.submit({ kernel: kernel.id, range: { start: 0, end: 100, step: 10 } });
     */
    publishKernel: async (spec: KernelSpec): Promise<PublishedKernel> => {
      const res = await api.v1.kernels.$post({ json: spec as PublishKernel });
      return { created: res.status === 201, kernel: await readJson<KernelManifestAnswer>(res) };
    },

    /** `GET /v1/kernels`: the built-in kernels (`builtin: true`, named by their id) and this token's own. */
    listKernels: async () => readJson<KernelListAnswer>(await api.v1.kernels.$get()),

    /** `GET /v1/kernels/:id`: one kernel's manifest (a built-in's entry for a built-in name). */
    getKernel: async (id: string) => readJson<KernelAnswer>(await api.v1.kernels[":id"].$get({ param: { id: pathId(id, "kernel id") } })),
  };
}
