/**
 * gradlab's public surface: custom-gradient ops, the seed's layer, PyTorch-exact losses and
 * optimizers, a float32 gradcheck, ONNX export and import, and backend selection. Everything else
 * may change.
 */
export * as tf from "@tensorflow/tfjs";

export { defineFunction, FunctionCtx, BackwardContractError, FunctionCallError } from "./function";
export type { Arg, Attribute, CustomFunction, FunctionDefinition, Gradient, OutputGradients, Outputs, SymbolicArgs } from "./function";
export { LinearF } from "./ops/linear";

// The model API (issue 11): modules and containers, optimizers and schedulers, state on disk.
export { Module, ModuleStructureError } from "./nn/module";
export { Parameter } from "./nn/parameter";
export { Sequential } from "./nn/sequential";
export { ModuleList } from "./nn/module_list";
export { ModuleDict } from "./nn/module_dict";
export { Linear, type LinearOptions } from "./nn/linear";
export { LinearNoBiasF } from "./ops/linear_no_bias";
export { Optimizer, type OptimizerStateDict, type ParamGroup } from "./optim/optimizer";
export { SGD, type SGDOptions } from "./optim/sgd";
export { Adam, type AdamOptions } from "./optim/adam";
export { AdamW, type AdamWOptions } from "./optim/adamw";
export { LRScheduler, StepLR, CosineAnnealingLR, type SchedulerStateDict } from "./optim/lr_scheduler";
export { saveState, saveStateAsync, loadState } from "./io/state_file";
export { MSELoss, mseLoss, type Reduction } from "./nn/mse_loss";
export { StateDictError, type StateDict } from "./nn/state_dict";
export { backward } from "./autograd/backward";

// Layer ops (lib/ops/<op>.ts, each a defineFunction with a hand-written backward) and their modules.
export * as F from "./nn/functional";
export { ReluF } from "./ops/relu";
export { LeakyReluF } from "./ops/leaky_relu";
export { SigmoidF } from "./ops/sigmoid";
export { TanhF } from "./ops/tanh";
export { GeluF, type GeluApproximate } from "./ops/gelu";
export { SoftmaxF } from "./ops/softmax";
export { LogSoftmaxF } from "./ops/log_softmax";
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax } from "./nn/activation";
export { CrossEntropyF, type CrossEntropyOptions } from "./ops/losses/cross_entropy";
export { NllLossF, type NllLossOptions } from "./ops/losses/nll_loss";
export { BceWithLogitsF, type BceWithLogitsOptions } from "./ops/losses/bce_with_logits";
export { CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss } from "./nn/loss";
export { LayerNormF, type LayerNormOptions } from "./ops/layer_norm";
export { LayerNorm, type LayerNormModuleOptions } from "./nn/normalization";
export { DropoutF, type DropoutOptions } from "./ops/dropout";
export { Dropout } from "./nn/dropout";

export { gradcheck, gradcheckAsync, type GradcheckOptions } from "./gradcheck/gradcheck";
export { GradcheckError, formatGradcheckReport, type GradcheckReport, type InputReport } from "./gradcheck/report";
export { FLOAT32_TOLERANCES, type Tolerances } from "./gradcheck/tolerance";

// Convolution, pooling and flatten (issue 11): ops with hand-written backwards, their torch.nn.functional forms, modules.
export { Conv2dF, conv2d, type Conv2dOptions } from "./ops/conv2d";
export { MaxPool2dF, maxPool2d, type MaxPool2dOptions } from "./ops/max_pool2d";
export { AvgPool2dF, avgPool2d, type AvgPool2dOptions } from "./ops/avg_pool2d";
export { FlattenF, flatten } from "./ops/flatten";
export { Conv2d, type Conv2dModuleOptions } from "./nn/conv";
export { MaxPool2d, AvgPool2d } from "./nn/pooling";
export { Flatten } from "./nn/flatten";

export { exportOnnx } from "./onnx/export";
export type { ExportOptions, CustomOpsMode, DynamicAxes } from "./onnx/export_options";
export type { ExportTrainingMode } from "./onnx/training_mode";
export { importOnnx } from "./onnx/import";
export { OnnxModel } from "./onnx/onnx_model";
export { OnnxExportError, OnnxImportError } from "./onnx/errors";
export { describeOnnx, formatOnnxDescription, type OnnxModelDescription } from "./onnx/describe";
export type { SymbolicGraph, SymbolicValue } from "./onnx/symbolic";

export { setBackend, backendInfo, BACKEND_CHOICES, type BackendChoice, type BackendInfo } from "./backend";
export { setWebGPUDebug } from "./webgpu/runner";
export { setWebGPUKernels } from "./webgpu/linear_kernels";
export { Generator, manualSeed, defaultGenerator } from "./random";
export { setWarningHandler } from "./warnings";
export { runSeedExperiment, type SeedExperimentOptions, type SeedExperimentResult } from "./experiments/seed";

// Reliability (issue 9): the non-finite check and the training stop, as the CLI uses them.
export { NonFiniteError, findNonFiniteParameter, formatEntry, type NonFiniteEntry } from "./nn/non_finite";
export { TrainingInterruptedError, type TrainingProgress } from "./experiments/seed";

// ONNX import: options, budgets and the op table (issue 12).
export type { ImportOptions } from "./onnx/import";
export { DEFAULT_BUDGETS, type ImportBudgets } from "./onnx/import_budgets";
export { STANDARD_OPS as ONNX_IMPORT_OPS } from "./onnx/import_ops";
