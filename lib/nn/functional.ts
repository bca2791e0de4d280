/**
 * torch.nn.functional's equivalent: every layer op's functional form, PyTorch's name in camelCase,
 * positional arguments in PyTorch's order, keywords as a trailing options object.
 * One export line per op.
 */
export { conv2d } from "../ops/conv2d";
