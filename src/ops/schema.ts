/**
 * Parameter schemas: the fields of a kernel's WGSL parameter struct, in order, with their types.
 * The TypeScript side packs parameter words by name from the schema, and a test checks each
 * schema against the struct in the shader source (names, order and types).
 * @module
 */

/** The scalar types a parameter field may have. */
export type WgslScalar = "u32" | "i32" | "f32";

/** The fields of one WGSL parameter struct, in declaration order. */
export type ParamSchema = Readonly<Record<string, WgslScalar>>;

/** Values for every field of a schema. */
export type ParamValues<S extends ParamSchema> = { readonly [K in keyof S]: number };

/**
 * The 32-bit words of `values` laid out as `schema` (one word per field, in its order).
 * @throws {Error} naming the field when a value is missing or not a number
 */
export function packParams<S extends ParamSchema>(
  schema: S,
  values: ParamValues<S>,
  what: string,
): Uint32Array {
  const names = Object.keys(schema);
  const words = new Uint32Array(names.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  names.forEach((name, i) => {
    const v = (values as Record<string, number>)[name];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new Error(`${what}: parameter ${name} must be a number, got ${String(v)}`);
    }
    if (schema[name] === "f32") {
      f[0] = v;
      words[i] = u[0];
    } else words[i] = v >>> 0;
  });
  return words;
}

/**
 * The fields of `struct name { ... }` in WGSL source `code` as `[name, type]` pairs (comments
 * stripped); undefined when there is no such struct.
 */
export function wgslStructFields(code: string, name: string): [string, string][] | undefined {
  const stripped = code.replace(/\/\/[^\n]*/g, "");
  const m = new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`).exec(stripped);
  if (!m) return undefined;
  return m[1].split(",").map((f) => f.trim()).filter((f) => f).map((f) => {
    const [field, type] = f.split(":").map((s) => s.trim());
    return [field, type] as [string, string];
  });
}
