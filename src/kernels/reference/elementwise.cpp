// Elementwise ops. The kernels live in elementwise_unary.cpp (math, activations, Clip, logic on one
// input), elementwise_binary.cpp (broadcasting ops over several inputs) and elementwise_cast.cpp.
#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_elementwise_kernels(KernelRegistry& registry) {
  register_elementwise_unary_kernels(registry);
  register_elementwise_binary_kernels(registry);
  register_elementwise_cast_kernels(registry);
}

}  // namespace octet
