// MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on oneDNN, in the input's layout.
#include <map>
#include <optional>
#include <tuple>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

// Bytes read below which a pooling primitive runs on the calling thread alone: a pool is one cheap
// pass, so the limit is four times that of other memory-bound primitives (dnnl_common.h); it keeps
// ResNet-50's 8-bit max pooling (0.8 MB) on one thread.
constexpr int64_t kSingleThreadPoolBytes = int64_t{1} << 20;

struct PoolGeometry {
  memory::dims kernel, strides, dilations, pads_begin, pads_end;
  Shape dst_shape;
  bool extended_end_padding = false;  // ceil mode reaches past the explicit padding
};

class PoolKernel : public Kernel {
 public:
  PoolKernel(const KernelCreateInfo& info, dnnl::algorithm algorithm, bool global)
      : fallback_(info), algorithm_(algorithm), global_(global) {
    const Node& node = info.node;
    if (!global) {
      kernel_shape_ = node.attr_ints("kernel_shape");
      const size_t spatial_rank = kernel_shape_.size();
      strides_ = node.attr_ints("strides", std::vector<int64_t>(spatial_rank, 1));
      dilations_ = node.attr_ints("dilations", std::vector<int64_t>(spatial_rank, 1));
      pads_ = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_rank, 0));
      auto_pad_ = node.attr_string("auto_pad", "NOTSET");
      ceil_mode_ = node.attr_int("ceil_mode", 0) != 0;
    }
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    // Max pooling only selects elements, so 8-bit tensors pool exactly (ONNX MaxPool-12 allows
    // them); averages stay float as in ONNX.
    const bool eight_bit = src.dtype() == DataType::kUint8 || src.dtype() == DataType::kInt8;
    const bool type_supported =
        src.dtype() == DataType::kFloat || (eight_bit && algorithm_ == dnnl::algorithm::pooling_max);
    if (!type_supported || src.rank() < 3 || src.rank() > 5 ||
        (!global_ && kernel_shape_.size() + 2 != static_cast<size_t>(src.rank()))) {
      detail_ = "reference fallback: unsupported type or rank";
      fallback_.run(context);
      return;
    }
    Prepared* prepared = prepare(src);
    if (!prepared) {
      detail_ = "reference fallback: oneDNN rejected the shape";
      fallback_.run(context);
      return;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, src.dtype(), prepared->dst_shape);
    dst.set_layout(src.layout());
    memory src_memory = wrap(src, describe(src));
    memory dst_memory = wrap(dst, describe(dst));
    std::optional<ScopedThreadLimit> thread_limit;
    if (prepared->single_threaded) thread_limit.emplace(1);
    dnnl::stream& stream = thread_stream();
    prepared->primitive.execute(stream, {{DNNL_ARG_SRC, src_memory},
                                         {DNNL_ARG_DST, dst_memory},
                                         {DNNL_ARG_SCRATCHPAD, prepared->scratchpad}});
    stream.wait();
    detail_ = prepared->implementation;
  }

 private:
  struct Prepared {
    dnnl::pooling_v2_forward primitive;
    memory scratchpad;
    Shape dst_shape;
    std::string implementation;
    bool single_threaded = false;  // created and run on the calling thread alone
  };

  PoolGeometry geometry(const Shape& src_shape) const {
    PoolGeometry result;
    result.dst_shape = {src_shape[0], src_shape[1]};
    const size_t spatial_rank = src_shape.size() - 2;
    for (size_t i = 0; i < spatial_rank; ++i) {
      const int64_t input_size = src_shape[i + 2];
      if (global_) {
        result.kernel.push_back(input_size);
        result.strides.push_back(1);
        result.dilations.push_back(0);
        result.pads_begin.push_back(0);
        result.pads_end.push_back(0);
        result.dst_shape.push_back(1);
        continue;
      }
      const int64_t stride = strides_[i];
      const int64_t effective_kernel = (kernel_shape_[i] - 1) * dilations_[i] + 1;
      int64_t pad_begin = pads_[i];
      int64_t pad_end = pads_[i + spatial_rank];
      int64_t output_size;
      if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
        output_size = (input_size + stride - 1) / stride;
        const int64_t total = std::max<int64_t>(0, (output_size - 1) * stride + effective_kernel - input_size);
        pad_begin = auto_pad_ == "SAME_UPPER" ? total / 2 : total - total / 2;
        pad_end = total - pad_begin;
      } else {
        if (auto_pad_ == "VALID") pad_begin = pad_end = 0;
        const int64_t span = input_size + pad_begin + pad_end - effective_kernel;
        output_size = (ceil_mode_ ? (span + stride - 1) / stride : span / stride) + 1;
        // A window must start inside the input or its left padding (the PyTorch/ONNX Runtime rule).
        if (ceil_mode_ && (output_size - 1) * stride >= input_size + pad_begin) --output_size;
        // oneDNN derives the output size from the padding: extend the end padding for ceil mode.
        const int64_t needed_end = (output_size - 1) * stride + effective_kernel - input_size - pad_begin;
        if (needed_end > pad_end) result.extended_end_padding = true;
        pad_end = needed_end;
      }
      result.kernel.push_back(kernel_shape_[i]);
      result.strides.push_back(stride);
      result.dilations.push_back(dilations_[i] - 1);
      result.pads_begin.push_back(pad_begin);
      result.pads_end.push_back(pad_end);
      result.dst_shape.push_back(output_size);
    }
    return result;
  }

  Prepared* prepare(const Tensor& src) {
    const auto key = std::make_tuple(src.shape(), src.layout(), src.dtype());
    if (auto found = cache_.find(key); found != cache_.end()) return found->second ? &*found->second : nullptr;
    std::optional<Prepared> prepared;
    try {
      PoolGeometry g = geometry(src.shape());
      // ONNX divides by the window clipped to input plus explicit padding; oneDNN would also
      // count the padding it was given to reach the ceil-mode output size.
      if (g.extended_end_padding && algorithm_ == dnnl::algorithm::pooling_avg_include_padding)
        throw dnnl::error(dnnl_unimplemented, "ceil-mode padding counted by include_padding");
      memory::desc src_desc = describe(src);
      memory::desc dst_desc(to_dims(g.dst_shape), to_dnnl(src.dtype()), format_for(src.layout(), src.shape().size()));
      dnnl::pooling_v2_forward::desc descriptor(dnnl::prop_kind::forward_inference, algorithm_, src_desc, dst_desc,
                                                g.strides, g.kernel, g.dilations, g.pads_begin, g.pads_end);
      dnnl::primitive_attr attributes;
      attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const bool single_threaded = static_cast<int64_t>(src.byte_size()) < kSingleThreadPoolBytes;
      std::optional<ScopedThreadLimit> thread_limit;
      if (single_threaded) thread_limit.emplace(1);
      dnnl::pooling_v2_forward::primitive_desc primitive_desc(descriptor, attributes, cpu_engine());
      prepared =
          Prepared{dnnl::pooling_v2_forward(primitive_desc), memory(primitive_desc.scratchpad_desc(), cpu_engine()),
                   g.dst_shape, implementation_name(primitive_desc), single_threaded};
    } catch (const dnnl::error&) {
      prepared.reset();
    }
    auto [entry, inserted] = cache_.emplace(key, std::move(prepared));
    return entry->second ? &*entry->second : nullptr;
  }

  ReferenceFallback fallback_;
  dnnl::algorithm algorithm_;
  bool global_;
  std::vector<int64_t> kernel_shape_, strides_, dilations_, pads_;
  std::string auto_pad_;
  bool ceil_mode_ = false;
  std::map<std::tuple<Shape, Layout, DataType>, std::optional<Prepared>> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_pool_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const std::string& op = node.op_type;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    reason = "the Indices output is requested";
    return nullptr;
  }
  if (op == "MaxPool") {
    if (node.attr_int("storage_order", 0) != 0) {
      reason = "storage_order 1";
      return nullptr;
    }
    return std::make_unique<PoolKernel>(info, dnnl::algorithm::pooling_max, false);
  }
  if (op == "AveragePool") {
    const bool include_padding = node.attr_int("count_include_pad", 0) != 0;
    return std::make_unique<PoolKernel>(
        info, include_padding ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding,
        false);
  }
  if (op == "GlobalAveragePool")
    return std::make_unique<PoolKernel>(info, dnnl::algorithm::pooling_avg_exclude_padding, true);
  if (op == "GlobalMaxPool") return std::make_unique<PoolKernel>(info, dnnl::algorithm::pooling_max, true);
  reason = concat("op ", op, " is not a pooling op");
  return nullptr;
}

}  // namespace octet::dnnl_backend
