// Concat and nearest/linear Resize on oneDNN, in the layout of the (first) input.
#include <cmath>
#include <map>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/reference/kernel_util.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

class ConcatKernel : public Kernel {
 public:
  ConcatKernel(const KernelCreateInfo& info) : fallback_(info), axis_(info.node.attr_int("axis")) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& first = context.input(0);
    // Concatenation copies elements: 8-bit tensors are exact too.
    bool supported = (first.dtype() == DataType::kFloat || first.dtype() == DataType::kUint8 ||
                      first.dtype() == DataType::kInt8) &&
                     first.rank() >= 1 && first.rank() <= 6;
    for (size_t i = 0; i < context.input_count() && supported; ++i) {
      const Tensor* input = context.optional_input(i);
      supported = input && input->dtype() == first.dtype() && input->rank() == first.rank() && input->element_count() > 0;
    }
    if (!supported) {
      detail_ = "reference fallback: non-float, empty or mixed inputs";
      fallback_.run(context);
      return;
    }
    const int64_t axis = normalize_axis(axis_, first.rank(), "Concat");
    Shape dst_shape = first.shape();
    dst_shape[static_cast<size_t>(axis)] = 0;
    std::vector<memory::desc> source_descs;
    std::vector<memory> sources;
    for (size_t i = 0; i < context.input_count(); ++i) {
      const Tensor& input = context.input(i);
      for (int64_t d = 0; d < first.rank(); ++d) {
        if (d != axis && input.dim(d) != first.dim(d))
          throw Error(concat("input ", i, " has shape ", shape_to_string(input.shape()), ", incompatible with ",
                             shape_to_string(first.shape()), " along axis ", d));
      }
      dst_shape[static_cast<size_t>(axis)] += input.dim(axis);
      source_descs.push_back(describe(input));
      sources.push_back(wrap(input, source_descs.back()));
    }
    Tensor& dst = context.allocate_uninitialized_output(0, first.dtype(), dst_shape);
    dst.set_layout(first.layout());
    memory::desc dst_desc = describe(dst);
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(dst.byte_size())));
    dnnl::concat::primitive_desc primitive_desc(dst_desc, static_cast<int>(axis), source_descs, cpu_engine());
    std::unordered_map<int, memory> arguments{{DNNL_ARG_DST, wrap(dst, dst_desc)}};
    for (size_t i = 0; i < sources.size(); ++i) arguments[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = sources[i];
    dnnl::stream& stream = thread_stream();
    dnnl::concat(primitive_desc).execute(stream, arguments);
    stream.wait();
    detail_ = implementation_name(primitive_desc);
  }

 private:
  ReferenceFallback fallback_;
  int64_t axis_;
  std::string detail_;
};

// Resize/Upsample where oneDNN's resampling computes exactly what ONNX asks: nearest with whole
// upscaling factors (oneDNN then picks source index floor(dst / factor)) and coordinate modes that
// agree, and linear with half-pixel coordinates.
class ResizeKernel : public Kernel {
 public:
  ResizeKernel(const KernelCreateInfo& info, dnnl::algorithm algorithm) : fallback_(info), algorithm_(algorithm) {
    const Node& node = info.node;
    if (node.op_type == "Upsample") {
      scales_input_ = info.opset >= 9 ? 1 : kNone;
      if (info.opset < 9) attribute_scales_ = node.attr_floats("scales");
    } else if (info.opset == 10) {
      scales_input_ = 1;
    } else {
      scales_input_ = 2;
      sizes_input_ = 3;
    }
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    Shape dst_shape;
    // Nearest resampling copies elements, exact for 8-bit tensors; linear would round its own way.
    const bool type_supported =
        src.dtype() == DataType::kFloat ||
        ((src.dtype() == DataType::kUint8 || src.dtype() == DataType::kInt8) &&
         algorithm_ == dnnl::algorithm::resampling_nearest);
    if (!type_supported || src.rank() < 3 || src.rank() > 5 || !output_shape(context, src, dst_shape)) {
      detail_ = "reference fallback: not a whole-factor nearest or half-pixel linear resize";
      fallback_.run(context);
      return;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, src.dtype(), dst_shape);
    dst.set_layout(src.layout());
    memory::desc src_desc = describe(src);
    memory::desc dst_desc = describe(dst);
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(dst.byte_size())));
    auto key = std::make_pair(src.shape(), std::make_pair(dst_shape, src.layout()));
    auto found = cache_.find(key);
    if (found == cache_.end()) {
      dnnl::resampling_forward::desc descriptor(dnnl::prop_kind::forward_inference, algorithm_, src_desc, dst_desc);
      dnnl::resampling_forward::primitive_desc primitive_desc(descriptor, cpu_engine());
      found = cache_.emplace(key, std::make_pair(dnnl::resampling_forward(primitive_desc),
                                                 implementation_name(primitive_desc))).first;
    }
    dnnl::stream& stream = thread_stream();
    found->second.first.execute(stream, {{DNNL_ARG_SRC, wrap(src, src_desc)}, {DNNL_ARG_DST, wrap(dst, dst_desc)}});
    stream.wait();
    detail_ = found->second.second;
  }

  std::string coordinate_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Computes the output shape; false when oneDNN's resampling would not match ONNX semantics.
  bool output_shape(const KernelContext& context, const Tensor& src, Shape& dst_shape) const {
    std::vector<float> scales = attribute_scales_;
    const Tensor* scales_tensor = scales_input_ == kNone ? nullptr : context.optional_input(scales_input_);
    const Tensor* sizes_tensor = sizes_input_ == kNone ? nullptr : context.optional_input(sizes_input_);
    if (sizes_tensor && sizes_tensor->element_count() > 0) {
      dst_shape = sizes_tensor->to_int64_vector();
      if (dst_shape.size() != src.shape().size()) return false;
    } else {
      if (scales_tensor && scales_tensor->element_count() > 0) {
        if (scales_tensor->dtype() != DataType::kFloat) return false;
        scales.assign(scales_tensor->data<float>(), scales_tensor->data<float>() + scales_tensor->element_count());
      }
      if (scales.size() != src.shape().size()) return false;
      for (size_t i = 0; i < scales.size(); ++i)
        dst_shape.push_back(static_cast<int64_t>(std::floor(static_cast<double>(src.shape()[i]) * scales[i])));
    }
    if (dst_shape[0] != src.dim(0) || dst_shape[1] != src.dim(1)) return false;
    for (size_t i = 2; i < dst_shape.size(); ++i) {
      if (dst_shape[i] <= 0) return false;
      if (algorithm_ == dnnl::algorithm::resampling_nearest) {
        if (dst_shape[i] % src.shape()[i] != 0) return false;  // whole upscaling factors only
        // With dst = k * factor + r: asymmetric gives r / factor (floor picks k); half-pixel gives
        // k + (r + 0.5) / factor - 0.5, strictly within half a step of k (rounding picks k).
        const bool asymmetric_floor = coordinate_mode == "asymmetric" && nearest_mode == "floor";
        const bool half_pixel_round = (coordinate_mode == "half_pixel" || coordinate_mode == "pytorch_half_pixel") &&
                                      (nearest_mode == "round_prefer_floor" || nearest_mode == "round_prefer_ceil");
        if (!asymmetric_floor && !half_pixel_round) return false;
      } else {
        // oneDNN's linear downsampling does not interpolate like ONNX: upsampling (and copies) only.
        if (dst_shape[i] < src.shape()[i]) return false;
        if (coordinate_mode != "half_pixel" && !(coordinate_mode == "pytorch_half_pixel" && dst_shape[i] > 1))
          return false;
      }
    }
    return true;
  }

  ReferenceFallback fallback_;
  dnnl::algorithm algorithm_;
  size_t scales_input_ = kNone;
  size_t sizes_input_ = kNone;
  std::vector<float> attribute_scales_;
  std::map<std::pair<Shape, std::pair<Shape, Layout>>, std::pair<dnnl::resampling_forward, std::string>> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_concat_kernel(const KernelCreateInfo& info, std::string& reason) {
  return std::make_unique<ConcatKernel>(info);
}

std::unique_ptr<Kernel> create_resize_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const std::string mode = node.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear") {
    reason = concat("mode '", mode, "'");
    return nullptr;
  }
  if (node.op_type == "Resize" && info.opset >= 11) {
    if (node.attr_int("exclude_outside", 0) != 0) {
      reason = "exclude_outside";
      return nullptr;
    }
  }
  auto kernel = std::make_unique<ResizeKernel>(
      info, mode == "nearest" ? dnnl::algorithm::resampling_nearest : dnnl::algorithm::resampling_linear);
  if (node.op_type == "Resize") {
    // Opset 10 Resize has no coordinate mode: it is "asymmetric" (as Upsample).
    kernel->coordinate_mode =
        info.opset >= 11 ? node.attr_string("coordinate_transformation_mode", "half_pixel") : "asymmetric";
    kernel->nearest_mode = info.opset >= 11 ? node.attr_string("nearest_mode", "round_prefer_floor") : "floor";
  } else {
    kernel->coordinate_mode = "asymmetric";
    kernel->nearest_mode = "floor";
  }
  if (mode == "linear" && kernel->coordinate_mode != "half_pixel" && kernel->coordinate_mode != "pytorch_half_pixel") {
    reason = concat("linear resize with coordinate mode '", kernel->coordinate_mode, "'");
    return nullptr;
  }
  return kernel;
}

}  // namespace octet::dnnl_backend
