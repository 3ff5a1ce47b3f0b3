#include "runtime/builtin_kernels.h"

#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {

const KernelRegistry& builtin_kernel_registry() {
  static const KernelRegistry registry = [] {
    KernelRegistry built;
    register_reference_kernels(built);
    register_dnnl_kernels(built);  // ahead of the reference in each op's list
    return built;
  }();
  return registry;
}

void set_kernel_library_threads(int threads) { register_dnnl_threads(threads); }

}  // namespace octet
