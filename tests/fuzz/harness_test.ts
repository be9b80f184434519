import "./_guard.ts";
import assert from "node:assert/strict";
import { fuzz } from "./_harness.ts";

Deno.test("fuzz reports an asynchronous parse that never settles as a hang of that case", async () => {
  await assert.rejects(
    fuzz({
      format: "probe",
      name: "probe.bin",
      cases: [{ how: "never", bytes: new Uint8Array(1) }],
      parse: () => new Promise(() => {}),
      hangSeconds: 1,
    }),
    /probe case 1 \(never, 1 bytes\): did not finish within 1000 ms \(a hang\)/,
  );
});
