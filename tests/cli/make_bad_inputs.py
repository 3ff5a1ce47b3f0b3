#!/usr/bin/env python3
"""Writes the small models and .npy files that tests/cli/test_cli_errors.sh feeds to `octet`.

Usage: make_bad_inputs.py OUT_DIR REAL_MODEL
Each file is named after the fault it carries; the culprit names used in the models (node names,
input names, op types) are what the test expects to see in octet's one-line error message.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 13


def save_model(path, nodes, inputs, outputs, initializers=(), opsets=(("", OPSET),), check=True):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              producer_name="octet-cli-test")
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, path)


def raw_tensor(name, dims, raw_bytes):
    """A float TensorProto with raw data as given, even when it does not fit the shape."""
    tensor = TensorProto()
    tensor.name = name
    tensor.data_type = TensorProto.FLOAT
    tensor.dims.extend(dims)
    tensor.raw_data = raw_bytes
    return tensor


def float_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def main():
    out_dir, real_model = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    path = lambda name: os.path.join(out_dir, name)

    # A model with a working op: Relu on 1x3x4x4, and a dynamic-batch version.
    save_model(path("relu.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_node")],
               [float_info("x", [1, 3, 4, 4])], [float_info("y", [1, 3, 4, 4])])
    save_model(path("relu_dynamic.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_node")],
               [float_info("x", ["batch", 3, 4, 4])], [float_info("y", ["batch", 3, 4, 4])])
    # Two outputs, the second with a name that is not a file name ("neg/out:0").
    save_model(path("two_outputs.onnx"),
               [helper.make_node("Relu", ["x"], ["y"], name="relu_node"),
                helper.make_node("Neg", ["x"], ["neg/out:0"], name="neg_node")],
               [float_info("x", ["batch", 3, 4, 4])],
               [float_info("y", ["batch", 3, 4, 4]), float_info("neg/out:0", ["batch", 3, 4, 4])])
    # Two inputs: batch mode must refuse it.
    save_model(path("two_inputs.onnx"), [helper.make_node("Add", ["a", "b"], ["y"], name="add_node")],
               [float_info("a", [2, 3]), float_info("b", [2, 3])], [float_info("y", [2, 3])])
    # A MatMul with a constant weight: quantizable, with a known MAC count (2*3*4 = 24).
    weight = helper.make_tensor("weight", TensorProto.FLOAT, [3, 4], np.ones(12, np.float32))
    save_model(path("matmul.onnx"), [helper.make_node("MatMul", ["x", "weight"], ["y"], name="matmul_node")],
               [float_info("x", [2, 3])], [float_info("y", [2, 4])], initializers=[weight])

    # An op from a domain octet has no kernels for.
    save_model(path("unknown_op.onnx"),
               [helper.make_node("Relu", ["x"], ["r"], name="relu_node"),
                helper.make_node("FrobnicateOp", ["r"], ["y"], name="frobnicate_node", domain="com.example")],
               [float_info("x", [1, 3, 4, 4])], [float_info("y", [1, 3, 4, 4])],
               opsets=(("", OPSET), ("com.example", 1)))
    # A node reading a value nothing produces.
    save_model(path("dangling_input.onnx"),
               [helper.make_node("Add", ["x", "ghost_value"], ["y"], name="add_node")],
               [float_info("x", [2, 3])], [float_info("y", [2, 3])], check=False)
    # A Conv whose weight initializer is absent from the file.
    save_model(path("missing_initializer.onnx"),
               [helper.make_node("Conv", ["x", "conv_weight"], ["y"], name="conv_node")],
               [float_info("x", [1, 3, 8, 8])], [float_info("y", [1, 4, 6, 6])], check=False)
    # An initializer whose raw data is shorter than its shape needs.
    short = raw_tensor("short_weight", [3, 4], b"\0" * 8)
    save_model(path("short_initializer.onnx"),
               [helper.make_node("MatMul", ["x", "short_weight"], ["y"], name="matmul_node")],
               [float_info("x", [2, 3])], [float_info("y", [2, 4])], initializers=[short], check=False)
    # Absurd dimensions: an initializer claiming 10^15 elements, and an input declaring them.
    huge = raw_tensor("huge_weight", [1000000, 1000000, 1000], b"\0" * 4)
    save_model(path("absurd_initializer.onnx"),
               [helper.make_node("Add", ["x", "huge_weight"], ["y"], name="add_node")],
               [float_info("x", [1])], [float_info("y", [1000000, 1000000, 1000])], initializers=[huge],
               check=False)
    save_model(path("absurd_input.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_node")],
               [float_info("x", [1000000, 1000000, 1000])],
               [float_info("y", [1000000, 1000000, 1000])])
    # A shape computed at run time that is absurd: ConstantOfShape of 10^6 x 10^6 x 10^3.
    dims = helper.make_tensor("dims", TensorProto.INT64, [3], [1000000, 1000000, 1000])
    save_model(path("absurd_runtime.onnx"),
               [helper.make_node("ConstantOfShape", ["dims"], ["big"], name="expand_node"),
                helper.make_node("Add", ["x", "big"], ["y"], name="add_node")],
               [float_info("x", [1])], [float_info("y", [1000000, 1000000, 1000])], initializers=[dims], check=False)

    # Files that are not models.
    with open(real_model, "rb") as source:
        real_bytes = source.read()
    with open(path("truncated.onnx"), "wb") as target:
        target.write(real_bytes[: len(real_bytes) // 2])
    with open(path("random.onnx"), "wb") as target:
        target.write(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    open(path("empty.onnx"), "wb").close()

    # Inputs for relu.onnx (1x3x4x4 float) and bad ones.
    rng = np.random.default_rng(1)
    np.save(path("good.npy"), rng.standard_normal((1, 3, 4, 4)).astype(np.float32))
    np.save(path("wrong_rank.npy"), rng.standard_normal((3, 4, 4)).astype(np.float32))
    np.save(path("wrong_dtype.npy"), rng.standard_normal((1, 3, 4, 4)).astype(np.float64))
    np.save(path("wrong_channels.npy"), rng.standard_normal((1, 4, 4, 4)).astype(np.float32))
    np.save(path("one.npy"), np.ones(1, np.float32))
    np.save(path("two_by_three.npy"), rng.standard_normal((2, 3)).astype(np.float32))
    with open(path("good.npy"), "rb") as source:
        npy_bytes = source.read()
    with open(path("truncated.npy"), "wb") as target:
        target.write(npy_bytes[: len(npy_bytes) - 10])
    with open(path("garbage.npy"), "wb") as target:
        target.write(b"this is not a numpy file at all")

    # Batch folders: dynamic batch accepts different sizes; the bad folder fails on its 3rd file.
    for folder, files in (("batch_in", {"a": 1, "b": 2, "c": 3}),
                          ("batch_bad", {"a": 1, "b": 2, "c_bad": None, "d": 1})):
        os.makedirs(path(folder), exist_ok=True)
        for name, batch in files.items():
            array = (rng.standard_normal((1, 5, 4, 4)) if batch is None else
                     rng.standard_normal((batch, 3, 4, 4))).astype(np.float32)
            np.save(os.path.join(path(folder), name + ".npy"), array)

    with open(path("skip_no_reason.txt"), "w") as target:
        target.write("test_relu\n")
    with open(path("skip_relu.txt"), "w") as target:
        target.write("# comment line\ntest_relu   # skipped by the CLI test\n")


if __name__ == "__main__":
    main()
