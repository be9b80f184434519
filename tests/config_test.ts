import assert from "node:assert/strict";
import {
  type Config,
  CONFIG_KEYS,
  ConfigError,
  configToJson,
  dataSeed,
  initSeed,
  modelFamily,
  parseConfig,
} from "../src/config.ts";

const CONFIGS = new URL("../configs/", import.meta.url);
const CONFIGS_MD = new URL("../docs/configs.md", import.meta.url);

/**
 * Every `.json` configuration file under `configs/`, as paths relative to the repository root
 * (`configs/experiments/` holds experiment files, tested in `tests/experiment/`).
 */
function configFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: URL, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory && `${rel}${e.name}/` === "configs/experiments/") continue;
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      else if (e.name.endsWith(".json")) out.push(`${rel}${e.name}`);
    }
  };
  walk(CONFIGS, "configs/");
  return out.sort();
}

function read(path: string): string {
  return Deno.readTextFileSync(new URL(`../${path}`, import.meta.url));
}

/** The tables of `docs/configs.md`: dataset → method file name → [key, value] in table order. */
function referenceTables(): Map<string, Map<string, [string, unknown][]>> {
  const datasets: Record<string, string> = {
    "MNIST": "mnist",
    "Fashion-MNIST": "fashion_mnist",
    "GTSRB": "gtsrb",
    "Flower": "flower",
  };
  const methods: Record<string, string> = {
    "NATURAL": "nat",
    "Madry": "madry",
    "IG-NORM": "ig_norm",
    "IG-SUM-NORM": "ig_sum_norm",
  };
  const out = new Map<string, Map<string, [string, unknown][]>>();
  for (const section of Deno.readTextFileSync(CONFIGS_MD).split(/^## /m).slice(1)) {
    const [title, ...rest] = section.split("\n");
    const ds = datasets[title.trim()];
    assert.ok(ds, `unexpected section ${title}`);
    const rows = rest.filter((l) => l.startsWith("|")).map((l) =>
      l.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim())
    );
    const cols = rows[0].slice(1).map((h) => methods[h]);
    assert.deepEqual(cols, ["nat", "madry", "ig_norm", "ig_sum_norm"]);
    assert.match(rows[1][0], /^-+$/);
    const table = new Map<string, [string, unknown][]>(cols.map((c) => [c, []]));
    for (const row of rows.slice(2)) {
      const key = row[0].replace(/`/g, "");
      cols.forEach((c, i) => table.get(c)!.push([key, JSON.parse(row[i + 1])]));
    }
    out.set(ds, table);
  }
  assert.deepEqual([...out.keys()], ["mnist", "fashion_mnist", "gtsrb", "flower"]);
  return out;
}

/** Asserts that `f` throws a ConfigError whose message contains every fragment. */
function throwsWith(f: () => unknown, ...fragments: string[]): ConfigError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
  for (const s of fragments) {
    assert.ok(err.message.includes(s), `message lacks ${JSON.stringify(s)}:\n${err.message}`);
  }
  return err;
}

/** A JSON text of the MNIST NATURAL reference with `change` applied (undefined deletes). */
function mnistWith(change: Record<string, unknown> = {}): string {
  const o = JSON.parse(read("configs/mnist/nat.json"));
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return JSON.stringify(o, null, 2);
}

function gtsrbWith(change: Record<string, unknown> = {}): string {
  const o = JSON.parse(read("configs/gtsrb/ig_norm.json"));
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return JSON.stringify(o, null, 2);
}

Deno.test("config: configs/ holds the sixteen reference files and the quick MNIST variants", () => {
  const expected = ["mnist", "fashion_mnist", "gtsrb", "flower"].flatMap((d) =>
    ["nat", "madry", "ig_norm", "ig_sum_norm"].map((m) => `configs/${d}/${m}.json`)
  );
  expected.push(
    "configs/mnist/quickstart.json",
    "configs/mnist/madry_quick.json",
    "configs/mnist/ig_norm_quick.json",
    "configs/mnist/ig_sum_norm_quick.json",
  );
  assert.deepEqual(configFiles(), expected.sort());
});

Deno.test("config: every file in configs/ parses with no warnings for train and attack", () => {
  for (const path of configFiles()) {
    for (const require of ["train", "attack", "none"] as const) {
      const { config, warnings } = parseConfig(read(path), path, { require });
      assert.deepEqual(warnings, [], `${path} (${require})`);
      assert.ok(config.dataset, path);
      assert.ok(config.model_dir.startsWith(`models/${config.dataset}/`), path);
      assert.ok(path.startsWith(`configs/${config.dataset}/`), path);
    }
  }
});

Deno.test("config: the reference files hold exactly the values of docs/configs.md", () => {
  const tables = referenceTables();
  let compared = 0;
  for (const [ds, table] of tables) {
    for (const [method, rows] of table) {
      const path = `configs/${ds}/${method}.json`;
      const raw = JSON.parse(read(path));
      assert.ok(typeof raw._comment === "string" && raw._comment.length > 0, path);
      assert.equal(raw.dataset, ds, path);
      // Same keys, same spellings, nothing else but `_comment` and our `dataset`.
      const fileKeys = Object.keys(raw).filter((k) => k !== "_comment" && k !== "dataset");
      assert.deepEqual(fileKeys.sort(), rows.map(([k]) => k).sort(), path);
      const { config } = parseConfig(read(path), path, { require: "train" });
      const parsed = config as unknown as Record<string, unknown>;
      for (const [key, expected] of rows) {
        const want = key === "model_dir"
          ? (expected as string).replace(/^models\//, `models/${ds}/`)
          : expected;
        assert.deepEqual(raw[key], want, `${path}: ${key}`);
        const canonical = key === "k" ? "num_steps" : key === "a" ? "step_size" : key;
        assert.deepEqual(parsed[canonical], want, `${path}: ${key} (parsed as ${canonical})`);
        compared++;
      }
      if ("tf_random_seed" in raw) {
        assert.equal(config.random_seed, raw.tf_random_seed);
        assert.equal(initSeed(config), raw.tf_random_seed);
        assert.equal(dataSeed(config), raw.np_random_seed);
      } else {
        assert.equal(initSeed(config), raw.random_seed);
        assert.equal(dataSeed(config), raw.random_seed);
      }
      assert.equal(modelFamily(config), ds === "gtsrb" || ds === "flower" ? "resnet" : "mnist");
    }
  }
  assert.equal(compared, 2 * 4 * 28 + 2 * 4 * 33);
});

Deno.test("config: the quick-start and quick RAR files", () => {
  const q = parseConfig(read("configs/mnist/quickstart.json"), "quickstart.json", {
    require: "train",
  }).config;
  const expected: Partial<Config> = {
    dataset: "mnist",
    model_dir: "models/mnist/quickstart",
    training_objective: "nat",
    training_batch_size: 50,
    max_num_training_steps: 250,
    num_output_steps: 20,
    num_summary_steps: 20,
    num_checkpoint_steps: 100,
    random_seed: 4557077,
    learning_rate: 0.001,
    num_eval_examples: 20,
    eval_batch_size: 20,
    num_steps: 20,
    step_size: 0.03,
    epsilon: 0.3,
    attribution_attack_steps: 10,
    attribution_attack_times: 1,
    num_IG_steps: 10,
    k_top: 40,
    eval_k_top: 40,
    loss_func: "xent",
  };
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual((q as unknown as Record<string, unknown>)[k], v, k);
  }
  const ig = parseConfig(read("configs/mnist/ig_norm_quick.json"), "x", { require: "train" })
    .config;
  assert.equal(ig.training_objective, "ar");
  assert.equal(ig.loss_func, "ar_approx");
  assert.equal(ig.m, 10);
  assert.equal(ig.approx_factor, 5);
  assert.equal(ig.max_num_training_steps, 50);
  assert.equal(ig.training_batch_size, 20);
  assert.equal(ig.num_steps, 5);
  assert.equal(ig.learning_rate, 0.001);
  const madry = parseConfig(read("configs/mnist/madry_quick.json"), "x", { require: "train" })
    .config;
  assert.equal(madry.training_objective, "adv");
  assert.equal(madry.loss_func, "xent");
  assert.equal(madry.num_steps, 5);
  assert.equal(madry.max_num_training_steps, 50);
});

Deno.test("config: configToJson is canonical and round-trips every file", () => {
  for (const path of configFiles()) {
    const { config } = parseConfig(read(path), path, { require: "train" });
    const json = configToJson(config);
    const keys = Object.keys(JSON.parse(json));
    assert.ok(!keys.includes("k") && !keys.includes("a") && !keys.includes("_comment"));
    assert.deepEqual(keys, CONFIG_KEYS.filter((k) => keys.includes(k)), "canonical order");
    const again = parseConfig(json, "copy.json", { require: "train" });
    assert.deepEqual(again.warnings, []);
    assert.deepEqual(again.config, config, path);
    assert.equal(configToJson(again.config), json);
  }
  const g = configToJson(parseConfig(read("configs/gtsrb/nat.json"), "g").config);
  assert.ok(g.includes('"step_size_schedule": [[0, 0.001], [500, 0.01], [60000, 0.001]],'));
  assert.ok(g.endsWith("}\n"));
});

Deno.test("config: aliases k/num_steps and a/step_size", () => {
  const a = parseConfig(mnistWith(), "a.json", { require: "train" }).config;
  assert.equal(a.num_steps, 40);
  assert.equal(a.step_size, 0.01);
  assert.ok(!("k" in a) && !("a" in a));
  const b = parseConfig(
    mnistWith({ k: undefined, a: undefined, num_steps: 40, step_size: 0.01 }),
    "b.json",
    { require: "train" },
  ).config;
  assert.deepEqual(b, a);
  // Both spellings with the same value: fine.
  const c = parseConfig(mnistWith({ num_steps: 40, step_size: 0.01 }), "c.json");
  assert.deepEqual(c.warnings, []);
  assert.equal(c.config.num_steps, 40);
  // With different values: an error naming both.
  throwsWith(
    () => parseConfig(mnistWith({ num_steps: 7 }), "d.json"),
    "d.json",
    '"k" (40)',
    '"num_steps" (7)',
  );
  throwsWith(
    () => parseConfig(mnistWith({ step_size: 2 }), "e.json"),
    "e.json",
    '"a"',
    "step_size",
  );
  // An override of the key settles a conflict between its spellings.
  const f = parseConfig(mnistWith({ num_steps: 7 }), "f.json", { overrides: ["k=9"] }).config;
  assert.equal(f.num_steps, 9);
});

Deno.test("config: random_seed versus tf_random_seed + np_random_seed", () => {
  const one = parseConfig(mnistWith({ random_seed: 12 }), "one.json", { require: "train" }).config;
  assert.equal(one.random_seed, 12);
  assert.equal(one.tf_random_seed, undefined);
  assert.equal(one.np_random_seed, undefined);
  assert.equal(initSeed(one), 12);
  assert.equal(dataSeed(one), 12);
  const two = parseConfig(
    mnistWith({ random_seed: undefined, tf_random_seed: 3, np_random_seed: 4 }),
    "two.json",
    { require: "train" },
  ).config;
  assert.equal(two.random_seed, 3);
  assert.equal(two.tf_random_seed, 3);
  assert.equal(two.np_random_seed, 4);
  assert.equal(initSeed(two), 3);
  assert.equal(dataSeed(two), 4);
  // random_seed with np_random_seed only: init from random_seed, data from np_random_seed.
  const three = parseConfig(mnistWith({ np_random_seed: 9 }), "three.json").config;
  assert.equal(initSeed(three), 4557077);
  assert.equal(dataSeed(three), 9);
  throwsWith(
    () => parseConfig(mnistWith({ tf_random_seed: 5 }), "four.json"),
    "four.json",
    "random_seed",
    "tf_random_seed",
  );
  // Training needs a seed; np_random_seed alone seeds only the data.
  throwsWith(
    () =>
      parseConfig(mnistWith({ random_seed: undefined, np_random_seed: 1 }), "five.json", {
        require: "train",
      }),
    "five.json",
    "missing key",
    '"random_seed" (or "tf_random_seed")',
  );
  throwsWith(
    () => parseConfig(mnistWith({ random_seed: -1 }), "six.json"),
    "six.json",
    '"random_seed"',
    "-1",
    "an integer ≥ 0",
  );
});

Deno.test("config: repeated _comment keys are ignored; other repeats warn", () => {
  const text = `{
  "_comment": "first",
  "model_dir": "m",
  "_comment": "second",
  "_comment": ["not", "even", "a", "string"]
}`;
  const { config, warnings } = parseConfig(text, "c.json");
  assert.deepEqual(warnings, []);
  assert.equal(config.model_dir, "m");
  assert.ok(!("_comment" in config));
  const dup = parseConfig(`{"model_dir": "a",\n "epsilon": 0.1,\n "epsilon": 0.2}`, "dup.json");
  assert.equal(dup.config.epsilon, 0.2);
  assert.equal(dup.warnings.length, 1);
  assert.match(dup.warnings[0], /^dup\.json:3: key "epsilon" is given more than once/);
});

Deno.test("config: unknown keys warn, naming the file and key, with a suggestion", () => {
  const { warnings, config } = parseConfig(
    mnistWith({ lamda: 0.5, epsilion: 1, totally_new: 1 }),
    "u.json",
    { require: "train" },
  );
  assert.equal(config.lambda, 1);
  assert.equal(warnings.length, 3);
  const byKey = (k: string) => warnings.find((w) => w.includes(`"${k}"`))!;
  assert.match(
    byKey("lamda"),
    /^u\.json:\d+: unknown key "lamda" is ignored \(did you mean "lambda"\?\)$/,
  );
  assert.match(byKey("epsilion"), /did you mean "epsilon"\?/);
  assert.ok(!byKey("totally_new").includes("did you mean"));
  const camel = parseConfig(`{"model_dir": "x", "numSteps": 3}`, "camel.json");
  assert.match(camel.warnings[0], /did you mean "num_steps"\?/);
});

Deno.test("config: missing required keys are errors naming the file and key", () => {
  throwsWith(
    () => parseConfig(mnistWith({ epsilon: undefined }), "m1.json", { require: "train" }),
    "m1.json",
    'missing key "epsilon"',
  );
  throwsWith(
    () => parseConfig(mnistWith({ k_top: undefined }), "m2.json", { require: "attack" }),
    "m2.json",
    'missing key "k_top"',
  );
  // Not required for training: defaults.
  const t = parseConfig(mnistWith({ k_top: undefined, eval_k_top: undefined }), "m3.json", {
    require: "train",
  });
  assert.equal(t.config.k_top, 200);
  assert.equal(t.config.eval_k_top, 200);
  // m/lambda/approx_factor are required for ar and adv_ar only.
  throwsWith(
    () =>
      parseConfig(
        mnistWith({ training_objective: "ar", m: undefined, lambda: undefined }),
        "m4.json",
        { require: "train" },
      ),
    "m4.json",
    'missing key "m"',
    'missing key "lambda"',
    'training_objective "ar"',
  );
  const nat = parseConfig(
    mnistWith({
      m: undefined,
      lambda: undefined,
      approx_factor: undefined,
      continue_train: undefined,
    }),
    "m5.json",
    { require: "train" },
  ).config;
  assert.equal(nat.m, 10);
  assert.equal(nat.lambda, 1);
  assert.equal(nat.approx_factor, 1);
  assert.equal(nat.continue_train, false);
  // The ResNet family needs its optimiser keys, by dataset or by the presence of a schedule.
  throwsWith(
    () => parseConfig(gtsrbWith({ momentum: undefined }), "m6.json", { require: "train" }),
    "m6.json",
    'missing key "momentum"',
    'dataset "gtsrb"',
  );
  throwsWith(
    () =>
      parseConfig(gtsrbWith({ dataset: undefined, weight_decay: undefined }), "m7.json", {
        require: "train",
      }),
    "m7.json",
    'missing key "weight_decay"',
    "step_size_schedule given",
  );
  // Attack: attribution_attack_times defaults to 1, eval_k_top to k_top; training keys optional.
  const attack = parseConfig(
    `{"model_dir": "x", "num_eval_examples": 10, "eval_batch_size": 5, "epsilon": 0.3, "k": 4,
      "a": 0.1, "random_start": false, "num_IG_steps": 20, "attribution_attack_method": "topK",
      "attribution_attack_measure": "kendall", "saliency_type": "ig", "k_top": 50,
      "attribution_attack_step_size": 0.01, "attribution_attack_steps": 3}`,
    "attack.json",
    { require: "attack" },
  );
  assert.deepEqual(attack.warnings, []);
  assert.equal(attack.config.attribution_attack_times, 1);
  assert.equal(attack.config.eval_k_top, 50);
  assert.equal(attack.config.loss_func, "xent");
  assert.equal(attack.config.continue_train, false);
  throwsWith(
    () => parseConfig(`{"model_dir": "x"}`, "nothing.json", { require: "train" }),
    'nothing.json: missing key "max_num_training_steps"',
    'missing key "training_batch_size"',
    'missing key "loss_func"',
  );
});

Deno.test("config: wrong types and values name the file, key, value and what is allowed", () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ epsilon: "0.3" }, ['"epsilon"', '"0.3"', "a number ≥ 0", "a string"]],
    [{ epsilon: -0.1 }, ['"epsilon"', "-0.1", "a number ≥ 0", "negative"]],
    [{ k: 2.5 }, ['"k"', "2.5", "an integer ≥ 0", "not an integer"]],
    [{ k: -3 }, ['"k"', "-3", "an integer ≥ 0", "negative"]],
    [{ attribution_attack_steps: -1 }, ['"attribution_attack_steps"', "-1", "negative"]],
    [{ training_batch_size: 0 }, ['"training_batch_size"', "0", "an integer ≥ 1"]],
    [{ random_start: "true" }, ['"random_start"', '"true"', "true or false"]],
    [{ model_dir: 3 }, ['"model_dir"', "3", "a non-empty string"]],
    [{ lambda: null }, ['"lambda"', "null", "a number ≥ 0"]],
    [
      { training_objective: "foo" },
      ['"training_objective"', '"foo"', 'one of "nat", "adv", "ar", "adv_ar"'],
    ],
    [
      { loss_func: "ce" },
      ['"loss_func"', '"ce"', '"xent", "cw", "ar", "ar_approx", "adv_ar", "adv_ar_approx"'],
    ],
    [
      { attribution_attack_method: "topk" },
      ['"attribution_attack_method"', '"topk"', 'did you mean "topK"?', '"mass_center"'],
    ],
    [{ saliency_type: "grad" }, ['"saliency_type"', '"grad"', '"ig", "simple_gradient"']],
    [{ attribution_attack_measure: 1 }, ['"attribution_attack_measure"', '"kendall"']],
    [{ dataset: "cifar" }, ['"dataset"', '"cifar"', '"mnist", "fashion_mnist", "gtsrb", "flower"']],
    [{ approx_factor: 20 }, ['"approx_factor" (20) must not exceed "m" (10)']],
  ];
  for (const [change, fragments] of cases) {
    const e = throwsWith(
      () => parseConfig(mnistWith(change), "bad.json"),
      ...fragments,
    );
    assert.match(e.message, /^bad\.json:\d+: /, e.message);
  }
  // Several problems are reported together.
  const e = throwsWith(
    () => parseConfig(mnistWith({ epsilon: "x", k: -1 }), "two.json", { require: "train" }),
    '"epsilon"',
    '"k"',
  );
  assert.equal(e.problems.length, 2, e.message);
});

Deno.test("config: step_size_schedule must be increasing [step, lr] pairs", () => {
  const bad: [unknown, string][] = [
    [0.1, "a number"],
    [[], "empty"],
    [[[0, 0.1], [0, 0.2]], "entry 1 has step 0, not after the previous step 0"],
    [[[0, 0.1], [500, 0.01], [100, 0.001]], "entry 2 has step 100"],
    [[[0, 0.1, 3]], "entry 0 is not a [step, lr] pair"],
    [[0, 0.1], "entry 0 is not a [step, lr] pair"],
    [[[0.5, 0.1]], "entry 0 has a step that is not an integer ≥ 0"],
    [[[0, -1]], "entry 0 has a learning rate that is not a number > 0"],
  ];
  for (const [v, why] of bad) {
    throwsWith(
      () => parseConfig(gtsrbWith({ step_size_schedule: v }), "s.json"),
      "s.json:",
      '"step_size_schedule"',
      "list of [step, learning_rate] pairs",
      why,
    );
  }
});

Deno.test("config: JSON syntax errors name the file, line and column", () => {
  throwsWith(
    () => parseConfig('{\n  "model_dir": "x",\n  "k": 40,\n}', "syntax.json"),
    "syntax.json:4:1: invalid JSON",
  );
  throwsWith(() => parseConfig('{"a": tru}', "s2.json"), "s2.json:1:7: invalid JSON");
  throwsWith(() => parseConfig('{"a": 1', "s3.json"), "s3.json:1:8", "the end of the file");
  throwsWith(() => parseConfig("[1, 2]", "s4.json"), "s4.json", "must be a JSON object");
  throwsWith(() => parseConfig("", "s5.json"), "s5.json:1:1: invalid JSON");
});

Deno.test("config: --set overrides", () => {
  const path = "configs/mnist/nat.json";
  const { config, warnings } = parseConfig(read(path), path, {
    require: "train",
    overrides: [
      "k=10",
      "step_size=0.05",
      "model_dir=models/tmp/run 1",
      "random_start=false",
      "memory_budget_mb=256",
      "training_objective=ar",
      "m=20",
      "dataset=fashion_mnist",
    ],
  });
  assert.deepEqual(warnings, []);
  assert.equal(config.num_steps, 10);
  assert.equal(config.step_size, 0.05);
  assert.equal(config.model_dir, "models/tmp/run 1");
  assert.equal(config.random_start, false);
  assert.equal(config.memory_budget_mb, 256);
  assert.equal(config.training_objective, "ar");
  assert.equal(config.m, 20);
  assert.equal(config.dataset, "fashion_mnist");
  // The canonical key overrides a file that uses the alias, and later overrides win.
  const later = parseConfig(read(path), path, { overrides: ["num_steps=3", "k=4"] }).config;
  assert.equal(later.num_steps, 4);
  // Arrays parse as JSON; a value that is not JSON is a string.
  const g = parseConfig(read("configs/gtsrb/nat.json"), "g.json", {
    require: "train",
    overrides: ["step_size_schedule=[[0, 0.1], [10, 0.01]]", "data_path=/data/gtsrb"],
  }).config;
  assert.deepEqual(g.step_size_schedule, [[0, 0.1], [10, 0.01]]);
  assert.equal(g.data_path, "/data/gtsrb");
  // One seed for everything replaces tf_random_seed/np_random_seed.
  const seeded = parseConfig(read("configs/gtsrb/nat.json"), "g.json", {
    overrides: ["random_seed=7"],
  }).config;
  assert.equal(initSeed(seeded), 7);
  assert.equal(dataSeed(seeded), 7);
  const tfOnly = parseConfig(read(path), path, { overrides: ["tf_random_seed=8"] }).config;
  assert.equal(initSeed(tfOnly), 8);
  // Errors: malformed, unknown key, bad value — each naming the override.
  throwsWith(
    () => parseConfig(read(path), path, { overrides: ["epsilon"] }),
    `${path} (--set epsilon)`,
    'malformed override "epsilon"',
    "key=value",
  );
  throwsWith(
    () => parseConfig(read(path), path, { overrides: ["epsilom=0.1"] }),
    'unknown key "epsilom"',
    'did you mean "epsilon"?',
  );
  throwsWith(
    () => parseConfig(read(path), path, { overrides: ["k=ten"] }),
    `${path} (--set k=ten)`,
    '"k" must be an integer ≥ 0; found "ten"',
  );
  throwsWith(
    () => parseConfig(read(path), path, { overrides: ["training_objective=foo"] }),
    '"training_objective"',
    '"foo"',
    '"nat", "adv", "ar", "adv_ar"',
  );
});

Deno.test("config: family-specific keys in the wrong family warn", () => {
  const w1 = parseConfig(mnistWith({ momentum: 0.9 }), "w1.json").warnings;
  assert.equal(w1.length, 1);
  assert.match(w1[0], /^w1\.json:\d+: "momentum" is ignored: the MNIST family/);
  const w4 = parseConfig(mnistWith({ dataset: undefined, weight_decay: 0.1 }), "w4.json").warnings;
  assert.match(w4[0], /"weight_decay" is ignored: the MNIST family \(no dataset key/);
  const w2 = parseConfig(gtsrbWith({ learning_rate: 0.1 }), "w2.json").warnings;
  assert.equal(w2.length, 1);
  assert.match(w2[0], /"learning_rate" is ignored by the ResNet family/);
  const w3 = parseConfig(mnistWith({ m: 10, approx_factor: 3 }), "w3.json").warnings;
  assert.match(w3[0], /not a multiple of "approx_factor"/);
});

/**
 * Runs `parseConfig` on a generated text in a child process that is killed after `seconds`
 * (a hang detector, not a timing); returns the child's stdout.
 */
async function parseInChild(makeText: string, seconds: number): Promise<string> {
  const config = new URL("../src/config.ts", import.meta.url).href;
  const code = `import { parseConfig } from ${JSON.stringify(config)};
const text = (${makeText})();
const { warnings } = parseConfig(text, "big.json");
const [first, last] = [warnings[0], warnings.at(-1)];
console.log(JSON.stringify({ chars: text.length, warnings: warnings.length, first, last }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(seconds * 1000),
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `the parse did not finish within ${seconds} s (a hang) ${err}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("config: parsing is linear in the number of keys and lines", async () => {
  // n keys on n lines: `_comment` repeats, repeated and unknown keys, each with a line number.
  const make = (n: number) =>
    `() => {
      const lines = ['{"model_dir": "m",'];
      for (let i = 0; i < ${n}; i++) {
        lines.push(i % 3 === 0 ? '"_comment": "c",' : i % 3 === 1 ? '"epsilon": 0.1,' : '"x' + i + '": 1,');
      }
      lines.push('"k": 3}');
      return lines.join("\\n");
    }`;
  for (const n of [20_000, 200_000]) {
    const r = JSON.parse(await parseInChild(make(n), 120));
    const repeats = Math.floor((n + 1) / 3) - 1, unknown = Math.floor(n / 3);
    assert.equal(r.warnings, repeats + unknown, `${n} keys: warnings`);
    // key i is on line i + 2; repeats are reported first, then unknown keys in file order
    assert.match(r.first, /^big\.json:6: key "epsilon" is given more than once/);
    const lastUnknown = n - 1 - ((n - 1 - 2) % 3);
    assert.match(
      r.last,
      new RegExp(`^big\\.json:${lastUnknown + 2}: unknown key "x${lastUnknown}"`),
    );
  }
  // one unknown key of 4 MB: no suggestion is computed for it
  const long = `() => '{"model_dir": "m",\\n"' + "q".repeat(4_000_000) + '": 1}'`;
  const r = JSON.parse(await parseInChild(long, 120));
  assert.equal(r.warnings, 1);
  assert.match(r.first, /^big\.json:2: unknown key "q+" is ignored$/);
});

Deno.test("config: suggestions are computed only for keys of at most 64 characters", () => {
  // `-`, `_` and spaces are ignored when comparing, so these are near misses of num_steps
  const near = (len: number) => "num_steps" + "_".repeat(len - "num_steps".length);
  const w64 = parseConfig(`{"model_dir": "x", "${near(64)}": 3}`, "l.json").warnings;
  assert.match(w64[0], /did you mean "num_steps"\?/);
  const w65 = parseConfig(`{"model_dir": "x", "${near(65)}": 3}`, "l.json").warnings;
  assert.equal(w65.length, 1);
  assert.ok(!w65[0].includes("did you mean"), w65[0]);
  throwsWith(
    () => parseConfig(`{"model_dir": "x"}`, "l.json", { overrides: [`${near(65)}=3`] }),
    "l.json (--set",
    "unknown key",
  );
});

Deno.test("config: nesting deeper than 64 levels is an error naming the file, line and limit", () => {
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  // the top-level object is level 1: 63 more levels are fine
  const ok = parseConfig(`{"model_dir": "x",\n"deep": ${nested(63)}}`, "d.json");
  assert.equal(ok.warnings.length, 1);
  throwsWith(
    () => parseConfig(`{"model_dir": "x",\n"deep": ${nested(64)}}`, "d.json"),
    "d.json:2:72: invalid JSON",
    "nesting deeper than 64",
  );
  for (const open of ["[", '{"a":']) {
    throwsWith(
      () => parseConfig(`{"model_dir": "x",\n\n"deep": ${open.repeat(200_000)}`, "deep.json"),
      "deep.json:3:",
      "nesting deeper than 64",
    );
  }
});

Deno.test("config: prototype property names are neither keys nor values", () => {
  const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];
  const text = `{"model_dir": "x", ${names.map((n) => `"${n}": 1`).join(", ")}}`;
  const { warnings, config } = parseConfig(text, "p.json");
  assert.equal(warnings.length, names.length);
  for (const n of names) {
    assert.ok(warnings.some((w) => w.includes(`unknown key "${n}" is ignored`)), n);
  }
  assert.equal(Object.getPrototypeOf(config), Object.prototype);
  for (const key of ["dataset", "loss_func", "training_objective", "saliency_type"]) {
    for (const v of ["constructor", "toString", "__proto__"]) {
      throwsWith(
        () => parseConfig(`{"model_dir": "x", "${key}": "${v}"}`, "p.json"),
        `"${key}" must be one of`,
        `found "${v}" (unknown value`,
      );
    }
  }
  for (const n of names) {
    throwsWith(
      () => parseConfig(`{"model_dir": "x"}`, "p.json", { overrides: [`${n}=1`] }),
      `p.json (--set ${n}=1): unknown key "${n}" in override`,
    );
  }
});
