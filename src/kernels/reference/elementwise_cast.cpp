// Cast and CastLike, and the float detour that 16-bit float kernels take.
#include <vector>

#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {

Tensor cast_tensor(const Tensor& src, DataType dst_dtype, ThreadPool& threads) {
  if (src.dtype() == dst_dtype) return src.clone();
  Tensor dst(dst_dtype, src.shape());
  dst.set_layout(src.layout());
  dispatch_castable(src.dtype(), "Cast input", [&]<typename Src>() {
    dispatch_castable(dst_dtype, "Cast output", [&]<typename Dst>() {
      map_elements<Src, Dst>(src, dst, threads, [](Src value) { return convert_value<Dst>(value); });
    });
  });
  return dst;
}

void run_in_float(KernelContext& context, DataType storage_type, const std::function<void(KernelContext&)>& body) {
  std::vector<Tensor> converted_inputs;
  converted_inputs.reserve(context.input_count());  // no reallocation: `inputs` points into it
  std::vector<const Tensor*> inputs(context.input_count(), nullptr);
  for (size_t i = 0; i < context.input_count(); ++i) {
    const Tensor* input = context.optional_input(i);
    if (input != nullptr && is_16bit_float(input->dtype())) {
      converted_inputs.push_back(cast_tensor(*input, DataType::kFloat, context.threads()));
      input = &converted_inputs.back();
    }
    inputs[i] = input;
  }
  std::vector<Tensor> outputs(context.output_count());
  KernelContext float_context(inputs, outputs, context.threads());
  body(float_context);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (is_16bit_float(storage_type) && outputs[i].dtype() == DataType::kFloat) {
      context.output(i) = cast_tensor(outputs[i], storage_type, context.threads());
    } else {
      context.output(i) = std::move(outputs[i]);
    }
  }
}

namespace {

// The type named by Cast's `to` attribute; throws for values that are not a supported type.
DataType cast_target_type(int64_t to) {
  switch (static_cast<DataType>(to)) {
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kFloat16:
    case DataType::kBfloat16:
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64:
    case DataType::kBool: return static_cast<DataType>(to);
    case DataType::kString: throw UnsupportedError("Cast to string is not supported");
    case DataType::kUndefined: throw Error("attribute 'to' is 0 (undefined type)");
  }
  throw UnsupportedError(concat("attribute 'to': data type ", to, " is not supported"));
}

// Cast: y = x converted to the type of attribute `to`. Float to integer truncates toward zero
// (NaN -> 0, out of range saturates); to bool is x != 0; 16-bit floats round to nearest even.
class CastKernel : public Kernel {
 public:
  explicit CastKernel(const KernelCreateInfo& info) : dst_dtype_(cast_target_type(info.node.attr_int("to"))) {}

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    context.output(0) = cast_tensor(context.input(0), dst_dtype_, context.threads());
  }

 private:
  DataType dst_dtype_;
};

// CastLike: Cast to the type of input 1 (whose values are ignored).
class CastLikeKernel : public Kernel {
 public:
  explicit CastLikeKernel(const KernelCreateInfo& info) {}

  void run(KernelContext& context) override {
    const DataType dst_dtype = context.input(1).dtype();
    if (dst_dtype == DataType::kString) throw UnsupportedError("CastLike to string is not supported");
    context.output(0) = cast_tensor(context.input(0), dst_dtype, context.threads());
  }
};

}  // namespace

void register_elementwise_cast_kernels(KernelRegistry& registry) {
  register_reference<CastKernel>(registry, "Cast");
  register_reference<CastLikeKernel>(registry, "CastLike");
}

}  // namespace octet
