#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_quantize_kernels(KernelRegistry& registry) {}

}  // namespace octet
