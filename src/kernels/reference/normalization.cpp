#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_normalization_kernels(KernelRegistry& registry) {}

}  // namespace octet
