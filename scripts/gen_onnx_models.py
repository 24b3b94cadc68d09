#!/usr/bin/env python3
"""Generates the project's small ONNX models in models/onnx/ with Debian's python3-onnx.

  residual_block.onnx   conv-bn-relu, conv-bn, skip add, relu, global pool, flatten, gemm (opset 13)
  concat_block.onnx     three branches (1x1, 3x3, maxpool) concatenated, Clip(0,6), and the
                        Shape/Gather/Unsqueeze/Concat subgraph torch emits for x.view(n, -1) (opset 11)
  channel_shuffle.onnx  grouped 1x1 conv, Reshape-Transpose-Reshape channel shuffle, depthwise conv
                        with auto_pad SAME_UPPER, average pool (opset 9: Reshape shape input, Unsqueeze
                        axes attribute)
  channel_split.onnx    torch's split/chunk on channels as ONNX Split (sizes input) and Slice (ends
                        INT64_MAX, negative axis), a ShuffleNet v2 unit around them, and a slice of a
                        split output (opset 13)
  norm_heads.onnx       conv-relu features with SSD's L2Norm over the channels (ReduceL2, Add eps, Div
                        broadcast along the channels, per-channel scale), a classifier head with Softmax
                        and LogSoftmax, and a ReduceMax over the columns (opset 13)
  det_seg_heads.onnx    conv-relu features with a bilinear (half_pixel) and a nearest (asymmetric) x2
                        Resize, SSD's box-head layout (Reshape to rank 5, Transpose [0,3,4,1,2],
                        Reshape to [N, boxes, 4]), a Clip(-1, 1) and an Expand of a runtime tensor
                        read by a Mul (opset 13)
  decoder_lrn.onnx      conv, AlexNet's LRN (size 5), and an FCN-style decoder: ConvTranspose k4 s2 p1,
                        ReLU, grouped ConvTranspose k3 s2 p1 with output_padding 1 (opset 13)
  concat_axes.onnx      conv and relu outputs concatenated along the rows (three inputs), the columns
                        (negative axis) and the channels (opset 13)
  matmul_rows.onnx      a batch-2 [2, 4, 6, 40] tensor's rows through a constant [40, 12] MatMul (a
                        transformer's linear layer), after a ReLU (opset 13)
  split_rows.onnx       a batch-2 conv output split along the rows ([2, 4]) and sliced along the columns
                        ([1, 3)), and a 1-row tensor split along its columns (opset 13)
  lstm_batch3.onnx      an LSTM over a batch of 3 sequences ([4, 3, 5], hidden 6, with biases), its Y
                        and Y_h both graph outputs (opset 13)
  gru_rnn.onnx          a GRU with linear_before_reset=0 and biases (hidden 4) feeding a simple RNN
                        (hidden 3) over 6 steps of 5 features (opset 13)

Weights are drawn from a fixed seed, so the files are reproducible. Usage:
  /usr/bin/python3 scripts/gen_onnx_models.py [OUTDIR]   (default models/onnx)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(20240501)


def weights(name, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    bound = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return numpy_helper.from_array(RNG.uniform(-bound, bound, size=shape).astype(np.float32), name)


def batchnorm_params(prefix, c):
    return [
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c).astype(np.float32), prefix + "_gamma"),
        numpy_helper.from_array(RNG.uniform(-0.2, 0.2, c).astype(np.float32), prefix + "_beta"),
        numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), prefix + "_mean"),
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c).astype(np.float32), prefix + "_var"),
    ]


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save(model, path):
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)  # value_info lets the importer check its shapes
    onnx.save(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def residual_block(out):
    c = 8
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var"], ["b1"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "bias2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2_gamma", "bn2_beta", "bn2_mean", "bn2_var"], ["b2"],
                         name="bn2", epsilon=1e-3),
        helper.make_node("Add", ["b2", "input"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    inits = [weights("w1", c, c, 3, 3), weights("w2", c, c, 3, 3),
             numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), "bias2"),
             weights("fc_w", 10, c), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, 10).astype(np.float32), "fc_b")]
    inits += batchnorm_params("bn1", c) + batchnorm_params("bn2", c)
    graph = helper.make_graph(nodes, "residual_block",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, 12, 12])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "residual_block.onnx"))


def concat_block(out):
    nodes = [
        helper.make_node("Conv", ["input", "wa", "ba"], ["a"], name="branch_1x1", kernel_shape=[1, 1]),
        helper.make_node("Conv", ["input", "wb", "bb"], ["b"], name="branch_3x3", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["input"], ["p"], name="branch_pool", kernel_shape=[3, 3], strides=[1, 1],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["a", "b", "p"], ["cat"], name="concat", axis=1),
        helper.make_node("Clip", ["cat", "zero", "six"], ["act"], name="relu6"),
        helper.make_node("MaxPool", ["act"], ["pooled"], name="pool", kernel_shape=[2, 2], strides=[2, 2],
                         ceil_mode=1),
        # torch's x.view(x.size(0), -1): a shape subgraph folded at import
        helper.make_node("Shape", ["pooled"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "idx0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], name="unsqueeze", axes=[0]),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], name="target_shape", axis=0),
        helper.make_node("Reshape", ["pooled", "target"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "fc_w"], ["logits"], name="fc"),
    ]
    cin = 6
    inits = [weights("wa", 4, cin, 1, 1), numpy_helper.from_array(np.zeros(4, np.float32), "ba"),
             weights("wb", 6, cin, 3, 3), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, 6).astype(np.float32), "bb"),
             numpy_helper.from_array(np.array(0, np.float32), "zero"),
             numpy_helper.from_array(np.array(6, np.float32), "six"),
             ints("idx0", 0), ints("minus_one", [-1]),
             weights("fc_w", 16 * 3 * 3, 7, scale=0.05)]
    graph = helper.make_graph(nodes, "concat_block",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, cin, 5, 5])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 7])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="fusesim"),
         os.path.join(out, "concat_block.onnx"))


def channel_shuffle(out):
    c, g = 16, 4
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c1"], name="gconv", kernel_shape=[1, 1], group=g),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Reshape", ["r1", "shape5"], ["v5"], name="shuffle_view"),
        helper.make_node("Transpose", ["v5"], ["t5"], name="shuffle_transpose", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t5", "shape4"], ["shuffled"], name="shuffle_merge"),
        helper.make_node("Conv", ["shuffled", "wd", "bd"], ["d"], name="dwconv", kernel_shape=[3, 3], group=c,
                         strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("AveragePool", ["d"], ["out"], name="avgpool", kernel_shape=[3, 3], strides=[1, 1],
                         pads=[1, 1, 1, 1], count_include_pad=1),
    ]
    inits = [weights("w1", c, c // g, 1, 1), weights("wd", c, 1, 3, 3),
             numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), "bd"),
             ints("shape5", [1, g, c // g, 8, 8]), ints("shape4", [1, c, 8, 8])]
    graph = helper.make_graph(nodes, "channel_shuffle",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, 8, 8])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, c, 4, 4])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="fusesim"),
         os.path.join(out, "channel_shuffle.onnx"))


def channel_split(out):
    c = 8
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c1"], name="pw", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Split", ["r1", "halves"], ["left", "right"], name="split", axis=1),
        helper.make_node("Conv", ["right", "wd"], ["rd"], name="dwconv", kernel_shape=[3, 3], group=c // 2,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["left", "rd"], ["cat"], name="cat", axis=1),
        helper.make_node("Reshape", ["cat", "shape5"], ["v5"], name="shuffle_view"),
        helper.make_node("Transpose", ["v5"], ["t5"], name="shuffle_transpose", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t5", "shape4"], ["shuffled"], name="shuffle_merge"),
        helper.make_node("Slice", ["shuffled", "from5", "to_end", "ch_axis"], ["upper"], name="upper"),
        helper.make_node("Conv", ["upper", "w2", "b2"], ["out"], name="head", kernel_shape=[1, 1]),
        helper.make_node("Slice", ["left", "from1", "to3", "ch_axis"], ["mid"], name="mid"),
        helper.make_node("GlobalAveragePool", ["mid"], ["pooled"], name="gap"),
    ]
    inits = [weights("w1", c, c, 1, 1), ints("halves", [c // 2, c // 2]), weights("wd", c // 2, 1, 3, 3),
             ints("shape5", [1, 2, c // 2, 6, 6]), ints("shape4", [1, c, 6, 6]),
             ints("from5", [5]), ints("to_end", [2**63 - 1]), ints("ch_axis", [-3]),
             weights("w2", 4, c - 5, 1, 1), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, 4).astype(np.float32), "b2"),
             ints("from1", [1]), ints("to3", [3])]
    graph = helper.make_graph(nodes, "channel_split",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, 6, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 6, 6]),
                               helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [1, 2, 1, 1])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "channel_split.onnx"))


def norm_heads(out):
    c = 8
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["feat"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["feat"], ["r"], name="relu"),
        helper.make_node("ReduceL2", ["r"], ["norm"], name="l2", axes=[1], keepdims=1),
        helper.make_node("Add", ["norm", "eps"], ["norm_eps"], name="eps_add"),
        helper.make_node("Div", ["r", "norm_eps"], ["unit"], name="normalize"),
        helper.make_node("Mul", ["unit", "scale"], ["l2norm"], name="rescale"),
        helper.make_node("GlobalAveragePool", ["r"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["prob"], name="softmax", axis=1),
        helper.make_node("LogSoftmax", ["logits"], ["logprob"], name="logsoftmax", axis=1),
        helper.make_node("ReduceMax", ["r"], ["colmax"], name="colmax", axes=[3], keepdims=0),
    ]
    inits = [weights("w1", c, 3, 3, 3), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), "b1"),
             numpy_helper.from_array(np.array([1e-3], dtype=np.float32), "eps"),
             numpy_helper.from_array(RNG.uniform(5, 20, (1, c, 1, 1)).astype(np.float32), "scale"),
             weights("w2", 10, c, scale=2.0), numpy_helper.from_array(RNG.uniform(-0.5, 0.5, 10).astype(np.float32), "b2")]
    graph = helper.make_graph(nodes, "norm_heads",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("l2norm", TensorProto.FLOAT, [1, c, 6, 6]),
                               helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 10]),
                               helper.make_tensor_value_info("logprob", TensorProto.FLOAT, [1, 10]),
                               helper.make_tensor_value_info("colmax", TensorProto.FLOAT, [1, c, 6])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "norm_heads.onnx"))


def det_seg_heads(out):
    c = 6
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["feat"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["feat"], ["r"], name="relu"),
        helper.make_node("Resize", ["r", "", "scales"], ["bilinear"], name="up_linear", mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Resize", ["r", "", "scales"], ["nearest"], name="up_nearest", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Conv", ["r", "w2", "b2"], ["loc"], name="box_conv", kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["loc", "shape5"], ["loc5"], name="box_view"),
        helper.make_node("Transpose", ["loc5"], ["loc_t"], name="box_perm", perm=[0, 3, 4, 1, 2]),
        helper.make_node("Reshape", ["loc_t", "shape3"], ["boxes"], name="boxes"),
        helper.make_node("Clip", ["feat", "lo", "hi"], ["clipped"], name="clip"),
        helper.make_node("ReduceMax", ["r"], ["peak"], name="peak", axes=[1], keepdims=1),
        helper.make_node("Expand", ["peak", "full_shape"], ["peak_full"], name="expand"),
        helper.make_node("Mul", ["r", "peak_full"], ["gated"], name="gate"),
    ]
    inits = [weights("w1", c, 3, 3, 3), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), "b1"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), "scales"),
             weights("w2", 8, c, 1, 1), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, 8).astype(np.float32), "b2"),
             ints("shape5", [1, 2, 4, 8, 8]), ints("shape3", [1, 128, 4]),
             numpy_helper.from_array(np.array(-0.25, dtype=np.float32), "lo"),
             numpy_helper.from_array(np.array(0.25, dtype=np.float32), "hi"),
             ints("full_shape", [1, c, 8, 8])]
    graph = helper.make_graph(nodes, "det_seg_heads",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("bilinear", TensorProto.FLOAT, [1, c, 16, 16]),
                               helper.make_tensor_value_info("nearest", TensorProto.FLOAT, [1, c, 16, 16]),
                               helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 128, 4]),
                               helper.make_tensor_value_info("clipped", TensorProto.FLOAT, [1, c, 8, 8]),
                               helper.make_tensor_value_info("gated", TensorProto.FLOAT, [1, c, 8, 8])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "det_seg_heads.onnx"))


def decoder_lrn(out):
    c = 8
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["feat"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["feat"], ["norm"], name="lrn", size=5, alpha=1e-2, beta=0.75, bias=2.0),
        helper.make_node("ConvTranspose", ["norm", "wt1", "bt1"], ["up1"], name="deconv1", kernel_shape=[4, 4],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["up1"], ["r1"], name="relu"),
        helper.make_node("ConvTranspose", ["r1", "wt2"], ["out"], name="deconv2", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], group=2),
    ]
    inits = [weights("w1", c, 3, 3, 3), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c).astype(np.float32), "b1"),
             weights("wt1", c, 6, 4, 4), numpy_helper.from_array(RNG.uniform(-0.1, 0.1, 6).astype(np.float32), "bt1"),
             weights("wt2", 6, 2, 3, 3)]
    graph = helper.make_graph(nodes, "decoder_lrn",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 5, 6])],
                              [helper.make_tensor_value_info("norm", TensorProto.FLOAT, [1, c, 5, 6]),
                               helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 20, 24])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "decoder_lrn.onnx"))


def gru_rnn(out):
    T, I, H, H2 = 6, 5, 4, 3
    nodes = [
        helper.make_node("GRU", ["input", "gw", "gr", "gb"], ["y1"], name="gru", hidden_size=H, linear_before_reset=0),
        helper.make_node("RNN", ["y1", "rw", "rr", "rb"], ["y2"], name="rnn", hidden_size=H2),
    ]
    inits = [weights("gw", 1, 3 * H, I, scale=0.6), weights("gr", 1, 3 * H, H, scale=0.6),
             numpy_helper.from_array(RNG.uniform(-0.3, 0.3, (1, 6 * H)).astype(np.float32), "gb"),
             weights("rw", 1, H2, H, scale=0.6), weights("rr", 1, H2, H2, scale=0.6),
             numpy_helper.from_array(RNG.uniform(-0.3, 0.3, (1, 2 * H2)).astype(np.float32), "rb")]
    graph = helper.make_graph(nodes, "gru_rnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [T, 1, I])],
                              [helper.make_tensor_value_info("y2", TensorProto.FLOAT, [T, 1, 1, H2])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "gru_rnn.onnx"))


def concat_axes(out):
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Concat", ["c", "r", "c"], ["rows"], name="cat_rows", axis=2),
        helper.make_node("Concat", ["r", "c"], ["cols"], name="cat_cols", axis=-1),
        helper.make_node("Concat", ["c", "r"], ["chans"], name="cat_chans", axis=1),
    ]
    graph = helper.make_graph(nodes, "concat_axes",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 5, 6])],
                              [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [1, 4, 15, 6]),
                               helper.make_tensor_value_info("cols", TensorProto.FLOAT, [1, 4, 5, 12]),
                               helper.make_tensor_value_info("chans", TensorProto.FLOAT, [1, 8, 5, 6])],
                              [weights("w", 4, 3, 3, 3)])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "concat_axes.onnx"))


def matmul_rows(out):
    nodes = [helper.make_node("Relu", ["input"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "B"], ["out"], name="linear")]
    graph = helper.make_graph(nodes, "matmul_rows",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 4, 6, 40])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4, 6, 12])],
                              [weights("B", 40, 12, scale=0.3)])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "matmul_rows.onnx"))


def split_rows(out):
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Split", ["c", "sizes"], ["top", "bottom"], name="split_rows", axis=2),
        helper.make_node("Relu", ["bottom"], ["bottom_relu"], name="relu"),
        helper.make_node("Slice", ["c", "from", "to", "axes"], ["cols"], name="slice_cols"),
        helper.make_node("ReduceMean", ["c"], ["m"], name="row_mean", axes=[2], keepdims=1),
        helper.make_node("Split", ["m"], ["left", "right"], name="split_cols", axis=3),
    ]
    graph = helper.make_graph(nodes, "split_rows",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 3, 6, 4])],
                              [helper.make_tensor_value_info("top", TensorProto.FLOAT, [2, 4, 2, 4]),
                               helper.make_tensor_value_info("bottom_relu", TensorProto.FLOAT, [2, 4, 4, 4]),
                               helper.make_tensor_value_info("cols", TensorProto.FLOAT, [2, 4, 6, 2]),
                               helper.make_tensor_value_info("right", TensorProto.FLOAT, [2, 4, 1, 2])],
                              [weights("w", 4, 3, 3, 3), ints("sizes", [2, 4]), ints("from", [1]), ints("to", [3]),
                               ints("axes", [3])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "split_rows.onnx"))


def lstm_batch3(out):
    T, B, I, H = 4, 3, 5, 6
    nodes = [helper.make_node("LSTM", ["input", "w", "r", "b"], ["y", "y_h"], name="lstm", hidden_size=H)]
    inits = [weights("w", 1, 4 * H, I, scale=0.5), weights("r", 1, 4 * H, H, scale=0.5),
             numpy_helper.from_array(RNG.uniform(-0.3, 0.3, (1, 8 * H)).astype(np.float32), "b")]
    graph = helper.make_graph(nodes, "lstm_batch3", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [T, B, I])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [T, 1, B, H]),
                               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [1, B, H])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fusesim"),
         os.path.join(out, "lstm_batch3.onnx"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models", "onnx")
    os.makedirs(out, exist_ok=True)
    residual_block(out)
    concat_block(out)
    channel_shuffle(out)
    channel_split(out)
    norm_heads(out)
    det_seg_heads(out)
    decoder_lrn(out)
    gru_rnn(out)
    concat_axes(out)
    matmul_rows(out)
    split_rows(out)
    lstm_batch3(out)


if __name__ == "__main__":
    main()
