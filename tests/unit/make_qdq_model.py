#!/usr/bin/python3
"""Makes QDQ test models for octet's fuse_qdq pass: the standard QDQ form (opset 13) that octet's
and ONNX Runtime's quantizers write, from a float model and ranges measured on random inputs.

  make_qdq_model.py tiny FLOAT.onnx
      Writes a small float conv net built here (Conv+Relu, MaxPool, residual Add, Resize nearest,
      Concat, depthwise Conv, an attention-style MatMul of two computed operands, Reshape,
      Transpose, GlobalAveragePool, Flatten, Gemm), input "x" [1, 3, 32, 32].
  make_qdq_model.py quantize FLOAT.onnx QDQ.onnx --inputs DIR [--samples 4]
      Writes DIR/sample_<i>.npy (seeded normal inputs, unless DIR has .npy files already), runs
      FLOAT.onnx with every intermediate value as an output through ONNX Runtime
      (node scripts/ort_run.js) to measure per-value min/max, and writes the QDQ model:
        activations  x -> QuantizeLinear(s, zp uint8) -> DequantizeLinear -> quantized consumers
                     (one pair per value; float consumers keep reading x); the second operand of a
                     MatMul of two computed values is int8 symmetric
        weights      int8 per output channel, zero point 0, range [-127, 127]: Conv W axis 0,
                     Gemm B axis 0 (transB=1) or 1, MatMul B axis 1, ConvTranspose W axis 1
        biases       int32 with scale x_scale * w_scale (float32 product), zero point 0
        data movement (MaxPool, Resize, Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice,
                     Concat, Split): inputs and outputs share one scale and zero point
      Quantized op inputs: Conv, ConvTranspose, Gemm, MatMul, Add, GlobalAveragePool, AveragePool
      and the data-movement ops.

Checking octet on the result (see tests/unit/passes_qdq_test.cpp, PassesFuseQdqModel):
  OCTET_QDQ_MODEL=QDQ.onnx OCTET_QDQ_INPUTS=DIR OCTET_QDQ_OUTPUTS=OUT octet_unit_tests \\
      --gtest_filter='PassesFuseQdqModel*'       (writes OUT/fused and OUT/unfused)
  node scripts/ort_run.js run QDQ.onnx --input-dir DIR --output-dir OUT/ort
  /usr/bin/python3 scripts/compare_npy.py OUT/fused OUT/ort
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
OPSET = 13
SEED = 20261125

COMPUTE_OPS = {'Conv', 'ConvTranspose', 'Gemm', 'MatMul'}
SAME_SCALE_OPS = {'MaxPool', 'Resize', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice',
                  'Concat', 'Split'}
OTHER_QUANTIZED_OPS = {'Add', 'GlobalAveragePool', 'AveragePool'}
INT8_WEIGHT_LIMIT = 127  # symmetric [-127, 127], as the x86 quantizers write
UINT8_MAX = 255


# ---------------------------------------------------------------- the tiny float net

def tiny_model():
    rng = np.random.default_rng(SEED)
    initializers = []
    nodes = []

    def constant(name, array):
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def conv(name, x, in_channels, out_channels, kernel, group=1, relu=True):
        fan_in = in_channels // group * kernel * kernel
        w = rng.normal(0, np.sqrt(2.0 / fan_in), (out_channels, in_channels // group, kernel, kernel))
        b = rng.normal(0, 0.1, out_channels)
        pad = kernel // 2
        out = name + ('_conv' if relu else '')
        nodes.append(helper.make_node('Conv', [x, constant(name + '.w', w.astype(np.float32)),
                                               constant(name + '.b', b.astype(np.float32))], [out],
                                      kernel_shape=[kernel, kernel], pads=[pad] * 4, group=group, name=name))
        if relu:
            nodes.append(helper.make_node('Relu', [out], [name], name=name + '_relu'))
            return name
        return out

    def add(op, inputs, output, **attributes):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    c1 = conv('c1', 'x', 3, 16, 3)                                                      # [1,16,32,32]
    p1 = add('MaxPool', [c1], 'p1', kernel_shape=[2, 2], strides=[2, 2])                # [1,16,16,16]
    c2 = conv('c2', p1, 16, 16, 3)
    c3 = conv('c3', c2, 16, 16, 3, relu=False)
    r1 = add('Relu', [add('Add', [c3, p1], 'res1')], 'r1')                              # residual
    dw = conv('dw', r1, 16, 16, 3, group=16)                                            # depthwise
    c4 = conv('c4', dw, 16, 8, 1)
    p2 = add('MaxPool', [c4], 'p2', kernel_shape=[2, 2], strides=[2, 2])                # [1,8,8,8]
    up = add('Resize', [p2, '', constant('up.scales', np.array([1, 1, 2, 2], np.float32))], 'up',
             mode='nearest')                                                            # [1,8,16,16]
    cat = add('Concat', [up, c4], 'cat', axis=1)                                        # [1,16,16,16]
    c5 = conv('c5', cat, 16, 16, 3)
    tokens = add('Transpose', [add('Reshape', [c5, constant('tokens.shape', np.array([1, 16, 256], np.int64))],
                                   'tokens_cn')], 'tokens', perm=[0, 2, 1])              # [1,256,16]
    keys = add('Transpose', [tokens], 'keys', perm=[0, 2, 1])                           # [1,16,256]
    scores = add('MatMul', [add('Slice', [tokens, constant('q.starts', np.array([0], np.int64)),
                                          constant('q.ends', np.array([8], np.int64)),
                                          constant('q.axes', np.array([1], np.int64))], 'queries'), keys],
                 'scores')                                                               # [1,8,256]
    pooled = add('GlobalAveragePool', [c5], 'pooled')
    flat = add('Flatten', [pooled], 'flat')
    w_fc = rng.normal(0, 0.25, (10, 16)).astype(np.float32)
    logits = add('Gemm', [flat, constant('fc.w', w_fc), constant('fc.b', rng.normal(0, 0.1, 10).astype(np.float32))],
                 'logits', transB=1)
    graph = helper.make_graph(
        nodes, 'tiny_qdq_net', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, 10]),
         helper.make_tensor_value_info(scores, TensorProto.FLOAT, [1, 8, 256])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='make_qdq_model')
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------- calibration through ONNX Runtime

def fold_constant_nodes(model):
    """Constant nodes -> initializers (the quantizer looks weights and parameters up there)."""
    kept = []
    for node in model.graph.node:
        if node.op_type == 'Constant' and len(node.attribute) == 1 and node.attribute[0].name == 'value':
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)


def float_values(model):
    """Names of the float values computed by nodes (not initializers), in node order."""
    inferred = shape_inference.infer_shapes(model)
    types = {info.name: info.type.tensor_type.elem_type
             for info in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input)}
    names = [model.graph.input[0].name]
    for node in model.graph.node:
        names += [output for output in node.output if output and types.get(output) == TensorProto.FLOAT]
    return names


def ensure_inputs(model, input_dir, samples):
    input_dir.mkdir(parents=True, exist_ok=True)
    if sorted(input_dir.glob('*.npy')):
        return
    dims = [dim.dim_value if dim.dim_value > 0 else 1 for dim in model.graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(SEED)
    for i in range(samples):
        np.save(input_dir / f'sample_{i}.npy', rng.normal(0, 1, dims).astype(np.float32))


def measure_ranges(model, input_dir):
    """{value name: (min, max)} over the input samples, every intermediate float value included."""
    names = float_values(model)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    for index, name in enumerate(names):  # Identity outputs: value names may hold '/', file names may not
        probe.graph.node.append(helper.make_node('Identity', [name], [f'probe_{index}']))
        probe.graph.output.append(helper.make_tensor_value_info(f'probe_{index}', TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory() as scratch:
        probe_path = pathlib.Path(scratch) / 'probe.onnx'
        onnx.save(probe, probe_path)
        output_dir = pathlib.Path(scratch) / 'out'
        subprocess.run(['node', str(REPOSITORY / 'scripts' / 'ort_run.js'), 'run', str(probe_path), '--input-dir',
                        str(input_dir), '--output-dir', str(output_dir)], check=True)
        ranges = {}
        for index, name in enumerate(names):
            files = sorted(output_dir.glob(f'*.probe_{index}.npy'))
            if index == 0:
                files = sorted(path for path in output_dir.glob('*.npy') if path.name.count('.') == 1)
            values = np.concatenate([np.load(path).ravel() for path in files])
            ranges[name] = (float(values.min()), float(values.max()))
    return ranges


# ---------------------------------------------------------------- QDQ insertion

def uint8_parameters(low, high):
    low, high = min(low, 0.0), max(high, 0.0)  # 0 must be exact (padding, ReLU)
    scale = np.float32(max(high - low, 1e-6) / UINT8_MAX)
    zero_point = int(np.clip(np.round(-low / scale), 0, UINT8_MAX))
    return scale, np.uint8(zero_point)


def int8_symmetric_parameters(low, high):
    return np.float32(max(abs(low), abs(high), 1e-6) / INT8_WEIGHT_LIMIT), np.int8(0)


def quantize_weights(weights, axis):
    moved = np.moveaxis(weights, axis, 0).reshape(weights.shape[axis], -1)
    scales = np.maximum(np.abs(moved).max(axis=1), 1e-8).astype(np.float32) / INT8_WEIGHT_LIMIT
    shape = [1] * weights.ndim
    shape[axis] = -1
    quantized = np.clip(np.round(weights / scales.reshape(shape)), -INT8_WEIGHT_LIMIT, INT8_WEIGHT_LIMIT)
    return quantized.astype(np.int8), scales.astype(np.float32)


class UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, item):
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            item = self.parent[item]
        return item

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def quantize_model(model, ranges):
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    is_constant = lambda name: name in initializers

    # Which activation inputs each node quantizes; int8 symmetric for a computed MatMul B.
    quantized_inputs = {}  # node index -> [input positions]
    symmetric = set()
    for index, node in enumerate(graph.node):
        if node.op_type in ('Conv', 'ConvTranspose', 'Gemm'):
            positions = [0]
        elif node.op_type == 'MatMul':
            positions = [0] + ([1] if not is_constant(node.input[1]) else [])
            if not is_constant(node.input[1]):
                symmetric.add(node.input[1])
        elif node.op_type in ('Add', 'Concat'):
            positions = [i for i, name in enumerate(node.input) if not is_constant(name)]
        elif node.op_type in SAME_SCALE_OPS or node.op_type in OTHER_QUANTIZED_OPS:
            positions = [0]
        else:
            continue
        quantized_inputs[index] = [i for i in positions if node.input[i] in ranges]

    # Data movement shares one scale between its inputs and outputs (Concat: all of them).
    groups = UnionFind()
    for index, node in enumerate(graph.node):
        if node.op_type in SAME_SCALE_OPS and node.input[0] in ranges:
            data_inputs = node.input if node.op_type == 'Concat' else node.input[:1]
            for name in list(data_inputs) + [output for output in node.output if output]:
                groups.union(name, node.input[0])
    group_ranges = {}
    for name, (low, high) in ranges.items():
        root = groups.find(name)
        previous = group_ranges.get(root, (low, high))
        group_ranges[root] = (min(previous[0], low), max(previous[1], high))

    quantized_values = {node.input[i] for index, node in enumerate(graph.node) for i in quantized_inputs.get(index, [])}
    for index, node in enumerate(graph.node):  # outputs of data movement: DQ -> op -> Q
        if node.op_type in SAME_SCALE_OPS and quantized_inputs.get(index):
            quantized_values.update(output for output in node.output if output in ranges)

    # A group holding a symmetric value is symmetric throughout, so its data movement stays int8.
    symmetric_groups = {groups.find(name) for name in symmetric}
    new_initializers = []
    parameters = {}
    for name in sorted(quantized_values):
        root = groups.find(name)
        low, high = group_ranges[root]
        is_symmetric = root in symmetric_groups
        scale, zero_point = int8_symmetric_parameters(low, high) if is_symmetric else uint8_parameters(low, high)
        parameters[name] = (scale, zero_point)
        new_initializers += [numpy_helper.from_array(np.array(scale, np.float32), name + '_scale'),
                             numpy_helper.from_array(np.array(zero_point), name + '_zero_point')]

    new_nodes = []
    for index, node in enumerate(graph.node):
        for i in quantized_inputs.get(index, []):
            node.input[i] = node.input[i] + '_dq'
        if node.op_type in COMPUTE_OPS:
            new_nodes += quantize_node_constants(node, initializers, parameters, new_initializers)
        new_nodes.append(node)
        for output in node.output:
            if output in parameters:
                new_nodes += activation_pair(output)
    if graph.input[0].name in parameters:
        new_nodes = activation_pair(graph.input[0].name) + new_nodes

    del graph.node[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_initializers)
    used = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model


def activation_pair(name):
    return [helper.make_node('QuantizeLinear', [name, name + '_scale', name + '_zero_point'], [name + '_q'],
                             name=name + '_QuantizeLinear'),
            helper.make_node('DequantizeLinear', [name + '_q', name + '_scale', name + '_zero_point'], [name + '_dq'],
                             name=name + '_DequantizeLinear')]


def weight_axis(node):
    if node.op_type == 'Conv':
        return 0
    if node.op_type == 'ConvTranspose':
        return 1
    if node.op_type == 'Gemm':
        return 0 if any(a.name == 'transB' and a.i == 1 for a in node.attribute) else 1
    return 1  # MatMul [K, N]


def quantize_node_constants(node, initializers, parameters, new_initializers):
    """DQ nodes for the node's constant weights (input 1) and bias (input 2); rewires the node."""
    if len(node.input) < 2 or node.input[1] not in initializers:
        return []
    nodes = []
    name = node.input[1]
    axis = weight_axis(node)
    quantized, w_scales = quantize_weights(numpy_helper.to_array(initializers[name]), axis)
    new_initializers += [numpy_helper.from_array(quantized, name + '_q'),
                         numpy_helper.from_array(w_scales, name + '_scale'),
                         numpy_helper.from_array(np.zeros(len(w_scales), np.int8), name + '_zero_point')]
    nodes.append(helper.make_node('DequantizeLinear', [name + '_q', name + '_scale', name + '_zero_point'],
                                  [name + '_dq'], axis=axis, name=name + '_DequantizeLinear'))
    node.input[1] = name + '_dq'
    x = node.input[0][:-len('_dq')] if node.input[0].endswith('_dq') else None
    if len(node.input) > 2 and node.input[2] in initializers and x in parameters and node.op_type != 'ConvTranspose':
        bias_name = node.input[2]
        bias = numpy_helper.to_array(initializers[bias_name]).astype(np.float64)
        bias_scales = (parameters[x][0] * w_scales).astype(np.float32)  # float32 products, as the kernels use
        if bias.ndim == 1 and bias.shape[0] == len(bias_scales):
            quantized_bias = np.clip(np.round(bias / bias_scales), -2**31, 2**31 - 1).astype(np.int32)
            new_initializers += [numpy_helper.from_array(quantized_bias, bias_name + '_q'),
                                 numpy_helper.from_array(bias_scales, bias_name + '_scale'),
                                 numpy_helper.from_array(np.zeros(len(bias_scales), np.int32), bias_name + '_zero_point')]
            nodes.append(helper.make_node('DequantizeLinear', [bias_name + '_q', bias_name + '_scale',
                                                               bias_name + '_zero_point'], [bias_name + '_dq'],
                                          axis=0, name=bias_name + '_DequantizeLinear'))
            node.input[2] = bias_name + '_dq'
    return nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    tiny = commands.add_parser('tiny')
    tiny.add_argument('output')
    quantize = commands.add_parser('quantize')
    quantize.add_argument('model')
    quantize.add_argument('output')
    quantize.add_argument('--inputs', required=True, help='folder of .npy input samples (written when empty)')
    quantize.add_argument('--samples', type=int, default=4)
    arguments = parser.parse_args()

    if arguments.command == 'tiny':
        onnx.save(tiny_model(), arguments.output)
        return 0
    model = onnx.load(arguments.model)
    if model.opset_import[0].version < OPSET:
        sys.exit(f'{arguments.model}: opset {model.opset_import[0].version}, per-axis QDQ needs {OPSET}')
    fold_constant_nodes(model)
    input_dir = pathlib.Path(arguments.inputs)
    ensure_inputs(model, input_dir, arguments.samples)
    ranges = measure_ranges(model, input_dir)
    quantized = quantize_model(model, ranges)
    onnx.checker.check_model(quantized)
    onnx.save(quantized, arguments.output)
    counts = {}
    for node in quantized.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    print(f'{arguments.output}: ' + ', '.join(f'{op} {count}' for op, count in sorted(counts.items())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
