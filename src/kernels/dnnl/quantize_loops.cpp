#include "kernels/dnnl/quantize_loops.h"

#include "kernels/reference/quantize_math.h"

// One clone per instruction set; the dynamic loader resolves each function once (ifunc).
#define OCTET_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace octet::dnnl_backend {
namespace {

// Inlined into each clone, so that each compiles the loop for its own instruction set.
template <typename Quantized>
[[gnu::always_inline]] inline void quantize_elements(const float* src, int64_t count, float scale, int32_t zero_point,
                                                     Quantized* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = quantize_saturate<Quantized>(src[i] / scale, zero_point);
}

template <typename Quantized>
[[gnu::always_inline]] inline void dequantize_elements(const Quantized* src, int64_t count, float scale,
                                                       int32_t zero_point, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<float>(static_cast<int32_t>(src[i]) - zero_point) * scale;
}

OCTET_VECTOR_CLONES void quantize_to_uint8(const float* src, int64_t count, float scale, int32_t zero_point,
                                           uint8_t* dst) {
  quantize_elements(src, count, scale, zero_point, dst);
}

OCTET_VECTOR_CLONES void quantize_to_int8(const float* src, int64_t count, float scale, int32_t zero_point,
                                          int8_t* dst) {
  quantize_elements(src, count, scale, zero_point, dst);
}

OCTET_VECTOR_CLONES void dequantize_uint8(const uint8_t* src, int64_t count, float scale, int32_t zero_point,
                                          float* dst) {
  dequantize_elements(src, count, scale, zero_point, dst);
}

OCTET_VECTOR_CLONES void dequantize_int8(const int8_t* src, int64_t count, float scale, int32_t zero_point,
                                         float* dst) {
  dequantize_elements(src, count, scale, zero_point, dst);
}

OCTET_VECTOR_CLONES void shift_int8_to_uint8(const int8_t* src, int64_t count, uint8_t* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<uint8_t>(src[i]) ^ 0x80u;
}

template <typename Quantized>
[[gnu::always_inline]] inline void add_row_elements(const Quantized* src, int64_t rows, int64_t columns,
                                                    int32_t* sums) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c) sums[c] += src[r * columns + c];
}

OCTET_VECTOR_CLONES void add_uint8_rows(const uint8_t* src, int64_t rows, int64_t columns, int32_t* sums) {
  add_row_elements(src, rows, columns, sums);
}

OCTET_VECTOR_CLONES void add_int8_rows(const int8_t* src, int64_t rows, int64_t columns, int32_t* sums) {
  add_row_elements(src, rows, columns, sums);
}

}  // namespace

void quantize_loop(const float* src, int64_t count, float scale, int32_t zero_point, uint8_t* dst) {
  quantize_to_uint8(src, count, scale, zero_point, dst);
}

void quantize_loop(const float* src, int64_t count, float scale, int32_t zero_point, int8_t* dst) {
  quantize_to_int8(src, count, scale, zero_point, dst);
}

void dequantize_loop(const uint8_t* src, int64_t count, float scale, int32_t zero_point, float* dst) {
  dequantize_uint8(src, count, scale, zero_point, dst);
}

void dequantize_loop(const int8_t* src, int64_t count, float scale, int32_t zero_point, float* dst) {
  dequantize_int8(src, count, scale, zero_point, dst);
}

void shift_to_uint8(const int8_t* src, int64_t count, uint8_t* dst) { shift_int8_to_uint8(src, count, dst); }

void add_rows(const uint8_t* src, int64_t rows, int64_t columns, int32_t* sums) {
  add_uint8_rows(src, rows, columns, sums);
}

void add_rows(const int8_t* src, int64_t rows, int64_t columns, int32_t* sums) {
  add_int8_rows(src, rows, columns, sums);
}

}  // namespace octet::dnnl_backend
