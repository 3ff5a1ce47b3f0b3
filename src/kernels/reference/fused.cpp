// Reference kernels for octet's fused ops: the plain op's reference kernel followed by the
// post-ops applied one by one. The oracle for fusion passes and for the oneDNN kernels' post-ops.
// Inputs: FusedConv and FusedConvTranspose (X, W, B, Sum), FusedGemm (A, B, C, Sum), FusedMatMul (A, B, Bias, Sum) where
// Bias is a vector added along the last axis; optional inputs may be empty names.
#include <algorithm>

#include "kernels/post_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

class FusedKernel : public Kernel {
 public:
  // `base_inputs`: how many of the node's inputs belong to the base op. `has_bias`: input 2 is a
  // bias vector added after the base op (FusedMatMul).
  FusedKernel(const KernelCreateInfo& info, const std::string& base_op_type, size_t base_inputs, bool has_bias)
      : post_ops_(read_post_ops(info.node)), base_inputs_(base_inputs), has_bias_(has_bias) {
    check(info.registry != nullptr, "fused kernels need the kernel registry");
    base_node_ = info.node;
    base_node_.domain = "";
    base_node_.op_type = base_op_type;
    base_node_.remove_attribute("post_ops");
    base_node_.remove_attribute("post_op_alpha");
    base_node_.remove_attribute("post_op_beta");
    if (base_node_.inputs.size() > base_inputs) base_node_.inputs.resize(base_inputs);
    KernelCreateInfo base_info{base_node_, info.opset, info.find_constant, info.registry};
    base_kernel_ = info.registry->create(base_info, "reference").kernel;
  }

  void run(KernelContext& context) override {
    std::vector<const Tensor*> base_inputs;
    for (size_t i = 0; i < base_inputs_; ++i) base_inputs.push_back(context.optional_input(i));
    while (!base_inputs.empty() && !base_inputs.back()) base_inputs.pop_back();
    std::vector<Tensor> outputs(1);
    KernelContext base_context(base_inputs, outputs, context.threads());
    base_kernel_->run(base_context);
    Tensor& result = outputs[0];
    check(result.dtype() == DataType::kFloat, "fused post-ops need float output, got ", dtype_name(result.dtype()));
    float* data = result.data<float>();
    if (const Tensor* bias = has_bias_ ? context.optional_input(kBiasInput) : nullptr) {
      const int64_t columns = result.rank() == 0 ? 1 : result.dim(result.rank() - 1);
      check(bias->element_count() == columns, "bias has ", bias->element_count(), " elements for ", columns, " columns");
      const float* bias_data = bias->data<float>();
      for (int64_t i = 0; i < result.element_count(); ++i) data[i] += bias_data[i % columns];
    }
    for (const auto& post_op : post_ops_) {
      if (post_op.kind == PostOpKind::kSum) {
        const Tensor& addend = context.input(kSumInput);
        check(addend.shape() == result.shape(), "sum input shape ", shape_to_string(addend.shape()),
              " differs from the output shape ", shape_to_string(result.shape()));
        const float* addend_data = addend.data<float>();
        for (int64_t i = 0; i < result.element_count(); ++i) data[i] += addend_data[i];
      } else {
        apply_post_op(post_op, data, result.element_count());
      }
    }
    context.output(0) = std::move(result);
  }

 private:
  static constexpr size_t kBiasInput = 2;
  static constexpr size_t kSumInput = 3;
  std::vector<PostOp> post_ops_;
  size_t base_inputs_;
  bool has_bias_;
  Node base_node_;
  std::unique_ptr<Kernel> base_kernel_;
};

// octet.Swish: y = x * sigmoid(x), the single-node form of Mul(x, Sigmoid(x)).
class SwishKernel : public Kernel {
 public:
  explicit SwishKernel(const KernelCreateInfo& info) {}
  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    Tensor& dst = context.allocate_output(0, DataType::kFloat, src.shape());
    std::copy(src.data<float>(), src.data<float>() + src.element_count(), dst.data<float>());
    apply_post_op({PostOpKind::kSwish}, dst.data<float>(), dst.element_count());
  }
};

KernelFactory fused_factory(const char* base_op_type, size_t base_inputs, bool has_bias) {
  return [=](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
    return std::make_unique<FusedKernel>(info, base_op_type, base_inputs, has_bias);
  };
}

}  // namespace

void register_fused_kernels(KernelRegistry& registry) {
  registry.add(kOctetDomain, "FusedConv", "reference", fused_factory("Conv", 3, false));
  registry.add(kOctetDomain, "FusedConvTranspose", "reference", fused_factory("ConvTranspose", 3, false));
  registry.add(kOctetDomain, "FusedMatMul", "reference", fused_factory("MatMul", 2, true));
  registry.add(kOctetDomain, "FusedGemm", "reference", fused_factory("Gemm", 3, false));
  registry.add(kOctetDomain, "Swish", "reference", [](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
    return std::make_unique<SwishKernel>(info);
  });
}

}  // namespace octet
