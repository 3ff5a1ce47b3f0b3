// Reference kernel of octet.QFusedConvTranspose (quantized_ops.h): the oracle of the oneDNN int8
// deconvolution.
//
// The int32 accumulator is computed directly as the transposed convolution's scatter: every input
// element (minus x_zero_point) times every weight of its input channel is added to the output
// position it reaches, y = x * stride - pad_begin + k * dilation. Integer sums are exact, so the
// order does not matter. Then the contract's float steps of quantized_epilogue_reference.h, the
// same as for QFusedConv: bias, per-channel multiplier, post-ops (sum dequantizes the residual),
// and the final quantization through quantize_math.h.
#include <array>
#include <vector>

#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/quantized_epilogue_reference.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

constexpr int64_t kMaxSpatialRank = 3;
using Spatial = std::array<int64_t, kMaxSpatialRank>;

// One transposed convolution's sizes, spatial arrays padded in front to three entries (size 1,
// stride 1, no padding) for 1-D and 2-D ones.
struct DeconvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Spatial input{1, 1, 1}, output{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1}, pad_begin{0, 0, 0};
  Shape output_shape;

  int64_t input_size() const { return input[0] * input[1] * input[2]; }
  int64_t output_size() const { return output[0] * output[1] * output[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

class QuantizedDeconvKernel : public Kernel {
 public:
  explicit QuantizedDeconvKernel(const KernelCreateInfo& info)
      : post_ops_(read_post_ops(info.node)), description_(info.node.describe()) {
    const Node& node = info.node;
    group_ = node.attr_int("group", 1);
    kernel_shape_ = node.attr_ints("kernel_shape", {});
    strides_ = node.attr_ints("strides", {});
    dilations_ = node.attr_ints("dilations", {});
    pads_ = node.attr_ints("pads", {});
    output_padding_ = node.attr_ints("output_padding", {});
    const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
    check(group_ >= 1, description_, ": attribute group must be positive, got ", group_);
    if (auto_pad != "NOTSET" && auto_pad != "VALID")
      throw UnsupportedError(concat(description_, ": auto_pad ", auto_pad, " is not supported"));
    if (auto_pad == "VALID") pads_.clear();
    if (node.has_attribute("output_shape"))
      throw UnsupportedError(concat(description_, ": the output_shape attribute is not supported"));
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(kQInputX);
    const Tensor& w = context.input(kQInputW);
    check(is_8bit(x.dtype()), description_, ": X must be uint8 or int8, got ", dtype_name(x.dtype()));
    check(w.dtype() == DataType::kInt8, description_, ": W must be int8, got ", dtype_name(w.dtype()));
    const float x_scale = scalar_float(context.input(kQInputXScale), "x_scale");
    const Tensor* x_zero_point_tensor = context.optional_input(kQInputXZeroPoint);
    const int32_t x_zero_point =
        x_zero_point_tensor ? scalar_zero_point(*x_zero_point_tensor, x.dtype(), "x_zero_point") : 0;
    const DeconvGeometry geometry = make_geometry(x.shape(), w.shape());

    const std::vector<int32_t> accumulators = accumulate(geometry, x, w, x_zero_point);
    apply_quantized_epilogue_reference(context, description_, post_ops_, x_scale, accumulators.data(),
                                       geometry.output_shape, {geometry.out_channels, geometry.output_size()});
  }

 private:
  // An attribute with one value per spatial axis, or `fallback` for each when absent.
  std::vector<int64_t> per_axis(const std::vector<int64_t>& values, size_t count, int64_t fallback,
                                const char* name) const {
    if (values.empty()) return std::vector<int64_t>(count, fallback);
    check(values.size() == count, description_, ": attribute ", name, " has ", values.size(), " values for ", count);
    return values;
  }

  DeconvGeometry make_geometry(const Shape& x_shape, const Shape& w_shape) const {
    check(x_shape.size() >= 3 && x_shape.size() <= 2 + kMaxSpatialRank, description_, ": input X ",
          shape_to_string(x_shape), " must have rank 3 to 5");
    check(w_shape.size() == x_shape.size(), description_, ": weight W ", shape_to_string(w_shape), " and input X ",
          shape_to_string(x_shape), " must have the same rank");
    const size_t rank = x_shape.size() - 2;
    DeconvGeometry geometry;
    geometry.batch = x_shape[0];
    geometry.in_channels = x_shape[1];
    geometry.group = group_;
    check(w_shape[0] == geometry.in_channels && geometry.in_channels % group_ == 0, description_, ": input X has ",
          geometry.in_channels, " channels, weight W ", shape_to_string(w_shape), " with group ", group_);
    geometry.out_channels = w_shape[1] * group_;
    const std::vector<int64_t> strides = per_axis(strides_, rank, 1, "strides");
    const std::vector<int64_t> dilations = per_axis(dilations_, rank, 1, "dilations");
    const std::vector<int64_t> pads = per_axis(pads_, 2 * rank, 0, "pads");
    const std::vector<int64_t> output_padding = per_axis(output_padding_, rank, 0, "output_padding");
    if (!kernel_shape_.empty())
      check(kernel_shape_ == std::vector<int64_t>(w_shape.begin() + 2, w_shape.end()), description_,
            ": kernel_shape differs from the weight shape ", shape_to_string(w_shape));
    geometry.output_shape = {geometry.batch, geometry.out_channels};
    for (size_t axis = 0; axis < rank; ++axis) {
      const size_t slot = kMaxSpatialRank - rank + axis;
      geometry.input[slot] = x_shape[axis + 2];
      geometry.kernel[slot] = w_shape[axis + 2];
      geometry.stride[slot] = strides[axis];
      geometry.dilation[slot] = dilations[axis];
      geometry.pad_begin[slot] = pads[axis];
      check(strides[axis] >= 1 && dilations[axis] >= 1 && pads[axis] >= 0 && pads[axis + rank] >= 0 &&
                output_padding[axis] >= 0,
            description_, ": strides and dilations must be positive, pads and output_padding not negative");
      const int64_t extent = (geometry.kernel[slot] - 1) * geometry.dilation[slot] + 1;
      geometry.output[slot] = geometry.stride[slot] * (geometry.input[slot] - 1) + output_padding[axis] + extent -
                              pads[axis] - pads[axis + rank];
      check(geometry.output[slot] > 0, description_, ": output size ", geometry.output[slot], " is not positive");
      geometry.output_shape.push_back(geometry.output[slot]);
    }
    return geometry;
  }

  // acc[n, m, y] = sum of (X[n, c, x] - zp) * W[c, m', k] over the (c, x, k) with
  // y = x * stride - pad_begin + k * dilation.
  static std::vector<int32_t> accumulate(const DeconvGeometry& geometry, const Tensor& x, const Tensor& w,
                                         int32_t x_zero_point) {
    std::vector<int32_t> acc(static_cast<size_t>(geometry.batch * geometry.out_channels * geometry.output_size()), 0);
    const int64_t in_per_group = geometry.in_channels / geometry.group;
    const int64_t out_per_group = geometry.out_channels / geometry.group;
    const int64_t kernel_size = geometry.kernel_size();
    const int8_t* weights = w.data<int8_t>();
    const auto at = [](const Tensor& tensor, int64_t index) -> int32_t {
      return tensor.dtype() == DataType::kUint8 ? tensor.data<uint8_t>()[index] : tensor.data<int8_t>()[index];
    };
    for (int64_t n = 0; n < geometry.batch; ++n) {
      for (int64_t c = 0; c < geometry.in_channels; ++c) {
        const int64_t g = c / in_per_group;
        for (int64_t position = 0; position < geometry.input_size(); ++position) {
          const int32_t value = at(x, (n * geometry.in_channels + c) * geometry.input_size() + position) - x_zero_point;
          if (value == 0) continue;
          const Spatial source{position / (geometry.input[1] * geometry.input[2]),
                               position / geometry.input[2] % geometry.input[1], position % geometry.input[2]};
          for (int64_t k = 0; k < kernel_size; ++k) {
            const Spatial tap{k / (geometry.kernel[1] * geometry.kernel[2]),
                              k / geometry.kernel[2] % geometry.kernel[1], k % geometry.kernel[2]};
            int64_t target = 0;
            bool inside = true;
            for (int64_t d = 0; d < kMaxSpatialRank && inside; ++d) {
              const int64_t coordinate =
                  source[d] * geometry.stride[d] - geometry.pad_begin[d] + tap[d] * geometry.dilation[d];
              inside = coordinate >= 0 && coordinate < geometry.output[d];
              target = target * geometry.output[d] + coordinate;
            }
            if (!inside) continue;
            for (int64_t m = 0; m < out_per_group; ++m) {
              const int64_t out_channel = g * out_per_group + m;
              const int32_t weight = weights[(c * out_per_group + m) * kernel_size + k];
              acc[(n * geometry.out_channels + out_channel) * geometry.output_size() + target] += value * weight;
            }
          }
        }
      }
    }
    return acc;
  }

  std::vector<PostOp> post_ops_;
  std::string description_;
  int64_t group_ = 1;
  std::vector<int64_t> kernel_shape_, strides_, dilations_, pads_, output_padding_;
};

}  // namespace

void register_quantized_deconv_kernel(KernelRegistry& registry) {
  registry.add(kOctetDomain, kQuantizedFusedConvTranspose, "reference",
               [](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
                 return std::make_unique<QuantizedDeconvKernel>(info);
               });
}

}  // namespace octet
