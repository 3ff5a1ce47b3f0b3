// The registry holding every kernel implementation built into octet, in preference order.
#pragma once

#include "kernels/kernel_registry.h"

namespace octet {

const KernelRegistry& builtin_kernel_registry();

}  // namespace octet
