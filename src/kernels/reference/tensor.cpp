// Shape and data-movement ops.
#include <cstring>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Identity, Dropout (inference: a copy; the optional mask output is all true).
class IdentityKernel : public Kernel {
 public:
  explicit IdentityKernel(const KernelCreateInfo& info) {}
  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    context.output(0) = src.clone();
    if (context.output_requested(1)) {
      Tensor& mask = context.allocate_output(1, DataType::kBool, src.shape());
      std::memset(mask.raw_data(), 1, mask.byte_size());
    }
  }
};

}  // namespace

void register_tensor_kernels(KernelRegistry& registry) {
  register_reference<IdentityKernel>(registry, "Identity");
  register_reference<IdentityKernel>(registry, "Dropout");
}

}  // namespace octet
