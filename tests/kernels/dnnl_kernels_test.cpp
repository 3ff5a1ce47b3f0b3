// oneDNN kernels against the reference kernels on random data, sweeping shapes, attributes and
// input layouts. Float results differ only by summation order: kTolerance bounds that for
// operands in [-1, 1] and reductions of up to a few hundred terms.
#include <gtest/gtest.h>

#include "core/layout.h"
#include "kernels/dnnl/shape_cache.h"
#include "kernels/post_ops.h"
#include "kernel_test_util.h"

namespace octet::testing {
namespace {

constexpr double kTolerance = 2e-4;

struct Case {
  Node node;
  std::vector<Tensor> inputs;
  std::vector<size_t> constant_inputs;
  int64_t opset = 17;
  std::string description;
};

Tensor channels_last_copy(const Tensor& tensor) {
  ThreadPool pool(1);
  return to_channels_last(tensor, pool);
}

// Winograd convolutions transform tiles in float: error grows with the reduction length. For 64+
// channels of values in [-1, 1] (sums of ~600 terms, magnitudes ~20) 2e-3 absolute is ~1e-4 relative.
constexpr double kWinogradTolerance = 2e-3;

// Runs the case with "dnnl" and "reference" and compares. `channels_last_input`: feed input 0
// channels-last to the oneDNN kernel. `expect_dnnl`: fail if the oneDNN kernel fell back.
void check_case(const Case& test, bool channels_last_input = false, bool expect_dnnl = true,
                double tolerance = kTolerance) {
  std::vector<const Tensor*> reference_inputs;
  for (const auto& input : test.inputs) reference_inputs.push_back(input.empty() ? nullptr : &input);
  std::vector<Tensor> reference =
      run_node(test.node, reference_inputs, test.opset, test.constant_inputs, 1, "reference");
  Tensor converted;
  std::vector<const Tensor*> dnnl_inputs = reference_inputs;
  if (channels_last_input) {
    converted = channels_last_copy(test.inputs[0]);
    dnnl_inputs[0] = &converted;
  }
  std::string detail;
  std::vector<Tensor> actual = run_node(test.node, dnnl_inputs, test.opset, test.constant_inputs, 2, "dnnl", &detail);
  const std::string context = concat(test.description, channels_last_input ? " [channels-last input]" : "",
                                     " (ran: ", detail, ")");
  if (expect_dnnl) {
    EXPECT_EQ(detail.find("fallback"), std::string::npos) << context;
  }
  ThreadPool pool(1);
  for (size_t i = 0; i < reference.size(); ++i) {
    Tensor plain = to_plain(actual[i], pool);
    expect_near(plain, reference[i], tolerance, context);
  }
}

Node conv_node(const std::string& op_type, bool bias, std::vector<Attribute> attributes) {
  Node node = make_node(op_type, bias ? 3 : 2, 1, std::move(attributes));
  return node;
}

TEST(DnnlKernelTest, ConvSweep) {
  uint32_t seed = 1;
  for (int spatial_rank : {1, 2, 3}) {
    for (int64_t batch : {1, 2}) {
      for (int64_t input_channels : {3, 8}) {
        for (int64_t kernel : {1, 3}) {
          for (int64_t stride : {1, 2}) {
            for (int64_t dilation : {1, 2}) {
              for (bool depthwise : {false, true}) {
                const int64_t group = depthwise ? input_channels : 1;
                const int64_t output_channels = depthwise ? input_channels * 2 : 5;
                const int64_t size = spatial_rank == 3 ? 5 : 9;
                Shape src_shape{batch, input_channels};
                Shape weight_shape{output_channels, input_channels / group};
                std::vector<int64_t> ones(spatial_rank, 1);
                std::vector<int64_t> pads;
                for (int i = 0; i < spatial_rank; ++i) {
                  src_shape.push_back(size + i);
                  weight_shape.push_back(kernel);
                }
                for (int i = 0; i < 2 * spatial_rank; ++i) pads.push_back(kernel / 2 + (i % 2));
                Case test;
                test.node = conv_node("Conv", true,
                                      {int_attribute("group", group),
                                       ints_attribute("strides", std::vector<int64_t>(spatial_rank, stride)),
                                       ints_attribute("dilations", std::vector<int64_t>(spatial_rank, dilation)),
                                       ints_attribute("pads", pads)});
                test.inputs.push_back(random_tensor(src_shape, seed++));
                test.inputs.push_back(random_tensor(weight_shape, seed++));
                test.inputs.push_back(random_tensor({output_channels}, seed++));
                test.constant_inputs = {1, 2};
                test.description = concat("Conv src ", shape_to_string(src_shape), " weights ",
                                           shape_to_string(weight_shape), " stride ", stride, " dilation ", dilation,
                                           " group ", group);
                check_case(test, false);
                check_case(test, true);
              }
            }
          }
        }
      }
    }
  }
}

TEST(DnnlShapeCacheTest, KeepsTheMostRecentlyUsedEntries) {
  dnnl_backend::ShapeCache<int, std::string> cache;
  const int capacity = static_cast<int>(dnnl_backend::kShapeCacheCapacity);
  for (int key = 0; key < capacity; ++key) EXPECT_EQ(cache.insert(key, concat("v", key)), concat("v", key));
  ASSERT_NE(cache.find(0), nullptr);  // 0 becomes the most recently used; 1 the least
  EXPECT_EQ(*cache.find(0), "v0");
  const std::string* kept = cache.find(capacity - 1);
  cache.insert(capacity, "new");
  EXPECT_EQ(cache.size(), dnnl_backend::kShapeCacheCapacity);
  EXPECT_EQ(cache.find(1), nullptr);
  EXPECT_NE(cache.find(0), nullptr);
  EXPECT_EQ(cache.find(capacity - 1), kept);  // entries do not move
  EXPECT_EQ(*cache.find(capacity), "new");
}

// One convolution kernel fed more input shapes than it keeps prepared (text lines of every width
// through PP-OCR rec): every result matches the reference, including a shape prepared again after
// it was dropped.
TEST(DnnlKernelTest, ConvPreparedAgainAfterItsShapeWasDropped) {
  const Node node = conv_node("Conv", true, {ints_attribute("pads", {1, 1, 1, 1})});
  const Tensor weights = random_tensor({16, 8, 3, 3}, 71);
  const Tensor bias = random_tensor({16}, 72);
  std::map<std::string, const Tensor*> constants = {{node.inputs[1], &weights}, {node.inputs[2], &bias}};
  KernelCreateInfo info{node, 17, [&](const std::string& name) -> const Tensor* {
                          const auto found = constants.find(name);
                          return found == constants.end() ? nullptr : found->second;
                        }};
  const KernelChoice choice = builtin_kernel_registry().create(info, "dnnl");
  std::vector<int64_t> widths;
  for (int64_t i = 0; i < static_cast<int64_t>(dnnl_backend::kShapeCacheCapacity) + 3; ++i) widths.push_back(8 + 4 * i);
  widths.push_back(widths.front());
  ThreadPool pool(2);
  for (size_t i = 0; i < widths.size(); ++i) {
    const Tensor x = random_tensor({1, 8, 6, widths[i]}, 80 + static_cast<uint32_t>(i));
    const std::vector<const Tensor*> inputs = {&x, &weights, &bias};
    std::vector<Tensor> outputs(1);
    KernelContext context(inputs, outputs, pool);
    choice.kernel->run(context);
    const std::vector<Tensor> expected = run_node(node, inputs, 17, {1, 2}, 1, "reference");
    ThreadPool plain_pool(1);
    expect_near(to_plain(outputs[0], plain_pool), expected[0], kTolerance, concat("width ", widths[i], " (run ", i, ")"));
  }
}

TEST(DnnlKernelTest, WinogradConvWithPostOps) {
  uint32_t seed = 50;
  for (const auto& chain : std::vector<std::vector<PostOp>>{{}, {{PostOpKind::kSum}, {PostOpKind::kRelu}}}) {
    Case test;
    test.node = make_node("FusedConv", chain.empty() ? 3 : 4, 1, {ints_attribute("pads", {1, 1, 1, 1})});
    test.node.domain = kOctetDomain;
    write_post_ops(test.node, chain);
    test.inputs.push_back(random_tensor({1, 64, 14, 14}, seed++));
    test.inputs.push_back(random_tensor({80, 64, 3, 3}, seed++));
    test.inputs.push_back(random_tensor({80}, seed++));
    if (!chain.empty()) test.inputs.push_back(random_tensor({1, 80, 14, 14}, seed++));
    test.constant_inputs = {1, 2};
    test.description = concat("FusedConv 3x3 64->80 (Winograd) with ", chain.size(), " post-ops");
    check_case(test, false, true, kWinogradTolerance);
    check_case(test, true, true, kWinogradTolerance);
    std::string detail;
    std::vector<const Tensor*> inputs;
    for (const auto& input : test.inputs) inputs.push_back(&input);
    run_node(test.node, inputs, 17, test.constant_inputs, 2, "dnnl", &detail);
    EXPECT_NE(detail.find("wino"), std::string::npos) << detail;
  }
}

TEST(DnnlKernelTest, FusedConvPostOps) {
  const std::vector<std::vector<PostOp>> chains = {
      {{PostOpKind::kRelu}},
      {{PostOpKind::kSum}, {PostOpKind::kRelu}},
      {{PostOpKind::kHardSwish}, {PostOpKind::kLinear, 0.5f, 0.1f}},
      {{PostOpKind::kHardSigmoid, 0.2f, 0.5f}},
      {{PostOpKind::kClip, 0.0f, 6.0f}},
      {{PostOpKind::kSigmoid}},
      {{PostOpKind::kSwish}},
      {{PostOpKind::kGeluErf}},
      {{PostOpKind::kLeakyRelu, 0.1f}},
  };
  uint32_t seed = 100;
  for (const auto& chain : chains) {
    bool has_sum = false;
    for (const auto& post_op : chain) has_sum |= post_op.kind == PostOpKind::kSum;
    Case test;
    test.node = make_node("FusedConv", has_sum ? 4 : 3, 1,
                          {ints_attribute("pads", {1, 1, 1, 1}), ints_attribute("strides", {1, 1})});
    test.node.domain = kOctetDomain;
    write_post_ops(test.node, chain);
    test.inputs.push_back(random_tensor({1, 6, 7, 9}, seed++));
    test.inputs.push_back(random_tensor({10, 6, 3, 3}, seed++));
    test.inputs.push_back(random_tensor({10}, seed++));
    if (has_sum) test.inputs.push_back(random_tensor({1, 10, 7, 9}, seed++));
    test.constant_inputs = {1, 2};
    test.description = concat("FusedConv ", test.node.attr_strings("post_ops")[0]);
    check_case(test);
  }
}

// PP-OCRv4's learnable affine blocks around hard-swish on a strided depthwise convolution.
TEST(DnnlKernelTest, FusedDepthwiseConvPostOpChains) {
  const PostOp scale_shift{PostOpKind::kLinear, 0.9f, 0.5f};
  const PostOp hard_swish{PostOpKind::kHardSwish};
  const PostOp relu{PostOpKind::kRelu};
  const std::vector<std::vector<PostOp>> chains = {
      {scale_shift}, {hard_swish}, {scale_shift, hard_swish}, {hard_swish, scale_shift},
      {scale_shift, hard_swish, scale_shift}, {relu, scale_shift}, {scale_shift, scale_shift},
      {{PostOpKind::kLinear, 1.0f, 3.0f}}, {{PostOpKind::kLinear, 0.5f, 0.0f}}};
  uint32_t seed = 150;
  for (const auto& chain : chains) {
    Case test;
    test.node = make_node("FusedConv", 3, 1,
                          {ints_attribute("pads", {2, 2, 2, 2}), ints_attribute("strides", {2, 1}),
                           int_attribute("group", 24)});
    test.node.domain = kOctetDomain;
    write_post_ops(test.node, chain);
    test.inputs.push_back(random_tensor({1, 24, 12, 80}, seed++));
    test.inputs.push_back(random_tensor({24, 1, 5, 5}, seed++));
    test.inputs.push_back(random_tensor({24}, seed++));
    test.constant_inputs = {1, 2};
    std::string names;
    for (const auto& name : test.node.attr_strings("post_ops")) names += name + " ";
    test.description = concat("FusedConv depthwise 5x5 stride 2x1, post-ops ", names);
    check_case(test);
    check_case(test, true);
  }
}

// oneDNN 2.6 miscomputes a repeated element-wise kind with other parameters: such chains decline
// the oneDNN kernel (and the fusion pass never builds them).
TEST(DnnlKernelTest, RepeatedPostOpKindDeclines) {
  Node node = make_node("FusedConv", 3, 1, {int_attribute("group", 4)});
  node.domain = kOctetDomain;
  write_post_ops(node, {{PostOpKind::kLinear, 0.9f, 0.5f}, {PostOpKind::kHardSwish}, {PostOpKind::kLinear, 2.0f, 0.0f}});
  Tensor weights = random_tensor({4, 1, 3, 3}, 1);
  Tensor bias = random_tensor({4}, 2);
  KernelCreateInfo info{node, 17, [&](const std::string& name) -> const Tensor* {
                          return name == "in1" ? &weights : name == "in2" ? &bias : nullptr;
                        }};
  EXPECT_THROW(builtin_kernel_registry().create(info, "dnnl"), UnsupportedError);
}

TEST(DnnlKernelTest, ConvTransposeSweep) {
  uint32_t seed = 200;
  for (int64_t stride : {1, 2}) {
    for (int64_t group : {1, 2}) {
      for (int64_t pad : {0, 1}) {
        for (int64_t output_padding : {0, 1}) {
          if (output_padding >= stride) continue;
          Case test;
          test.node = conv_node("ConvTranspose", true,
                                {int_attribute("group", group), ints_attribute("strides", {stride, stride}),
                                 ints_attribute("pads", {pad, pad, pad, pad}),
                                 ints_attribute("output_padding", {output_padding, output_padding})});
          test.inputs.push_back(random_tensor({2, 4, 5, 6}, seed++));
          test.inputs.push_back(random_tensor({4, 6 / group * 1, 3, 3}, seed++));
          test.inputs.push_back(random_tensor({6 / group * group}, seed++));
          test.constant_inputs = {1, 2};
          test.description = concat("ConvTranspose stride ", stride, " group ", group, " pad ", pad,
                                    " output_padding ", output_padding);
          check_case(test, false);
          check_case(test, true);
        }
      }
    }
  }
}

TEST(DnnlKernelTest, Pooling) {
  uint32_t seed = 300;
  for (const std::string op : {"MaxPool", "AveragePool"}) {
    for (int64_t ceil_mode : {0, 1}) {
      for (int64_t include_pad : {0, 1}) {
        Case test;
        test.node = make_node(op, 1, 1,
                              {ints_attribute("kernel_shape", {3, 3}), ints_attribute("strides", {2, 2}),
                               ints_attribute("pads", {1, 1, 0, 0}), int_attribute("ceil_mode", ceil_mode)});
        if (op == "AveragePool") test.node.set_attribute(int_attribute("count_include_pad", include_pad));
        test.inputs.push_back(random_tensor({2, 5, 8, 11}, seed++));
        test.description = concat(op, " ceil_mode ", ceil_mode, " count_include_pad ", include_pad);
        // oneDNN would count the padding it needs for ceil mode: that case runs on the reference.
        const bool expect_dnnl = !(op == "AveragePool" && ceil_mode && include_pad);
        check_case(test, false, expect_dnnl);
        check_case(test, true, expect_dnnl);
      }
    }
  }
  for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    Case test;
    test.node = make_node(op, 1, 1);
    test.inputs.push_back(random_tensor({2, 19, 6, 7}, seed++));
    test.description = op;
    check_case(test, false);
    check_case(test, true);
  }
}

TEST(DnnlKernelTest, Activations) {
  uint32_t seed = 400;
  std::vector<std::pair<std::string, std::vector<Attribute>>> ops = {
      {"Relu", {}}, {"Sigmoid", {}}, {"Tanh", {}}, {"HardSwish", {}},
      {"LeakyRelu", {float_attribute("alpha", 0.2f)}},
      {"HardSigmoid", {float_attribute("alpha", 0.2f), float_attribute("beta", 0.5f)}},
  };
  for (const auto& [op, attributes] : ops) {
    Case test;
    test.node = make_node(op, 1, 1, attributes);
    test.inputs.push_back(random_tensor({2, 3, 5, 7}, seed++, -4.0f, 4.0f));
    test.description = op;
    check_case(test, false);
    check_case(test, true);
  }
  Case clip;
  clip.node = make_node("Clip", 3, 1);
  clip.inputs.push_back(random_tensor({3, 17}, seed++, -8.0f, 8.0f));
  clip.inputs.push_back(Tensor::scalar(0.0f));
  clip.inputs.push_back(Tensor::scalar(6.0f));
  clip.constant_inputs = {1, 2};
  clip.description = "Clip";
  check_case(clip);
}

TEST(DnnlKernelTest, BinaryBroadcasts) {
  uint32_t seed = 500;
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 6, 5, 7}, {2, 6, 5, 7}}, {{2, 6, 5, 7}, {6, 1, 1}}, {{2, 6, 5, 7}, {2, 6, 1, 1}},
      {{2, 6, 5, 7}, {}},           {{6, 1, 1}, {2, 6, 5, 7}}, {{3, 4}, {4}},
  };
  for (const std::string op : {"Add", "Sub", "Mul", "Div"}) {
    for (const auto& [first, second] : shapes) {
      Case test;
      test.node = make_node(op, 2, 1);
      test.inputs.push_back(random_tensor(first, seed++, 0.5f, 2.0f));
      test.inputs.push_back(random_tensor(second, seed++, 0.5f, 2.0f));
      test.description = concat(op, " ", shape_to_string(first), " with ", shape_to_string(second));
      const bool first_broadcast = first.size() < 4 && second.size() == 4;
      // oneDNN broadcasts only the second operand; Sub/Div with a broadcast first fall back.
      const bool expect_dnnl = !(first_broadcast && (op == "Sub" || op == "Div"));
      check_case(test, false, expect_dnnl);
      if (first.size() == 4) check_case(test, true, expect_dnnl);
    }
  }
}

TEST(DnnlKernelTest, ConcatAndResize) {
  uint32_t seed = 600;
  Case concat_case;
  concat_case.node = make_node("Concat", 3, 1, {int_attribute("axis", 1)});
  concat_case.inputs.push_back(random_tensor({2, 3, 4, 5}, seed++));
  concat_case.inputs.push_back(random_tensor({2, 5, 4, 5}, seed++));
  concat_case.inputs.push_back(random_tensor({2, 1, 4, 5}, seed++));
  concat_case.description = "Concat axis 1";
  check_case(concat_case, false);
  check_case(concat_case, true);

  Case nearest;
  nearest.node = make_node("Resize", 3, 1,
                           {string_attribute("mode", "nearest"),
                            string_attribute("coordinate_transformation_mode", "asymmetric"),
                            string_attribute("nearest_mode", "floor")});
  nearest.inputs.push_back(random_tensor({1, 4, 5, 6}, seed++));
  nearest.inputs.push_back(Tensor());
  nearest.inputs.push_back(Tensor::from_vector<float>({4}, {1, 1, 2, 4}));
  nearest.constant_inputs = {2};
  nearest.opset = 11;
  nearest.description = "Resize nearest x2,x4";
  check_case(nearest, false);
  check_case(nearest, true);

  Case linear = std::move(nearest);
  linear.node = make_node("Resize", 3, 1, {string_attribute("mode", "linear")});
  linear.node.inputs[1] = "";
  linear.inputs[2] = Tensor::from_vector<float>({4}, {1, 1, 2, 1.5f});
  linear.description = "Resize linear half_pixel";
  check_case(linear, false);
  check_case(linear, true);
}

TEST(DnnlKernelTest, MatMulGemm) {
  uint32_t seed = 700;
  Case weights_2d;
  weights_2d.node = make_node("MatMul", 2, 1);
  weights_2d.inputs.push_back(random_tensor({2, 7, 12}, seed++));
  weights_2d.inputs.push_back(random_tensor({12, 9}, seed++));
  weights_2d.constant_inputs = {1};
  weights_2d.description = "MatMul 3-D x constant 2-D";
  check_case(weights_2d);

  Case batched;
  batched.node = make_node("MatMul", 2, 1);
  batched.inputs.push_back(random_tensor({1, 3, 7, 5}, seed++));
  batched.inputs.push_back(random_tensor({2, 1, 5, 6}, seed++));
  batched.description = "MatMul batched broadcast";
  check_case(batched);

  Case gemm;
  gemm.node = make_node("Gemm", 3, 1, {int_attribute("transB", 1), float_attribute("alpha", 0.5f)});
  gemm.inputs.push_back(random_tensor({4, 10}, seed++));
  gemm.inputs.push_back(random_tensor({6, 10}, seed++));
  gemm.inputs.push_back(random_tensor({6}, seed++));
  gemm.constant_inputs = {1, 2};
  gemm.description = "Gemm transB alpha 0.5 with bias";
  check_case(gemm);

  Case fused;
  fused.node = make_node("FusedMatMul", 4, 1);
  fused.node.domain = kOctetDomain;
  write_post_ops(fused.node, {{PostOpKind::kGeluErf}, {PostOpKind::kSum}});
  fused.inputs.push_back(random_tensor({1, 5, 8}, seed++));
  fused.inputs.push_back(random_tensor({8, 3}, seed++));
  fused.inputs.push_back(random_tensor({3}, seed++));
  fused.inputs.push_back(random_tensor({1, 5, 3}, seed++));
  fused.constant_inputs = {1, 2};
  fused.description = "FusedMatMul bias gelu sum";
  check_case(fused);
}

TEST(DnnlKernelTest, SoftmaxAndLayerNorm) {
  uint32_t seed = 800;
  for (int64_t opset : {11, 13}) {
    for (int64_t axis : {1, -1}) {
      Case test;
      test.node = make_node("Softmax", 1, 1, {int_attribute("axis", axis)});
      test.inputs.push_back(random_tensor({2, 3, 17}, seed++, -5.0f, 5.0f));
      test.opset = opset;
      test.description = concat("Softmax opset ", opset, " axis ", axis);
      check_case(test);
    }
  }
  Case norm;
  norm.node = make_node("LayerNormalization", 3, 1, {int_attribute("axis", -1), float_attribute("epsilon", 1e-5f)});
  norm.inputs.push_back(random_tensor({2, 5, 24}, seed++, -3.0f, 3.0f));
  norm.inputs.push_back(random_tensor({24}, seed++));
  norm.inputs.push_back(random_tensor({24}, seed++));
  norm.description = "LayerNormalization";
  check_case(norm);
}

}  // namespace
}  // namespace octet::testing
