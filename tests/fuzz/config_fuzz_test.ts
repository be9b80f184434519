/**
 * Fuzz test of the configuration reader: seeded mutants of every file in `configs/`, plus
 * hand-made hostile JSON texts (deep nesting, huge numbers, duplicate keys, prototype names,
 * huge keys and values, many keys, broken syntax). Every case must parse or fail with a
 * `ConfigError` naming the file, and finish well within the hang bound.
 */

import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import { ConfigError, type ConfigRequirement, parseConfig } from "../../src/config.ts";

const NAME = "fuzz-config.json";
const CONFIGS = new URL("../../configs/", import.meta.url);

/** Every `.json` file under `configs/`, as bytes, in a fixed order. */
function configFiles(): Uint8Array[] {
  const paths: URL[] = [];
  const walk = (dir: URL) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".json")) paths.push(new URL(e.name, dir));
    }
  };
  walk(CONFIGS);
  paths.sort((a, b) => (a.href < b.href ? -1 : 1));
  return paths.map((p) => Deno.readFileSync(p));
}

const enc = (s: string) => new TextEncoder().encode(s);

function* handMade(base: string): Generator<Mutant> {
  const text = (how: string, s: string): Mutant => ({ how, bytes: enc(s) });
  /** The MNIST reference text with `"extra": value` added as its first key. */
  const withKey = (key: string, value: string) =>
    base.replace("{", `{\n  ${JSON.stringify(key)}: ${value},`);
  // deep nesting, at, below and far beyond the limit
  for (const depth of [62, 63, 64, 65, 1_000, 200_000]) {
    yield text(`array depth ${depth}`, withKey("deep", "[".repeat(depth) + "]".repeat(depth)));
    yield text(`object depth ${depth}`, withKey("deep", '{"a":'.repeat(depth) + "}".repeat(depth)));
  }
  yield text("unclosed arrays", "[".repeat(500_000));
  yield text("unclosed objects", '{"a":'.repeat(200_000));
  yield text("deep value of a known key", withKey("epsilon", "[".repeat(100_000)));
  // huge numbers and long number texts
  for (
    const n of [
      "1e400",
      "-1e400",
      "1e-400",
      "99999999999999999999",
      "9007199254740993",
      "1" + "0".repeat(100_000),
      "0." + "1".repeat(100_000),
      "1e" + "9".repeat(1_000),
      "-0",
      "01",
      "1.",
      ".5",
      "+1",
      "NaN",
      "Infinity",
      "0x10",
    ]
  ) {
    for (const key of ["random_seed", "epsilon", "num_steps", "learning_rate"]) {
      yield text(`${key} = ${n.slice(0, 20)}`, withKey(key, n));
    }
  }
  yield text("schedule of huge numbers", withKey("step_size_schedule", "[[1e400, 1e400]]"));
  // duplicate keys
  const many = (n: number, line: (i: number) => string) =>
    "{\n" + Array.from({ length: n }, (_, i) => line(i)).join(",\n") + "\n}";
  yield text("10000 repeats of epsilon", many(10_000, (i) => `"epsilon": ${i / 10_000}`));
  yield text("10000 _comment keys", many(10_000, () => '"_comment": "c"'));
  yield text("k and num_steps differ", withKey("num_steps", "41"));
  yield text("100000 unknown keys", many(100_000, (i) => `"key_${i}": ${i}`));
  yield text("100000 keys on one line", many(100_000, (i) => `"k${i}": 1`).replace(/\n/g, ""));
  // prototype names as keys and as values
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    yield text(`key ${name}`, withKey(name, "{}"));
    yield text(`key ${name} (string)`, withKey(name, '"x"'));
    for (const key of ["dataset", "loss_func", "training_objective", "saliency_type"]) {
      yield text(`${key} = ${name}`, withKey(key, JSON.stringify(name)));
    }
  }
  yield text("__proto__ top-level object", '{"__proto__": {"model_dir": "x", "k": 3}}');
  // huge keys and values
  yield text("4 MB key", withKey("q".repeat(4_000_000), "1"));
  yield text("4 MB near-miss key", withKey("num_steps" + "_".repeat(4_000_000), "1"));
  yield text("4 MB enum value", withKey("loss_func", JSON.stringify("x".repeat(4_000_000))));
  yield text("4 MB of escapes", withKey("model_dir", `"${"\\u0041".repeat(700_000)}"`));
  yield text("1 MB of newlines", "\n".repeat(1_000_000) + base);
  yield text("1 MB of spaces then junk", " ".repeat(1_000_000) + "x");
  // broken syntax and odd encodings
  for (
    const s of [
      "",
      " ",
      "\ufeff",
      "\ufeff" + base,
      "null",
      "[]",
      "1",
      '"a"',
      "{",
      "}",
      '{"a"}',
      '{"a":1,}',
      '{"a":1 "b":2}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":"\\ud800"}',
      '{"a":"\u0000"}',
      '{"a":"tab\there"}',
      "{'a': 1}",
      '{"a": tru}',
      '{"a": nul}',
      "{} {}",
      '{"a":1}\u0000',
      base + base,
    ]
  ) {
    yield text(`syntax ${JSON.stringify(s.slice(0, 20))}`, s);
  }
  yield { how: "invalid UTF-8", bytes: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) };
}

function* cases(files: Uint8Array[]): Generator<Mutant> {
  let seed = 1;
  for (const f of files) yield* mutants(f, 3_000, seed++);
  yield* handMade(new TextDecoder().decode(files.find((f) => f.length > 0)));
}

Deno.test("fuzz: configuration reader", async () => {
  const files = configFiles();
  if (files.length < 16) throw new Error(`expected the reference configs, found ${files.length}`);
  const modes: ConfigRequirement[] = ["train", "attack", "none"];
  let n = 0;
  const report = await fuzz({
    format: "config",
    name: NAME,
    cases: cases(files),
    parse: (bytes, name) => {
      const require = modes[n++ % modes.length];
      try {
        return parseConfig(new TextDecoder().decode(bytes), name, { require });
      } catch (e) {
        // only a ConfigError is a clear rejection: a plain Error is reported as internal
        if (e instanceof ConfigError || !(e instanceof Error) || e.constructor !== Error) throw e;
        throw new TypeError(`an Error that is not a ConfigError: ${e.message}`, { cause: e });
      }
    },
  });
  if (report.loaded === 0 || report.rejected === 0) {
    throw new Error(
      `fuzz config: expected both loads and rejections, got ${JSON.stringify(report)}`,
    );
  }
});
