import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { formatSummary, prepareDataset } from "../../src/prepare/run.ts";

function idx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

async function writeFashion(dir: string, trainLabels: number[], rows = 28): Promise<void> {
  const n = trainLabels.length;
  await Deno.writeFile(
    join(dir, "train-images-idx3-ubyte.gz"),
    gzipSync(idx(0x803, [n, rows, 28], new Uint8Array(n * rows * 28))),
  );
  await Deno.writeFile(
    join(dir, "train-labels-idx1-ubyte"),
    idx(0x801, [n], Uint8Array.from(trainLabels)),
  );
  await Deno.writeFile(
    join(dir, "t10k-images-idx3-ubyte"),
    idx(0x803, [3, 28, 28], new Uint8Array(3 * 784)),
  );
  await Deno.writeFile(
    join(dir, "t10k-labels-idx1-ubyte"),
    idx(0x801, [3], Uint8Array.of(9, 9, 0)),
  );
}

Deno.test("fashion_mnist: the IDX files are checked and counted, nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFashion(dir, [0, 1, 1, 2, 9]);
    const r = await prepareDataset("fashion_mnist", { src: dir, out: join(dir, "out") });
    assert.deepEqual(r.train.counts, [1, 2, 1, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(r.test.counts, [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.deepEqual(r.written, []);
    assert.match(
      formatSummary(r, (s) => `${s}s`),
      /checked: 5 training and 3 test images, nothing to convert/,
    );
    assert.equal([...Deno.readDirSync(dir)].length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fashion_mnist: a bad label, a wrong image size, a missing file are named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFashion(dir, [0, 10]);
    await assert.rejects(
      prepareDataset("fashion_mnist", { src: dir, out: dir }),
      /train-labels-idx1-ubyte: label 10 at index 1 out of range \(expected 0 … 9\)/,
    );
    await writeFashion(dir, [0, 1], 27);
    await assert.rejects(
      prepareDataset("fashion_mnist", { src: dir, out: dir }),
      /train-images-idx3-ubyte\.gz: images of 27×28 pixels, expected 28×28/,
    );
    await Deno.remove(join(dir, "t10k-labels-idx1-ubyte"));
    await writeFashion(dir, [0, 1]);
    await Deno.remove(join(dir, "t10k-labels-idx1-ubyte"));
    await assert.rejects(
      prepareDataset("fashion_mnist", { src: dir, out: dir }),
      /t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) not found: Fashion-MNIST is the four IDX files/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
