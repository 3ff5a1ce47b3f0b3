// The registry holding every kernel implementation built into octet, in preference order.
#pragma once

#include "kernels/kernel_registry.h"

namespace octet {

// Every kernel built into octet: oneDNN implementations first, the reference last.
const KernelRegistry& builtin_kernel_registry();

// Sets how many threads the kernel libraries that manage their own (oneDNN's OpenMP) use on the
// calling thread.
void set_kernel_library_threads(int threads);

}  // namespace octet
