#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_resize_kernels(KernelRegistry& registry) {}

}  // namespace octet
