/**
 * Parameters: seeded initialisation (drawn on the host, uploaded) and safetensors checkpoints.
 * (Pure bytes in and out; reading and writing files is the caller's business.)
 * @module
 */

import { type Tensor, tensor } from "../tensor.ts";
import {
  parseSafetensors,
  type SafeFile,
  type SafeTensorInput,
  serializeSafetensors,
} from "../io/safetensors.ts";
import { initHost } from "./init.ts";
import type { Model, Params } from "./model.ts";

/**
 * Fresh parameters for `model`, a pure function of `seed` (docs/spec.md §2 initialisers): drawn on the
 * host by the exact recipe of `docs/initialisation.md` ({@linkcode initHost}) and uploaded, so
 * the same seed gives the same bits on every adapter.
 */
export function initParams(model: Model, seed: number): Params {
  return paramsFromHost(model, initHost(model, seed), "initial parameters");
}

/** Parameters given as host arrays (e.g. from another tool), checked against the model. */
export function paramsFromHost(
  model: Model,
  values: Record<string, Float32Array>,
  source = "parameters",
): Params {
  const p: Params = {};
  for (const s of model.specs) {
    const v = values[s.name];
    if (!v) {
      throw new Error(`${source}: parameter ${s.name} is missing (expected F32 [${s.shape}])`);
    }
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (v.length !== n) {
      throw new Error(
        `${source}: parameter ${s.name} has ${v.length} values, expected [${s.shape}] (${n})`,
      );
    }
    p[s.name] = tensor(v, s.shape);
  }
  return p;
}

/**
 * Serialises parameters (and optional extra tensors, e.g. optimiser state) to safetensors
 * bytes: float32, spec names (docs/spec.md §2), HWIO / `[in, out]` layouts.
 */
export async function saveParams(
  params: Params,
  metadata: Record<string, string> = {},
  extra: Record<string, Tensor> = {},
): Promise<Uint8Array> {
  const out: Record<string, SafeTensorInput> = {};
  for (const [name, t] of [...Object.entries(params), ...Object.entries(extra)]) {
    const data = await t.data();
    out[name] = { dtype: t.dtype === "f32" ? "F32" : "I32", shape: [...t.shape], data };
  }
  return serializeSafetensors(out, metadata);
}

/** A loaded checkpoint: the model's parameters, any other tensors, and the metadata. */
export interface LoadedCheckpoint {
  /** The model's parameters, on the GPU. */
  params: Params;
  /** Tensors other than parameters (e.g. optimiser state), on the host. */
  extra: Map<string, { shape: number[]; data: Float32Array | Int32Array }>;
  /** The file's `__metadata__`. */
  metadata: Record<string, string>;
}

/**
 * Loads a safetensors checkpoint for `model`. A missing parameter, a wrong shape or dtype, or a
 * non-finite value (NaN, ±Infinity; the first one is reported, with its flat index) gives an
 * error naming the tensor, what was expected and what was found. Tensors whose
 * names are not parameters are returned in `extra` when they contain a `/`-free prefix
 * followed by `:` (e.g. `adam_m:W_conv1`); any other unknown name is an error.
 */
export function loadParams(
  model: Model,
  bytes: Uint8Array,
  source = "checkpoint",
): LoadedCheckpoint {
  return paramsFromSafeFile(model, parseSafetensors(bytes, source), source);
}

/** {@linkcode loadParams} for a file already parsed (e.g. to read its metadata first). */
export function paramsFromSafeFile(
  model: Model,
  file: SafeFile,
  source = "checkpoint",
): LoadedCheckpoint {
  const params: Params = {};
  const known = new Set(model.specs.map((s) => s.name));
  for (const s of model.specs) {
    const e = file.tensors.get(s.name);
    if (!e) {
      throw new Error(`${source}: tensor ${s.name} is missing (expected F32 [${s.shape}])`);
    }
    if (e.dtype !== "F32") {
      throw new Error(`${source}: tensor ${s.name} has dtype ${e.dtype}, expected F32`);
    }
    if (e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`${source}: tensor ${s.name} has shape [${e.shape}], expected [${s.shape}]`);
    }
    const bad = e.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(
        `${source}: tensor ${s.name} has value ${e.data[bad]} at index ${bad}, ` +
          `expected a finite number`,
      );
    }
  }
  const extra = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const [name, e] of file.tensors) {
    if (known.has(name)) continue;
    if (/^[^/:]+:/.test(name)) {
      extra.set(name, { shape: e.shape, data: e.data });
      continue;
    }
    throw new Error(
      `${source}: tensor ${name} is not a parameter of the ${model.kind} model ` +
        `(expected one of ${[...known].join(", ")})`,
    );
  }
  for (const s of model.specs) params[s.name] = tensor(file.tensors.get(s.name)!.data, s.shape);
  return { params, extra, metadata: file.metadata };
}
