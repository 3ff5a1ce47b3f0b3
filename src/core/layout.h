// Conversions between plain (NCHW) and channels-last (NHWC) tensors.
#pragma once

#include "core/thread_pool.h"
#include "octet/tensor.h"

namespace octet {

// Returns a plain copy of a channels-last tensor (rank 3 to 5).
Tensor to_plain(const Tensor& src, ThreadPool& threads);
// Returns a channels-last copy of a plain tensor (rank 3 to 5).
Tensor to_channels_last(const Tensor& src, ThreadPool& threads);

}  // namespace octet
