import assert from "node:assert/strict";
import { decode } from "fast-png";
import {
  comparisonFigure,
  comparisonLayout,
  type ComparisonModel,
  type ComparisonSpec,
  GROUP_KINDS,
  panelsToPng,
  viridis,
} from "../../src/io/figure.ts";
import {
  drawText,
  fontCharacters,
  GLYPH_HEIGHT,
  missingGlyphs,
  type Raster,
  textHeight,
  textWidth,
} from "../../src/io/font.ts";

const H = 28, W = 28;

/** A deterministic pseudo-random image or map with values in [0, max). */
function pattern(n: number, seed: number, max = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 997) / 997 * max);
}

/** 3 MNIST-like images × 2 models; model 0 did not attack image 2 (it misclassifies it). */
function mnistSpec(): ComparisonSpec {
  const images = [7, 2, 1].map((label, i) => {
    const models: ComparisonModel[] = ["NATURAL", "IG-NORM"].map((name, j) =>
      i === 2 && j === 0 ? { name, predicted: 4 } : {
        name,
        predicted: label,
        map: pattern(H * W, 10 * i + j + 1, 3),
        attack: {
          image: pattern(H * W, 10 * i + j + 2),
          map: pattern(H * W, 10 * i + j + 3, 0.5),
          predicted: label,
          intersection: 0.62 - 0.2 * j,
          kendall: j ? -0.0941 : 0.41,
        },
      }
    );
    return { image: pattern(H * W, i), label, models };
  });
  return { height: H, width: W, channels: 1, pixelMax: 1, images, kTop: 200 };
}

function pixel(
  png: { width: number; data: ArrayLike<number>; channels: number },
  x: number,
  y: number,
) {
  const i = (y * png.width + x) * png.channels;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
}

const grey = (v: number) => {
  const g = Math.round(Math.min(Math.max(v, 0), 1) * 255);
  return [g, g, g];
};

function blankRaster(width: number, height: number): Raster {
  return { width, height, data: new Uint8Array(width * height * 3).fill(255) };
}

/** The bounding box of the non-white pixels of a raster, or null if there are none. */
function inkBox(r: Raster) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      if (r.data[(y * r.width + x) * 3] !== 255) {
        x0 = Math.min(x0, x), y0 = Math.min(y0, y), x1 = Math.max(x1, x), y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

Deno.test("font: '1' has its column of pixels, '-' its row", () => {
  const r = blankRaster(8, GLYPH_HEIGHT);
  drawText(r, "1", 0, 0);
  const ink = (x: number, y: number) => r.data[(y * r.width + x) * 3] === 0;
  for (let y = 0; y < 7; y++) assert.ok(ink(2, y), `'1' column at row ${y}`);
  for (let y = 7; y < GLYPH_HEIGHT; y++) assert.ok(!ink(2, y), `'1' has no descender (row ${y})`);
  for (let y = 0; y < GLYPH_HEIGHT; y++) assert.ok(!ink(0, y) || y === 6, "'1' left column");

  const d = blankRaster(8, GLYPH_HEIGHT);
  drawText(d, "-", 0, 0);
  for (let y = 0; y < GLYPH_HEIGHT; y++) {
    for (let x = 0; x < 8; x++) {
      assert.equal(d.data[(y * 8 + x) * 3] === 0, y === 3 && x < 4, `'-' at (${x}, ${y})`);
    }
  }
});

Deno.test("font: scale draws each font pixel as a square and text widths match the ink", () => {
  const r = blankRaster(40, 30);
  drawText(r, "-", 1, 2, 3, [10, 20, 30]);
  assert.deepEqual(inkBox(r), { x0: 1, y0: 2 + 9, x1: 1 + 12 - 1, y1: 2 + 12 - 1 });
  assert.deepEqual(pixel({ ...r, channels: 3 }, 5, 12), [10, 20, 30]);

  assert.equal(textWidth(""), 0);
  assert.equal(textWidth("1"), 5);
  assert.equal(textWidth("11"), 11);
  assert.equal(textWidth("11", 3), 33);
  assert.equal(textHeight(2), 18);
  // "H" inks its first and last columns, so the ink spans exactly the computed width
  for (const [text, scale] of [["H", 1], ["H-1 H", 2], ["HpH", 3]] as const) {
    const w = textWidth(text, scale);
    const c = blankRaster(w + 10, textHeight(scale) + 10);
    drawText(c, text, 5, 5, scale);
    const b = inkBox(c)!;
    assert.equal(b.x0, 5, text);
    assert.equal(b.x1, 5 + w - 1, text);
  }
  // "p" descends to the last row of the cell, "H" reaches the first
  const c = blankRaster(20, 20);
  drawText(c, "Hp", 0, 0, 2);
  const b = inkBox(c)!;
  assert.equal(b.y0, 0);
  assert.equal(b.y1, textHeight(2) - 1);
});

Deno.test("font: every glyph stays inside its cell", () => {
  for (const ch of fontCharacters()) {
    const w = textWidth(ch, 2), r = blankRaster(w + 8, textHeight(2) + 8);
    drawText(r, ch, 4, 4, 2);
    const b = inkBox(r);
    if (ch === " ") {
      assert.equal(b, null);
      continue;
    }
    assert.ok(b, `glyph ${JSON.stringify(ch)} has ink`);
    assert.ok(b.x0 >= 4 && b.x1 < 4 + w && b.y0 >= 4 && b.y1 < 4 + textHeight(2), ch);
  }
});

Deno.test("font: printable ASCII and the figure symbols are all present", () => {
  let ascii = "";
  for (let c = 32; c <= 126; c++) ascii += String.fromCharCode(c);
  assert.deepEqual(missingGlyphs(ascii + "→←τρ±…×εαλ–−·"), []);
  assert.deepEqual(missingGlyphs("a€b😀€"), ["€", "😀"]);
  assert.throws(() => drawText(blankRaster(9, 9), "x€", 0, 0), /no glyph for "€" \(U\+20AC\)/);
  assert.throws(() => textWidth("😀"), /U\+1F600/);
});

Deno.test("panelsToPng: panels side by side, upscaled to 112 pixels, white gaps", () => {
  const img = pattern(H * W, 3), map = pattern(H * W, 4, 2);
  const bytes = panelsToPng([
    { kind: "image", data: img, height: H, width: W, channels: 1, pixelMax: 1 },
    { kind: "map", data: map, height: H, width: W },
  ]);
  const png = decode(bytes);
  assert.equal(png.width, 2 * 112 + 8);
  assert.equal(png.height, 112);
  assert.deepEqual(pixel(png, 0, 0), grey(img[0]));
  assert.deepEqual(pixel(png, 111, 111), grey(img[H * W - 1]));
  assert.deepEqual(pixel(png, 112, 50), [255, 255, 255]);
  const max = Math.max(...map);
  assert.deepEqual(pixel(png, 120, 0), viridis(map[0] / max));
  assert.deepEqual(pixel(png, 120 + 5, 0), viridis(map[1] / max));
  assert.throws(() => panelsToPng([]), /no panels/);
});

Deno.test("comparisonFigure: the PNG has the layout's size and panels are where it says", () => {
  const spec = mnistSpec();
  const L = comparisonLayout(spec);
  const png = decode(comparisonFigure(spec));
  assert.equal(png.width, L.width);
  assert.equal(png.height, L.height);
  assert.equal(L.scale, 4);
  assert.ok(L.textScale >= 2, "text readable on 112-pixel panels");
  // 3 rows of an original and 2 × 3 model panels, each 112 × 112
  assert.equal(L.panels.length, 3 * 7);
  assert.ok(L.panels.every((p) => p.width === 112 && p.height === 112));
  assert.ok(L.width >= 7 * 112 && L.height >= 3 * 112);

  const at = (row: number, model: number, kind: string) =>
    L.panels.find((p) => p.row === row && p.model === model && p.kind === kind)!;
  // the original of image 1: its top-left and bottom-right pixels, and white just outside
  const o = at(1, -1, "original");
  const img = spec.images[1].image;
  assert.deepEqual(pixel(png, o.x, o.y), grey(img[0]));
  assert.deepEqual(pixel(png, o.x + 4, o.y), grey(img[1]));
  assert.deepEqual(pixel(png, o.x + 111, o.y + 111), grey(img[H * W - 1]));
  assert.deepEqual(pixel(png, o.x - 1, o.y), [255, 255, 255]);
  assert.deepEqual(pixel(png, o.x, o.y - 1), [255, 255, 255]);
  // model 1's attacked image and attacked IG map of image 0, each map scaled to its own max
  const a = spec.images[0].models[1].attack!;
  const ai = at(0, 1, "attacked");
  assert.deepEqual(pixel(png, ai.x + 4 * 5, ai.y + 4 * 2), grey(a.image[2 * W + 5]));
  const am = at(0, 1, "attacked IG");
  const max = Math.max(...a.map);
  assert.deepEqual(pixel(png, am.x + 4 * 3, am.y + 4 * 9), viridis(a.map[9 * W + 3] / max));
  const ig = at(2, 1, "IG"), m = spec.images[2].models[1].map!;
  assert.deepEqual(pixel(png, ig.x, ig.y), viridis(m[0] / Math.max(...m)));
  // panels of a row share a top edge, and the order is original, IG, attacked, attacked IG
  const row0 = L.panels.filter((p) => p.row === 0);
  assert.ok(row0.every((p) => p.y === row0[0].y));
  assert.deepEqual(row0.map((p) => p.kind), ["original", ...GROUP_KINDS, ...GROUP_KINDS]);
  assert.ok(row0.every((p, k) => k === 0 || p.x > row0[k - 1].x + row0[k - 1].width));
});

Deno.test("comparisonFigure: texts are drawn where the layout puts them", () => {
  const spec = mnistSpec();
  const L = comparisonLayout(spec);
  const png = decode(comparisonFigure(spec));
  const texts = L.texts.map((t) => t.text);
  for (const t of ["NATURAL", "IG-NORM", "original", "IG", "attacked", "attacked IG", "label 7"]) {
    assert.ok(texts.includes(t), `${t} is in the figure`);
  }
  assert.ok(texts.includes("pred 7 → 7, top-200 0.62, τ 0.41"), texts.join(" | "));
  assert.ok(texts.includes("pred 2 → 2, top-200 0.42, τ −0.09"), texts.join(" | "));
  assert.ok(texts.some((t) => t.includes("max")), "the colour bar is labelled");
  assert.ok(texts.some((t) => /scaled to its own max/.test(t)), "the per-panel scaling is said");
  for (const name of ["label 2", "pred 7 → 7, top-200 0.62, τ 0.41", "NATURAL"]) {
    const t = L.texts.find((t) => t.text === name)!;
    assert.equal(t.width, textWidth(t.text, t.scale));
    const r = blankRaster(L.width, L.height);
    drawText(r, t.text, t.x, t.y, t.scale, t.color);
    let inked = 0;
    for (let y = t.y; y < t.y + textHeight(t.scale); y++) {
      for (let x = t.x; x < t.x + t.width; x++) {
        const want = pixel({ ...r, channels: 3 }, x, y);
        if (want[0] === 255) continue;
        inked++;
        assert.deepEqual(pixel(png, x, y), want, `${name} at (${x}, ${y})`);
      }
    }
    assert.ok(inked > 0);
  }
  // the colour bar runs from viridis(0) to viridis(1)
  const b = L.colorBar;
  assert.deepEqual(pixel(png, b.x, b.y), viridis(0));
  assert.deepEqual(pixel(png, b.x + b.width - 1, b.y + b.height - 1), viridis(1));
});

/** Whether two rectangles share a pixel. */
function overlap(
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number; width: number; height: number },
): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height &&
    b.y < a.y + a.height;
}

const box = (t: { x: number; y: number; width: number; scale: number }) => ({
  x: t.x,
  y: t.y,
  width: t.width,
  height: textHeight(t.scale),
});

function assertNoOverlap(spec: ComparisonSpec) {
  const L = comparisonLayout(spec);
  const inside = (r: ReturnType<typeof box>) =>
    r.x >= 0 && r.y >= 0 && r.x + r.width <= L.width && r.y + r.height <= L.height;
  const texts = L.texts.map(box);
  const things = [...L.panels, ...L.rules, L.colorBar];
  for (const r of [...texts, ...things]) {
    assert.ok(inside(r), `inside the figure: ${JSON.stringify(r)}`);
  }
  texts.forEach((a, i) =>
    texts.forEach((b, j) =>
      assert.ok(i === j || !overlap(a, b), `${L.texts[i].text} / ${L.texts[j].text}`)
    )
  );
  things.forEach((a, i) =>
    things.forEach((b, j) => assert.ok(i === j || !overlap(a, b), JSON.stringify([a, b])))
  );
  texts.forEach((t, i) => {
    for (const p of things) {
      if (!overlap(t, p)) continue;
      // only the "not attacked" words, wholly inside a panel without data
      const host = L.panels.find((q) => q === p && !q.panel);
      assert.ok(host, `${L.texts[i].text} overlaps ${JSON.stringify(p)}`);
      assert.ok(
        t.x >= p.x && t.y >= p.y && t.x + t.width <= p.x + p.width &&
          t.y + t.height <= p.y + p.height,
      );
    }
  });
  return L;
}

Deno.test("comparisonFigure: no text overlaps another text or a panel, even with long names", () => {
  assertNoOverlap(mnistSpec());
  const long = mnistSpec();
  for (const im of long.images) {
    im.models[0].name = "a model with a very long name indeed";
    im.label = "a long class name";
  }
  const L = assertNoOverlap(long);
  const name = L.texts.find((t) => t.text === long.images[0].models[0].name)!;
  const rule = L.rules[0];
  assert.ok(rule.width >= name.width && name.x >= rule.x, "the group widens to its name");
  // Flower-sized RGB panels, one model: the note under the colour bar goes on its own line
  const C = 3, S = 128;
  const flower: ComparisonSpec = {
    height: S,
    width: S,
    channels: C,
    pixelMax: 255,
    images: [0, 1].map((i) => ({
      image: pattern(S * S * C, i, 255),
      label: "sunflower",
      models: [{
        name: "IG-SUM-NORM",
        predicted: "sunflower",
        map: pattern(S * S, i + 5),
        attack: {
          image: pattern(S * S * C, i + 7, 255),
          map: pattern(S * S, i + 9),
          predicted: "sunflower",
          intersection: 1,
          kendall: NaN,
        },
      }],
    })),
  };
  const F = assertNoOverlap(flower);
  assert.equal(F.scale, 1);
  assert.ok(F.textScale >= 2);
  assert.ok(F.texts.some((t) => t.text.includes("τ n/a")), "a NaN τ shows as n/a");
  const png = decode(comparisonFigure(flower));
  const o = F.panels[0], img = flower.images[0].image;
  const v = (k: number) => Math.round(img[k] / 255 * 255);
  assert.deepEqual(pixel(png, o.x, o.y), [v(0), v(1), v(2)]);
});

Deno.test("comparisonFigure: an image a model did not attack shows 'not attacked' panels", () => {
  const spec = mnistSpec();
  const L = comparisonLayout(spec);
  const png = decode(comparisonFigure(spec));
  const missing = L.panels.filter((p) => !p.panel);
  assert.deepEqual(missing.map((p) => [p.row, p.model, p.kind]), [
    [2, 0, "IG"],
    [2, 0, "attacked"],
    [2, 0, "attacked IG"],
  ]);
  for (const p of missing) {
    const words = L.texts.filter((t) =>
      t.x >= p.x && t.x + t.width <= p.x + p.width && t.y >= p.y && t.y < p.y + p.height
    );
    assert.equal(words.map((t) => t.text).join(" "), "not attacked");
    const corner = pixel(png, p.x, p.y);
    assert.ok(corner[0] === corner[1] && corner[1] === corner[2] && corner[0] < 255);
    const t = words[0];
    let dark = 0;
    for (let y = t.y; y < t.y + textHeight(t.scale); y++) {
      for (let x = t.x; x < t.x + t.width; x++) if (pixel(png, x, y)[0] < corner[0]) dark++;
    }
    assert.ok(dark > 0, "the words are drawn");
  }
  // its numbers: the prediction only
  const texts = L.texts.map((t) => t.text);
  assert.ok(texts.includes("pred 4"));
  assert.equal(texts.filter((t) => t.startsWith("pred 4")).length, 1);
  // the IG map of the original is shown when given, even without an attack
  spec.images[2].models[0].map = pattern(H * W, 99);
  const L2 = comparisonLayout(spec);
  assert.deepEqual(L2.panels.filter((p) => !p.panel).map((p) => p.kind), [
    "attacked",
    "attacked IG",
  ]);
});

Deno.test("comparisonFigure: every character the figure draws has a glyph", () => {
  const spec = mnistSpec();
  spec.images[0].label = "airplane (class 0)";
  spec.images[2].label = 3456789;
  spec.images[1].models[1].attack!.kendall = NaN;
  delete spec.kTop;
  const L = comparisonLayout(spec);
  const used = new Set(L.texts.flatMap((t) => [...t.text]));
  for (const ch of "→τ−0123456789k/") assert.ok(used.has(ch), `the figure uses ${ch}`);
  assert.deepEqual(missingGlyphs([...used].join("")), []);
  // drawing them all: no glyph is missing, each leaves ink
  for (const ch of used) {
    if (ch === " ") continue;
    const r = blankRaster(20, 20);
    drawText(r, ch, 0, 0, 2);
    assert.ok(inkBox(r), ch);
  }
});

Deno.test("comparisonFigure: bad specs are rejected with errors that say what is wrong", () => {
  const bad = (edit: (s: ComparisonSpec) => void, re: RegExp) => {
    const s = mnistSpec();
    edit(s);
    assert.throws(() => comparisonFigure(s), (e: Error) => {
      assert.ok(e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError));
      assert.match(e.message, /^comparisonFigure: /);
      assert.match(e.message, re);
      return true;
    });
  };
  bad((s) => s.images = [], /no images/);
  bad((s) => s.channels = 2, /channels must be 1 or 3, got 2/);
  bad((s) => s.pixelMax = 0, /pixelMax/);
  bad((s) => s.scale = 0.5, /scale/);
  bad((s) => s.height = 1e9, /height and width/);
  bad(
    (s) => s.images[1].image = new Float32Array(5),
    /image 1: the original \[28, 28, 1\] has 5 values, expected 784/,
  );
  bad(
    (s) => s.images[0].models[1].map = new Float32Array(783),
    /image 0, model "IG-NORM": IG map \[28, 28\] has 783 values, expected 784/,
  );
  bad(
    (s) => s.images[1].models[0].attack!.image = new Float32Array(10),
    /image 1, model "NATURAL": attacked image/,
  );
  bad((s) => (s.images as unknown[])[1] = null, /every image must be an object/);
  bad((s) => (s.images[1].models as unknown[])[0] = 7, /image 1: every model result must be/);
  bad((s) => (s.images[0] as { models: unknown }).models = {}, /image 0: models must be an array/);
  bad((s) => s.images[2].models.pop(), /image 2: expected 2 model results, got 1/);
  bad(
    (s) => s.images[1].models.reverse(),
    /image 1, model 0: name "IG-NORM" differs from "NATURAL"/,
  );
  bad(
    (s) => s.images[0].label = "ciné €",
    /cannot draw "label ciné €": the font has no glyph for "é", "€"/,
  );
  bad(
    (s) => s.images = Array.from({ length: 2000 }, () => s.images[0]),
    /2000 images × 2 models of 28×28 pixels at scale 4 would make a figure of over \d+ pixels/,
  );
});

Deno.test("panelsToPng: a NaN in a map does not blank the rest of the map", () => {
  const map = Float32Array.from({ length: 4 }, (_, i) => i + 1);
  map[0] = NaN;
  const png = decode(panelsToPng([{ kind: "map", data: map, height: 2, width: 2 }]));
  const s = 56; // 2-pixel panels are upscaled to 112
  assert.deepEqual(pixel(png, 0, 0), viridis(0));
  assert.deepEqual(pixel(png, s, 0), viridis(2 / 4));
  assert.deepEqual(pixel(png, s, s), viridis(1));
});
