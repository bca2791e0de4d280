/**
 * Parameter-free stand-ins for activation modules, on tfjs's own ops: what the model-API tests
 * need to rebuild torch architectures (keys, shapes, outputs) without depending on gradlab's
 * activation ops, which are tested on their own.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../../lib/nn/module";

export class TfReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

export class TfTanh extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
}
