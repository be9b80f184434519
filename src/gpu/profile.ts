/**
 * The device profile: every choice the ops make that depends on the hardware, decided once when
 * the device is acquired. Ops ask the profile; none of them looks at the adapter itself.
 *
 * Two kinds of fields live here. *Limits* belong to the adapter and hold whatever profile is
 * chosen (llvmpipe's loop-iteration limit truncates silently, so it is a correctness limit).
 * *Preferences* follow the profile kind: `cpu` for adapters that run on the CPU (Mesa's llvmpipe
 * or lavapipe, SwiftShader, any fallback adapter), `gpu` otherwise. Forcing `gpu` on a software
 * adapter runs every GPU code path there, correctly, if slower.
 * @module
 */

/** The kinds of profile: tuned for a GPU or for a software adapter on the CPU. */
export const PROFILE_KINDS = ["gpu", "cpu"] as const;

/** A kind of profile, see {@linkcode PROFILE_KINDS}. */
export type ProfileKind = typeof PROFILE_KINDS[number];

/** Environment variable that forces a profile kind (`gpu` or `cpu`). */
export const PROFILE_ENV = "RAR_DEVICE_PROFILE";

/** What the ops ask about the device. */
export interface DeviceProfile {
  /** The kind of profile in force (detected from the adapter, or forced). */
  readonly kind: ProfileKind;
  /**
   * Whether the adapter itself runs on the CPU. A fact about the adapter, not a preference:
   * forcing the `gpu` profile does not change it. The limits below follow from it.
   */
  readonly softwareAdapter: boolean;
  /**
   * Most loop iterations one invocation may run in total (nested loops count together); longer
   * work is split into several dispatches or passes. llvmpipe ends every shader loop after
   * 65535 iterations per invocation (LP_MAX_TGSI_LOOP_ITERATIONS) without an error, so on a
   * software adapter this is a correctness limit and holds under every profile kind. Infinite
   * on other adapters.
   */
  readonly loopLimit: number;
  /**
   * Whether the elementwise kernels, `gemm_pack` and `transpose4` read their large inputs from
   * texel copies (`Runtime.texels`) instead of storage buffers. On llvmpipe a storage load at a
   * lane-varying address is a loop over the lanes, so a texel fetch is much cheaper; GPUs read
   * storage buffers natively and skip the copies. (Under every profile, texel copies feed the
   * kernels that have no storage-read form: the vec4 max-pooling kernels and `sum_rows`.)
   */
  readonly texelCopies: boolean;
  /**
   * Fewest elements from which a kernel reads its inputs from texel copies (when
   * {@linkcode texelCopies} is set); below it the copy costs more than it saves.
   */
  readonly texelMin: number;
  /**
   * Whether the kernels that stream one operand through every invocation read it from a texel
   * copy or in place from its storage buffer: L of the windowed products
   * (`shaders/gemm_l_texels.wgsl` or `gemm_l_storage.wgsl`), and gy of `input_taps`,
   * `filter_taps` and `filter_rows` (`shaders/conv2d_gy_texels.wgsl` or `conv2d_gy_storage.wgsl`).
   * A texel fetch costs a fraction of a storage load on llvmpipe; a GPU reads the buffer natively
   * and saves the copy.
   */
  readonly streamTexels: boolean;
  /**
   * Invocations per workgroup of the windowed products (PWG of `shaders/gemm.wgsl`): 8 on a CPU,
   * where a workgroup is one thread's SIMD batch, 64 on a GPU, two warps.
   */
  readonly productWorkgroup: number;
}

/** Options that decide a profile (see {@linkcode decideProfile}). */
export interface ProfileRequest {
  /** A forced kind; default: the environment variable, else what the adapter is. */
  profile?: ProfileKind;
}

/** Whether an adapter, by its description and fallback flag, runs on the CPU. */
export function isSoftwareAdapter(adapterName: string, isFallback = false): boolean {
  return isFallback || /llvmpipe|lavapipe|softpipe|swiftshader/i.test(adapterName);
}

/** The loop-iteration limit of llvmpipe (see {@linkcode DeviceProfile.loopLimit}). */
export const SOFTWARE_LOOP_LIMIT = 65535;

/** The profile of `kind` on an adapter that does (or does not) run on the CPU. */
export function profileFor(kind: ProfileKind, softwareAdapter: boolean): DeviceProfile {
  const cpu = kind === "cpu";
  return {
    kind,
    softwareAdapter,
    loopLimit: softwareAdapter ? SOFTWARE_LOOP_LIMIT : Infinity,
    texelCopies: cpu,
    texelMin: 32768,
    streamTexels: cpu,
    productWorkgroup: cpu ? 8 : 64,
  };
}

/** Checks a profile kind given as `what` (the variable or option that named it). */
export function parseProfileKind(value: unknown, what: string): ProfileKind {
  if (typeof value === "string" && (PROFILE_KINDS as readonly string[]).includes(value)) {
    return value as ProfileKind;
  }
  throw new Error(
    `${what} must be one of ${PROFILE_KINDS.map((k) => `"${k}"`).join(", ")}, got ${
      JSON.stringify(value)
    }`,
  );
}

/**
 * The value of {@linkcode PROFILE_ENV}, or undefined where it is unset or the program may not
 * read it (no prompt is ever raised for it).
 */
export function profileFromEnv(): ProfileKind | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.env) return undefined;
  try {
    const state = deno.permissions.querySync({ name: "env", variable: PROFILE_ENV }).state;
    if (state !== "granted") return undefined;
    const value = deno.env.get(PROFILE_ENV);
    if (value === undefined || value === "") return undefined;
    return parseProfileKind(value, `the environment variable ${PROFILE_ENV}`);
  } catch (e) {
    if (e instanceof Error && e.message.includes(PROFILE_ENV)) throw e;
    return undefined;
  }
}

/**
 * Decides the profile of an adapter: the kind requested by `request.profile`, else by
 * {@linkcode PROFILE_ENV}, else `cpu` for a software adapter and `gpu` otherwise.
 * @throws {Error} naming the option or variable when the requested kind is unknown
 */
export function decideProfile(
  adapterName: string,
  isFallback: boolean,
  request: ProfileRequest = {},
): DeviceProfile {
  const software = isSoftwareAdapter(adapterName, isFallback);
  const forced = request.profile !== undefined
    ? parseProfileKind(request.profile, "the device option `profile`")
    : profileFromEnv();
  return profileFor(forced ?? (software ? "cpu" : "gpu"), software);
}
