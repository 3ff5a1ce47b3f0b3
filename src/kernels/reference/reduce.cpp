#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_reduce_kernels(KernelRegistry& registry) {}

}  // namespace octet
