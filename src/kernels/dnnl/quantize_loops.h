// Vectorized per-tensor quantize / dequantize loops over contiguous buffers, shared by the
// QuantizeLinear / DequantizeLinear kernel and the kernels that absorb Q/DQ nodes (QBinary, QPool).
//
// The build targets baseline x86-64 (SSE2), so each loop is compiled several times with GCC's
// function multi-versioning (target_clones: AVX-512, AVX2, baseline) and the loader picks the best
// clone for the CPU it runs on. Every clone computes the reference formulas element by element, so
// results are bit-identical to the reference kernels whatever the CPU:
//   quantize:    dst[i] = quantize_saturate(src[i] / scale, zero_point)  (quantize_math.h; division,
//                as ONNX defines it: multiplying by 1 / scale moves ties)
//   dequantize:  dst[i] = float(int32(src[i]) - zero_point) * scale       (DequantizeLinear)
// Single-threaded: callers split work over their thread pool.
#pragma once

#include <cstdint>

namespace octet::dnnl_backend {

void quantize_loop(const float* src, int64_t count, float scale, int32_t zero_point, uint8_t* dst);
void quantize_loop(const float* src, int64_t count, float scale, int32_t zero_point, int8_t* dst);

void dequantize_loop(const uint8_t* src, int64_t count, float scale, int32_t zero_point, float* dst);
void dequantize_loop(const int8_t* src, int64_t count, float scale, int32_t zero_point, float* dst);

// dst[i] = src[i] + 128 as uint8 (x ^ 0x80): the same real values with the zero point moved by 128.
void shift_to_uint8(const int8_t* src, int64_t count, uint8_t* dst);

// sums[c] += sum over r < rows of src[r * columns + c], exactly; the caller keeps each sum within
// int32 (rows up to 2^23).
void add_rows(const uint8_t* src, int64_t rows, int64_t columns, int32_t* sums);
void add_rows(const int8_t* src, int64_t rows, int64_t columns, int32_t* sums);

}  // namespace octet::dnnl_backend
