#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_linear_kernels(KernelRegistry& registry) {}

}  // namespace octet
