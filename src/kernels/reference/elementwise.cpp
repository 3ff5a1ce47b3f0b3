#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_elementwise_kernels(KernelRegistry& registry) {}

}  // namespace octet
