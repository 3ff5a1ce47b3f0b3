#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_conv_kernels(KernelRegistry& registry) {}

}  // namespace octet
