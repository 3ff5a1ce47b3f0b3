#include "runtime/builtin_kernels.h"

#include "kernels/reference/reference_kernels.h"

namespace octet {

const KernelRegistry& builtin_kernel_registry() {
  static const KernelRegistry registry = [] {
    KernelRegistry built;
    register_reference_kernels(built);
    return built;
  }();
  return registry;
}

}  // namespace octet
