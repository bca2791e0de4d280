/**
 * torch.nn.functional's equivalent: every layer op's functional form, PyTorch's name in camelCase,
 * positional arguments in PyTorch's order, keywords as a trailing options object.
 * One export line per op.
 */
export { conv2d } from "../ops/conv2d";
export { maxPool2d } from "../ops/max_pool2d";
export { avgPool2d } from "../ops/avg_pool2d";
export { flatten } from "../ops/flatten";
