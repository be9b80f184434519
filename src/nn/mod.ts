/**
 * Models and parameters.
 * @module
 */

export * from "./model.ts";
export * from "./mnist_cnn.ts";
export * from "./resnet.ts";
export * from "./params.ts";
export * from "./registry.ts";
export * from "./init.ts";
