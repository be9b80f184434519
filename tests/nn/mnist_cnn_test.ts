import { registerModelGoldenTests } from "./model_goldens.ts";

await registerModelGoldenTests("mnist_cnn.safetensors");
