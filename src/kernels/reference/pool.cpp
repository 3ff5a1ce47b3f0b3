#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_pool_kernels(KernelRegistry& registry) {}

}  // namespace octet
