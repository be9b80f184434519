/**
 * GTSRB (German Traffic Sign Recognition Benchmark) from either published form:
 *
 * - the official archives `GTSRB_Final_Training_Images.zip` (PPM images in
 *   `GTSRB/Final_Training/Images/NNNNN/`, one folder per class, each with `GT-NNNNN.csv`
 *   giving every image's region of interest and class), `GTSRB_Final_Test_Images.zip`
 *   (`GTSRB/Final_Test/Images/*.ppm`) and `GTSRB_Final_Test_GT.zip` (`GT-final_test.csv`,
 *   the test images' regions and classes), zipped or extracted: each image is cropped to its
 *   region (the CSV's `Roi.X2`/`Roi.Y2` are inclusive) and resized to 32×32;
 * - the pickled 32×32 split (`train.p`, `test.p`, each a dict of NumPy arrays `features`
 *   and `labels`), read with a restricted reader (`valid.p` is not used).
 * @module
 */

import { decodePpm } from "./decode.ts";
import { crop, resize } from "./image.ts";
import { baseName, type SourceFile, yieldToEvents } from "./source.ts";
import type { LabelledImages } from "./write.ts";

/** GTSRB's number of classes and prepared image size. */
export const GTSRB = {
  classes: 43,
  size: 32,
  /** Default training images per class after balancing. */
  perClass: 10000,
} as const;

/** Which published form a source holds. */
export type GtsrbForm = "official" | "pickle";

const TRAIN_CSV = /(^|\/)Final_Training\/Images\/(\d{5})\/GT-(\d{5})\.csv$/;
const TEST_GT = /(^|\/)GT-final_test\.csv$/;
const TEST_IMAGE = /(^|\/)Final_Test\/Images\/([^/]+)$/;

/** What a GTSRB source must hold, for error messages. */
export const GTSRB_EXPECTED =
  "expected GTSRB's official archives GTSRB_Final_Training_Images.zip, " +
  "GTSRB_Final_Test_Images.zip and GTSRB_Final_Test_GT.zip (zipped or extracted), or the " +
  "pickled split train.p and test.p";

/** Archives worth opening in a GTSRB source folder. */
export function gtsrbArchive(base: string): boolean {
  return /^GTSRB/i.test(base);
}

/**
 * Which form `files` hold.
 * @throws Error naming `src` when they hold neither or both.
 */
export function detectGtsrb(files: SourceFile[], src: string): GtsrbForm {
  const official = files.some((f) => TRAIN_CSV.test(f.path));
  const pickle = files.some((f) => baseName(f.path) === "train.p");
  if (official && pickle) {
    throw new Error(
      `${src}: holds both the official GTSRB archives and the pickled split (train.p): ` +
        "give --src one of them",
    );
  }
  if (!official && !pickle) {
    throw new Error(`${src}: no GTSRB training data found: ${GTSRB_EXPECTED}`);
  }
  return official ? "official" : "pickle";
}

/** One row of a GTSRB CSV. */
export interface GtsrbRow {
  /** Image file name, relative to the CSV's folder. */
  file: string;
  /** Region of interest, inclusive corners. */
  roi: [number, number, number, number];
  /** Class. */
  classId: number;
}

/**
 * Parses a GTSRB annotation CSV (`;`-separated, header `Filename;Width;Height;Roi.X1;
 * Roi.Y1;Roi.X2;Roi.Y2;ClassId`).
 * @throws Error naming `label` and the line: a missing column, a field that is not an
 *   integer, a class outside 0 … 42.
 */
export function parseGtsrbCsv(text: string, label: string): GtsrbRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const head = (lines[0] ?? "").split(";").map((s) => s.trim());
  const cols = ["Filename", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"];
  const at = cols.map((c) => head.indexOf(c));
  const missing = cols.filter((_, i) => at[i] < 0);
  if (missing.length) {
    throw new Error(
      `${label}: not a GTSRB annotation file with classes: the header lacks ` +
        `${missing.join(", ")} (expected ${cols.join(";")} among its columns)`,
    );
  }
  return lines.slice(1).map((line, i) => {
    const f = line.split(";").map((s) => s.trim());
    const num = (k: number) => {
      const v = Number(f[at[k]]);
      if (!/^\d+$/.test(f[at[k]] ?? "")) {
        throw new Error(
          `${label}: line ${i + 2}: ${cols[k]} ${JSON.stringify(f[at[k]] ?? "")} is not a ` +
            "non-negative integer",
        );
      }
      return v;
    };
    const classId = num(5);
    if (classId >= GTSRB.classes) {
      throw new Error(
        `${label}: line ${i + 2}: ClassId ${classId} out of range (expected 0 … ${
          GTSRB.classes - 1
        })`,
      );
    }
    if (!f[at[0]]) throw new Error(`${label}: line ${i + 2}: empty Filename`);
    return { file: f[at[0]], roi: [num(1), num(2), num(3), num(4)], classId };
  });
}

/** Decodes, crops and resizes the images of `rows` into a split. */
async function readRows(
  rows: { file: SourceFile; row: GtsrbRow; csv: string }[],
  progress?: (done: number, total: number) => void,
): Promise<LabelledImages> {
  const S = GTSRB.size, size = S * S * 3;
  const out: LabelledImages = {
    images: new Uint8Array(rows.length * size),
    labels: new Int32Array(rows.length),
    height: S,
    width: S,
  };
  for (let i = 0; i < rows.length; i++) {
    const { file, row, csv } = rows[i];
    const img = decodePpm(await file.read(), file.label);
    const [x1, y1, x2, y2] = row.roi;
    let region;
    try {
      region = crop(img, x1, y1, x2 + 1, y2 + 1);
    } catch (e) {
      throw new Error(`${csv}: the region of ${row.file}: ${(e as Error).message}`);
    }
    out.images.set(resize(region, S, S).data, i * size);
    out.labels[i] = row.classId;
    progress?.(i + 1, rows.length);
    if (i % 64 === 63) await yieldToEvents();
  }
  return out;
}

/** Options of the GTSRB readers. */
export interface GtsrbOptions {
  /** Called after each decoded image, per split. */
  progress?: (split: "train" | "test", done: number, total: number) => void;
}

/**
 * Reads the official form: the training images of every class folder and the test images
 * with the labels of `GT-final_test.csv`.
 * @throws Error naming the source, CSV or image: a missing CSV or image, a corrupt file.
 */
export async function readGtsrbOfficial(
  files: SourceFile[],
  src: string,
  opts: GtsrbOptions = {},
): Promise<{ train: LabelledImages; test: LabelledImages }> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/") + 1);
  const lookup = (csv: SourceFile, row: GtsrbRow) => {
    const file = byPath.get(dirOf(csv.path) + row.file);
    if (!file) {
      throw new Error(`${csv.label}: lists ${row.file}, which is not beside it in ${src}`);
    }
    return { file, row, csv: csv.label };
  };
  const trainRows = [];
  for (const csv of files.filter((f) => TRAIN_CSV.test(f.path))) {
    const rows = parseGtsrbCsv(new TextDecoder().decode(await csv.read()), csv.label);
    for (const row of rows) trainRows.push(lookup(csv, row));
  }
  const gts = files.filter((f) => TEST_GT.test(f.path));
  if (gts.length !== 1) {
    throw new Error(
      gts.length === 0
        ? `${src}: no GT-final_test.csv, the test images' classes: add GTSRB_Final_Test_GT.zip ` +
          "(or the GT-final_test.csv it holds)"
        : `${src}: GT-final_test.csv found ${gts.length} times (${
          gts.map((f) => f.label).join(", ")
        })`,
    );
  }
  const testImages = new Map<string, SourceFile>();
  for (const f of files) {
    const m = TEST_IMAGE.exec(f.path);
    if (m) testImages.set(m[2], f);
  }
  const gt = gts[0];
  const testRows = parseGtsrbCsv(new TextDecoder().decode(await gt.read()), gt.label).map((row) => {
    const file = testImages.get(row.file);
    if (!file) {
      throw new Error(
        `${gt.label}: lists ${row.file}, not found under Final_Test/Images in ${src} ` +
          "(add GTSRB_Final_Test_Images.zip or its extracted folder)",
      );
    }
    return { file, row, csv: gt.label };
  });
  const train = await readRows(trainRows, (d, t) => opts.progress?.("train", d, t));
  const test = await readRows(testRows, (d, t) => opts.progress?.("test", d, t));
  return { train, test };
}

/** An array as the restricted pickle reader returns it. */
export interface PickleArray {
  /** NumPy dtype name. */
  dtype: string;
  /** Shape. */
  shape: number[];
  /** Flat data. */
  data: ArrayLike<number | bigint>;
}

/** Reads the arrays of a pickle file: the restricted reader (`pickle.ts`). */
export type PickleReader = (bytes: Uint8Array, name: string) => Record<string, PickleArray>;

/** The `features` and `labels` of one pickled split, checked. */
function pickledSplit(arrays: Record<string, PickleArray>, label: string): LabelledImages {
  const { features, labels } = arrays;
  if (!features || !labels) {
    throw new Error(
      `${label}: expected a dict with \`features\` and \`labels\`, found keys ` +
        `${Object.keys(arrays).join(", ") || "none"}`,
    );
  }
  const S = GTSRB.size;
  const [n, h, w, c] = features.shape;
  if (features.dtype !== "uint8" || features.shape.length !== 4 || h !== S || w !== S || c !== 3) {
    throw new Error(
      `${label}: \`features\` must be uint8 of shape [n, ${S}, ${S}, 3], found ` +
        `${features.dtype} of shape [${features.shape.join(", ")}]`,
    );
  }
  if (
    !/^u?int(8|16|32|64)$/.test(labels.dtype) || labels.shape.length !== 1 || labels.shape[0] !== n
  ) {
    throw new Error(
      `${label}: \`labels\` must be integers of shape [${n}], found ${labels.dtype} of shape ` +
        `[${labels.shape.join(", ")}]`,
    );
  }
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(labels.data[i]);
    if (!(v >= 0 && v < GTSRB.classes)) {
      throw new Error(
        `${label}: label ${v} at index ${i} out of range (expected 0 … ${GTSRB.classes - 1})`,
      );
    }
    lab[i] = v;
  }
  const data = features.data;
  if (data.length !== n * S * S * 3) {
    throw new Error(
      `${label}: \`features\` holds ${data.length} values for shape [${n}, ${S}, ${S}, 3]`,
    );
  }
  return {
    images: data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>),
    labels: lab,
    height: S,
    width: S,
  };
}

/**
 * Reads the pickled form: `train.p` and `test.p` (found anywhere in the source, once each).
 * @throws Error naming the source or file: a missing or repeated file, unexpected contents.
 */
export async function readGtsrbPickle(
  files: SourceFile[],
  src: string,
  read: PickleReader,
): Promise<{ train: LabelledImages; test: LabelledImages }> {
  const one = async (name: string) => {
    const found = files.filter((f) => baseName(f.path) === name);
    if (found.length !== 1) {
      throw new Error(
        found.length
          ? `${src}: ${name} found ${found.length} times (${found.map((f) => f.label).join(", ")})`
          : `${src}: ${name} not found beside train.p (the pickled split is train.p, test.p)`,
      );
    }
    return pickledSplit(read(await found[0].read(), found[0].label), found[0].label);
  };
  return { train: await one("train.p"), test: await one("test.p") };
}
