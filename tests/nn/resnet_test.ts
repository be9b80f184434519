import { registerModelGoldenTests } from "./model_goldens.ts";

await registerModelGoldenTests("resnet_gtsrb.safetensors");
