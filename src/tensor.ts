/**
 * Tensors: a shape, a dtype and a GPU buffer, with deterministic memory management.
 *
 * GPU memory is released by {@linkcode Tensor.dispose} or by leaving a {@linkcode tidy}
 * scope; buffers return to the runtime's pool and are reused by later tensors.
 * @module
 */

import { runtime } from "./gpu/runtime.ts";

/** Element types. */
export type DType = "f32" | "i32";

/** Host array types accepted by {@linkcode tensor}. */
export type HostArray = Float32Array | Int32Array | number[];

/** A recorded operation: the inputs of a tensor and how to map its gradient to theirs. */
export interface GradNode {
  /** Operation name (diagnostics). */
  op: string;
  /** Inputs of the operation. */
  inputs: Tensor[];
  /**
   * Given the gradient `g` of the output, returns the gradient of each input (`null` for none).
   * `needs[i]` says whether input `i`'s gradient is wanted. Rules are written with ops, so
   * they are themselves differentiable.
   */
  backward(g: Tensor, needs: boolean[]): (Tensor | null)[];
}

class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer) {}
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

/** A multi-dimensional array on the GPU. Create with {@linkcode tensor} or with ops. */
export class Tensor {
  /** Unique id (diagnostics, stable ordering). */
  readonly id: number = nextId++;
  /** Shape (row-major). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to this tensor (set by the autograd layer). */
  requiresGrad = false;
  /** The operation that produced this tensor, when it was recorded for differentiation. */
  node: GradNode | null = null;
  /** Name of the operation that created it (diagnostics). */
  readonly origin: string;
  private storage: Storage | null;

  /** @internal use {@linkcode tensor} or ops */
  constructor(shape: readonly number[], dtype: DType, storage: Storage, origin: string) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shapeSize(shape);
    this.storage = storage;
    this.origin = origin;
    scopes[scopes.length - 1]?.add(this);
  }

  /** Rank (number of dimensions). */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether {@linkcode Tensor.dispose} was called. */
  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** The GPU buffer; throws if the tensor was disposed. */
  get buffer(): GPUBuffer {
    if (!this.storage) {
      throw new Error(
        `tensor #${this.id} [${this.shape}] from ${this.origin} was used after it was disposed`,
      );
    }
    return this.storage.buffer;
  }

  /** Copies the values to the CPU (submits pending GPU work). */
  async data(): Promise<Float32Array | Int32Array> {
    const buf = this.buffer;
    const bytes = await runtime().read(buf, this.size * 4);
    return this.dtype === "f32" ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  /** Copies a tensor of one element to the CPU as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item() needs one element, tensor has shape [${this.shape}]`);
    }
    return (await this.data())[0];
  }

  /** Copies the values to the CPU as a nested array of numbers. */
  async array(): Promise<unknown> {
    const d = Array.from(await this.data());
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return d[off];
      const stride = shapeSize(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** A tensor with another shape over the same buffer (no copy). @internal use `reshape` */
  view(shape: readonly number[], origin = "reshape"): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(`cannot reshape [${this.shape}] (${this.size} elements) to [${shape}]`);
    }
    const s = this.storage;
    if (!s) this.buffer; // throws the disposed error
    s!.refs++;
    return new Tensor(shape, this.dtype, s!, origin);
  }

  /** Releases the GPU memory (returned to the pool). Safe to call twice. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    this.node = null;
    if (--s.refs === 0) runtime().release(s.buffer);
    for (const scope of scopes) scope.delete(this);
  }

  /** Exempts this tensor from disposal by the enclosing {@linkcode tidy} scopes. */
  keep(): this {
    for (const scope of scopes) scope.delete(this);
    return this;
  }

  /** Short description. */
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}])`;
  }
}

/** Product of the dimensions. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks a shape for non-negative integer dimensions. */
export function checkShape(shape: readonly number[], what = "shape"): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(
      `${what} must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
}

/** Allocates an uninitialised tensor from the pool. @internal used by ops */
export function empty(shape: readonly number[], dtype: DType = "f32", origin = "empty"): Tensor {
  checkShape(shape);
  const buf = runtime().acquire(shapeSize(shape) * 4, `${origin} output [${shape}]`);
  return new Tensor(shape, dtype, new Storage(buf), origin);
}

/**
 * Creates a tensor from host values.
 * @param values values in row-major order (a `number[]` becomes float32 unless `dtype` says i32)
 * @param shape the shape; defaults to `[values.length]`
 * @param dtype element type; inferred from `Int32Array`
 */
export function tensor(values: HostArray, shape?: readonly number[], dtype?: DType): Tensor {
  const dt: DType = dtype ?? (values instanceof Int32Array ? "i32" : "f32");
  const shp = shape ?? [values.length];
  checkShape(shp);
  if (shapeSize(shp) !== values.length) {
    throw new Error(
      `tensor(): ${values.length} values do not fill shape [${shp}] (${shapeSize(shp)} elements)`,
    );
  }
  const host = dt === "f32"
    ? (values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>))
    : (values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>));
  const t = empty(shp, dt, "tensor");
  if (host.length > 0) runtime().write(t.buffer, host);
  return t;
}

/** A float32 scalar (shape `[]`). */
export function scalar(value: number): Tensor {
  return tensor([value], []);
}

/** Anything holding tensors that {@linkcode tidy} can keep: a tensor, arrays and records of them. */
export type TensorTree = Tensor | TensorTree[] | { [key: string]: TensorTree } | null | undefined;

/** Collects the tensors of a tree (arrays and plain objects are walked). */
export function treeTensors(tree: unknown, out: Tensor[] = []): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) { for (const t of tree) treeTensors(t, out); }
  else if (tree && typeof tree === "object" && Object.getPrototypeOf(tree) === Object.prototype) {
    for (const v of Object.values(tree)) treeTensors(v, out);
  }
  return out;
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it returns
 * (in a tensor, array or plain object) and tensors marked with {@linkcode Tensor.keep}.
 * Returned tensors move to the enclosing scope. Works with async functions too when
 * no other tidy scope runs concurrently.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.splice(scopes.indexOf(scope), 1);
    for (const t of scope) t.dispose();
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => {
        endScope(scope, r);
        return r;
      },
      (e) => {
        endScope(scope, undefined);
        throw e;
      },
    ) as T;
  }
  endScope(scope, result);
  return result;
}

function endScope(scope: Set<Tensor>, result: unknown): void {
  scopes.splice(scopes.indexOf(scope), 1);
  const keepers = new Set(treeTensors(result));
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepers.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/** Disposes every tensor in a tree. */
export function dispose(tree: unknown): void {
  for (const t of treeTensors(tree)) t.dispose();
}
