#include "core/layout.h"

#include <cstring>

namespace octet {
namespace {

// Copies between [N, C, S] (plain, S = product of spatial dims) and [N, S, C] (channels-last).
template <typename T>
void transpose_channels(const T* src, T* dst, int64_t batch, int64_t channels, int64_t spatial, bool to_last,
                        ThreadPool& threads) {
  threads.parallel_for(
      batch * channels,
      [&](int64_t begin, int64_t end) {
        for (int64_t index = begin; index < end; ++index) {
          const int64_t n = index / channels;
          const int64_t c = index % channels;
          if (to_last) {
            const T* from = src + (n * channels + c) * spatial;
            T* to = dst + n * channels * spatial + c;
            for (int64_t s = 0; s < spatial; ++s) to[s * channels] = from[s];
          } else {
            const T* from = src + n * channels * spatial + c;
            T* to = dst + (n * channels + c) * spatial;
            for (int64_t s = 0; s < spatial; ++s) to[s] = from[s * channels];
          }
        }
      },
      4);
}

Tensor convert(const Tensor& src, bool to_last, ThreadPool& threads) {
  check(src.rank() >= 3 && src.rank() <= 5, "layout conversion needs rank 3 to 5, got shape ",
        shape_to_string(src.shape()));
  Tensor dst = Tensor::uninitialized(src.dtype(), src.shape());
  dst.set_layout(to_last ? Layout::kChannelsLast : Layout::kPlain);
  const int64_t batch = src.dim(0);
  const int64_t channels = src.dim(1);
  const int64_t spatial = batch * channels == 0 ? 0 : src.element_count() / (batch * channels);
  switch (dtype_size(src.dtype())) {
    case 1:
      transpose_channels(static_cast<const uint8_t*>(src.raw_data()), static_cast<uint8_t*>(dst.raw_data()), batch,
                         channels, spatial, to_last, threads);
      break;
    case 2:
      transpose_channels(static_cast<const uint16_t*>(src.raw_data()), static_cast<uint16_t*>(dst.raw_data()),
                         batch, channels, spatial, to_last, threads);
      break;
    case 4:
      transpose_channels(static_cast<const uint32_t*>(src.raw_data()), static_cast<uint32_t*>(dst.raw_data()),
                         batch, channels, spatial, to_last, threads);
      break;
    case 8:
      transpose_channels(static_cast<const uint64_t*>(src.raw_data()), static_cast<uint64_t*>(dst.raw_data()),
                         batch, channels, spatial, to_last, threads);
      break;
    default: throw Error(concat("cannot convert the layout of ", dtype_name(src.dtype()), " tensors"));
  }
  return dst;
}

}  // namespace

Tensor to_plain(const Tensor& src, ThreadPool& threads) {
  if (src.layout() == Layout::kPlain) return src.clone();
  return convert(src, false, threads);
}

Tensor to_channels_last(const Tensor& src, ThreadPool& threads) {
  if (src.layout() == Layout::kChannelsLast) return src.clone();
  return convert(src, true, threads);
}

}  // namespace octet
