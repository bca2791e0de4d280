/**
 * torch.nn.functional's equivalent: every layer op's functional form, PyTorch's name in camelCase,
 * positional arguments in PyTorch's order, keywords as a trailing options object.
 * One export line per op.
 */
export { relu } from "../ops/relu";
export { leakyRelu } from "../ops/leaky_relu";
export { sigmoid } from "../ops/sigmoid";
export { tanh } from "../ops/tanh";
export { gelu } from "../ops/gelu";
export { softmax } from "../ops/softmax";
export { logSoftmax } from "../ops/log_softmax";
export { crossEntropy } from "../ops/losses/cross_entropy";
export { nllLoss } from "../ops/losses/nll_loss";
export { binaryCrossEntropyWithLogits } from "../ops/losses/bce_with_logits";
export { mseLoss } from "./mse_loss";
export { layerNorm } from "../ops/layer_norm";
export { dropout } from "../ops/dropout";
export { conv2d } from "../ops/conv2d";
export { maxPool2d } from "../ops/max_pool2d";
export { avgPool2d } from "../ops/avg_pool2d";
export { flatten } from "../ops/flatten";
