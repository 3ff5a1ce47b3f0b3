// The int8 (de)convolution kernel machinery shared by qconv.cpp and qdeconv.cpp; see
// quantized_primitive.h.
#include "kernels/dnnl/quantized_primitive.h"

#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/quantized_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

// Index of the binary post-op (the float residual) in a primitive's post-op chain, or -1.
int binary_post_op_index(const dnnl::primitive_attr& attributes) {
  const dnnl::post_ops chain = attributes.get_post_ops();
  for (int i = 0; i < chain.len(); ++i)
    if (chain.kind(i) == dnnl::primitive::kind::binary) return i;
  return -1;
}

bool is_reference_implementation(const std::string& name) { return name.rfind("ref", 0) == 0; }

// A oneDNN int8 primitive running a QFused node, prepared lazily (and cached) per input shape and type.
class QuantizedPrimitiveKernel : public Kernel {
 public:
  QuantizedPrimitiveKernel(const KernelCreateInfo& info, const Tensor& weights, const memory::desc& user_weights_desc,
                           QuantizedEpilogue epilogue, QuantizedPrimitiveDescriber describe, std::string operation)
      : fallback_(info),
        weights_(weights),
        user_weights_desc_(user_weights_desc),
        epilogue_(std::move(epilogue)),
        describe_(std::move(describe)),
        operation_(std::move(operation)) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }
  void run(KernelContext& context) override;

 private:
  // An input layout's view of the source, and its reorder into the primitive's layout when they differ.
  struct LayoutView {
    memory view;
    std::optional<dnnl::reorder> reorder;
  };

  // Everything one input shape and type needs at run time.
  struct Prepared {
    dnnl::primitive primitive;  // empty: the reference fallback runs this shape
    memory::desc src_desc;
    memory src_buffer;   // the source reordered to channels-last, for plain inputs
    memory dst_view;     // the output tensor; handle set per run
    memory binary_view;  // the f32 residual of a binary-add post-op; handle set per run
    int binary_index = -1;
    memory weights, bias, scratchpad;
    Shape dst_shape;
    std::string implementation;
    std::unordered_map<int, memory> arguments;
    std::map<Layout, LayoutView> inputs;

    LayoutView& input_view(Layout layout, const Shape& shape, DataType dtype);
  };

  Prepared* prepare(const Tensor& src);

  ReferenceFallback fallback_;
  const Tensor& weights_;
  memory::desc user_weights_desc_;
  QuantizedEpilogue epilogue_;
  QuantizedPrimitiveDescriber describe_;
  std::string operation_;
  std::map<std::pair<Shape, DataType>, Prepared> cache_;
  std::vector<float> residual_scratch_;
  std::string detail_;
};

void QuantizedPrimitiveKernel::run(KernelContext& context) {
  const Tensor& src = context.input(kQInputX);
  check(src.dtype() == DataType::kUint8 || src.dtype() == DataType::kInt8, "input X is ", dtype_name(src.dtype()),
        ", expected uint8 or int8");
  if (epilogue_.x_type != DataType::kUndefined)
    check(src.dtype() == epilogue_.x_type, "input X is ", dtype_name(src.dtype()), " but x_zero_point is ",
          dtype_name(epilogue_.x_type));
  Prepared* prepared = prepare(src);
  if (!prepared->primitive) {
    detail_ = prepared->implementation;
    fallback_.run(context);
    return;
  }
  dnnl::stream& stream = thread_stream();
  LayoutView& input = prepared->input_view(src.layout(), src.shape(), src.dtype());
  input.view.set_data_handle(const_cast<void*>(src.raw_data()));
  if (input.reorder) input.reorder->execute(stream, input.view, prepared->src_buffer);
  prepared->arguments[DNNL_ARG_SRC] = input.reorder ? prepared->src_buffer : input.view;

  Tensor converted_residual;
  const float* binary_addend = epilogue_.stage_output(context, prepared->dst_shape, Layout::kChannelsLast,
                                                      residual_scratch_, converted_residual);
  prepared->dst_view.set_data_handle(context.output(0).raw_data());
  prepared->arguments[DNNL_ARG_DST] = prepared->dst_view;
  if (binary_addend) {
    prepared->binary_view.set_data_handle(const_cast<float*>(binary_addend));
    prepared->arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared->binary_index) | DNNL_ARG_SRC_1] =
        prepared->binary_view;
  }
  prepared->primitive.execute(stream, prepared->arguments);
  stream.wait();
  detail_ = prepared->implementation;
}

QuantizedPrimitiveKernel::LayoutView& QuantizedPrimitiveKernel::Prepared::input_view(Layout layout, const Shape& shape,
                                                                                     DataType dtype) {
  auto [entry, inserted] = inputs.try_emplace(layout);
  if (inserted) {
    const memory::desc desc(to_dims(shape), to_dnnl(dtype), format_for(layout, shape.size()));
    entry->second.view = memory(desc, cpu_engine(), DNNL_MEMORY_NONE);
    if (desc != src_desc) entry->second.reorder.emplace(entry->second.view, src_buffer);
  }
  return entry->second;
}

QuantizedPrimitiveKernel::Prepared* QuantizedPrimitiveKernel::prepare(const Tensor& src) {
  const auto key = std::make_pair(src.shape(), src.dtype());
  if (auto found = cache_.find(key); found != cache_.end()) return &found->second;
  Prepared prepared;
  Shape dst_shape;
  std::optional<dnnl::primitive_desc> primitive_desc;
  try {
    primitive_desc.emplace(describe_(epilogue_, src.shape(), src.dtype(), dst_shape));
  } catch (const dnnl::error& error) {
    prepared.implementation = concat("reference fallback: oneDNN has no int8 ", operation_, " for input ",
                                     shape_to_string(src.shape()), " (", error.what(), ")");
    return &cache_.emplace(key, std::move(prepared)).first->second;
  }
  const std::string implementation = implementation_name(*primitive_desc);
  if (is_reference_implementation(implementation)) {
    // oneDNN's reference int8 (de)convolution is far slower than octet's own reference kernel.
    prepared.implementation =
        concat("reference fallback: oneDNN offers only ", implementation, " for input ", shape_to_string(src.shape()));
    return &cache_.emplace(key, std::move(prepared)).first->second;
  }
  prepared.primitive = dnnl::primitive(*primitive_desc);
  prepared.implementation = implementation;
  prepared.src_desc = primitive_desc->src_desc();
  prepared.src_buffer = memory(prepared.src_desc, cpu_engine());
  prepared.dst_shape = dst_shape;
  prepared.dst_view = memory(primitive_desc->dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  prepared.binary_index = binary_post_op_index(primitive_desc->get_primitive_attr());
  if (prepared.binary_index >= 0) {
    prepared.binary_view = memory(
        memory::desc(to_dims(dst_shape), memory::data_type::f32, format_for(Layout::kChannelsLast, dst_shape.size())),
        cpu_engine(), DNNL_MEMORY_NONE);
  }
  prepared.scratchpad = memory(primitive_desc->scratchpad_desc(), cpu_engine());
  memory user_weights(user_weights_desc_, cpu_engine(), const_cast<void*>(weights_.raw_data()));
  prepared.weights = memory(primitive_desc->weights_desc(), cpu_engine());
  dnnl::reorder(user_weights, prepared.weights).execute(thread_stream(), user_weights, prepared.weights);
  thread_stream().wait();
  prepared.arguments = {{DNNL_ARG_WEIGHTS, prepared.weights}, {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
  if (!epilogue_.bias.empty()) {
    const memory::desc bias_desc = primitive_desc->weights_desc(1);
    prepared.bias = memory(bias_desc, cpu_engine(), const_cast<float*>(epilogue_.bias.data()));
    prepared.arguments[DNNL_ARG_BIAS] = prepared.bias;
  }
  epilogue_.add_arguments(prepared.arguments);
  return &cache_.emplace(key, std::move(prepared)).first->second;
}

// Why oneDNN 2.6 cannot run this primitive on `probe_shape`, or empty when it can.
std::string decline_reason(const QuantizedPrimitiveDescriber& describe, const QuantizedEpilogue& epilogue,
                           const Shape& probe_shape, const std::string& operation) {
  const DataType probe_type = epilogue.x_type == DataType::kUndefined ? DataType::kUint8 : epilogue.x_type;
  const char* zero_point_note = epilogue.x_zero_point != 0 ? " with a source zero point" : "";
  try {
    Shape dst_shape;
    const dnnl::primitive_desc primitive_desc = describe(epilogue, probe_shape, probe_type, dst_shape);
    const std::string implementation = implementation_name(primitive_desc);
    if (is_reference_implementation(implementation))
      return concat("oneDNN 2.6 offers only ", implementation, " for this int8 ", operation, zero_point_note);
  } catch (const UnsupportedError& error) {
    return error.what();
  } catch (const dnnl::error& error) {
    return concat("oneDNN 2.6 has no int8 ", operation, " for this configuration", zero_point_note, " (", error.what(),
                  ")");
  }
  return "";
}

}  // namespace

QuantizedPrimitiveOperands describe_quantized_operands(const QuantizedEpilogue& epilogue, const Shape& src_shape,
                                                       DataType src_type, const Shape& dst_shape) {
  const memory::format_tag activation_tag = format_for(Layout::kChannelsLast, src_shape.size());
  QuantizedPrimitiveOperands operands;
  operands.src = memory::desc(to_dims(src_shape), to_dnnl(src_type), activation_tag);
  operands.dst = memory::desc(to_dims(dst_shape), to_dnnl(epilogue.dst_type), activation_tag);
  if (!epilogue.bias.empty())
    operands.bias = memory::desc({dst_shape[1]}, memory::data_type::f32, memory::format_tag::a);
  const memory::desc dst_f32_desc(to_dims(dst_shape), memory::data_type::f32, activation_tag);
  std::string reason;
  if (!epilogue.make_attributes(1, dst_f32_desc, operands.attributes, reason)) throw UnsupportedError(reason);
  return operands;
}

const Tensor* find_quantized_primitive_weights(const KernelCreateInfo& info, const std::string& operation,
                                               std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = node.has_input(kQInputW) ? info.find_constant(node.input(kQInputW)) : nullptr;
  if (!weights || weights->dtype() != DataType::kInt8) {
    reason = "W is not a constant int8 tensor";
    return nullptr;
  }
  if (weights->rank() < 3 || weights->rank() > 5) {
    reason = concat("rank ", weights->rank(), " ", operation);
    return nullptr;
  }
  if (node.has_attribute("kernel_shape") &&
      node.attr_ints("kernel_shape") != std::vector<int64_t>(weights->shape().begin() + 2, weights->shape().end())) {
    reason = "kernel_shape differs from the weight shape";
    return nullptr;
  }
  return weights;
}

std::unique_ptr<Kernel> create_quantized_primitive_kernel(const KernelCreateInfo& info, const Tensor& weights,
                                                          const memory::desc& user_weights_desc,
                                                          QuantizedEpilogue epilogue,
                                                          QuantizedPrimitiveDescriber describe,
                                                          const Shape& probe_shape, const std::string& operation,
                                                          std::string& reason) {
  reason = decline_reason(describe, epilogue, probe_shape, operation);
  if (!reason.empty()) return nullptr;
  return std::make_unique<QuantizedPrimitiveKernel>(info, weights, user_weights_desc, std::move(epilogue),
                                                    std::move(describe), operation);
}

}  // namespace octet::dnnl_backend
