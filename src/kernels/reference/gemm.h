// Matrix products shared by the reference Conv, ConvTranspose, MatMul and Gemm kernels.
//
// gemm() computes C = alpha * op(A) * op(B) + beta * C on row-major float matrices with a
// cache-blocked algorithm: op(A) and op(B) are copied block by block into "packed panels" (MR rows
// or NR columns interleaved along the depth), and a small register-tiled kernel multiplies one
// MR x NR tile at a time. Operands that do not change between calls (constant weights) can be
// packed once up front (PackedLhs, PackedRhs) and passed instead of a plain matrix view.
//
// The integer helpers at the end serve MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv:
// an exact int32 product and the one requantization rounding used by every QLinear kernel.
#pragma once

#include "kernels/reference/quantize_math.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/thread_pool.h"

namespace octet {

// Register tile of the float kernel: MR rows of op(A) times NR columns of op(B).
inline constexpr int64_t kGemmTileRows = 6;
inline constexpr int64_t kGemmTileCols = 16;
// Depth of one cache block: packed operands are laid out in blocks of this many depth indices.
inline constexpr int64_t kGemmBlockDepth = 256;

// A read-only row-major float matrix used as a GEMM operand. Element (r, c) of op(X) is
// data[r * row_stride + c], or data[c * row_stride + r] when `transposed` (op(X) = X^T).
struct MatrixView {
  const float* data = nullptr;
  int64_t row_stride = 0;
  bool transposed = false;
};

// op(A), an m x k left operand, in packed-panel form. Built once for constant weights; owns a copy.
class PackedLhs {
 public:
  PackedLhs() = default;
  PackedLhs(MatrixView a, int64_t rows, int64_t depth) { pack(a, rows, depth); }
  // Packs op(A) (rows x depth), reusing the buffer.
  void pack(MatrixView a, int64_t rows, int64_t depth);

  int64_t rows() const { return rows_; }
  int64_t depth() const { return depth_; }
  // Start of the panels for depth block [depth_begin, depth_begin + kc) and rows from `row_begin`
  // (a multiple of kGemmTileRows). Used by gemm().
  const float* block(int64_t depth_begin, int64_t row_begin) const;

 private:
  int64_t rows_ = 0;
  int64_t depth_ = 0;
  int64_t padded_rows_ = 0;  // rows rounded up to a whole tile; padding rows are zero
  std::vector<float> data_;
};

// op(B), a k x n right operand, in packed-panel form. Either packed from a matrix at once, or
// filled by the caller: row by row with set_row(), or tile by tile through tile_row() (Conv writes
// its im2col matrix straight into this layout).
class PackedRhs {
 public:
  PackedRhs() = default;
  PackedRhs(MatrixView b, int64_t depth, int64_t cols);

  // Resizes for a depth x cols operand, reusing the buffer; contents are undefined until every row
  // is set.
  void reset(int64_t depth, int64_t cols);
  // Stores row `depth_index` of op(B): `values` holds cols() floats.
  void set_row(int64_t depth_index, const float* values);
  // The kGemmTileCols floats of row `depth_index`, columns [col_begin, col_begin + kGemmTileCols),
  // for `col_begin` a multiple of kGemmTileCols. Entries past cols() must be written as zero.
  float* tile_row(int64_t depth_index, int64_t col_begin) {
    const int64_t depth_begin = depth_index / kGemmBlockDepth * kGemmBlockDepth;
    const int64_t kc = std::min(kGemmBlockDepth, depth_ - depth_begin);
    return data_.data() + depth_begin * padded_cols_ + col_begin * kc + (depth_index - depth_begin) * kGemmTileCols;
  }

  int64_t depth() const { return depth_; }
  int64_t cols() const { return cols_; }
  // Start of the panels for depth block [depth_begin, depth_begin + kc) and columns from
  // `col_begin` (a multiple of kGemmTileCols). Used by gemm().
  const float* block(int64_t depth_begin, int64_t col_begin) const;

 private:
  int64_t depth_ = 0;
  int64_t cols_ = 0;
  int64_t padded_cols_ = 0;  // cols rounded up to a whole tile; padding columns are zero
  std::vector<float> data_;
};

// A left operand: a plain matrix view, or a pre-packed one starting at row `first_row` (a multiple
// of kGemmTileRows), so that a product can use a horizontal slice of packed weights.
struct GemmLhs {
  GemmLhs(MatrixView view) : view(view) {}
  GemmLhs(const PackedLhs& packed, int64_t first_row = 0) : packed(&packed), first_row(first_row) {}
  MatrixView view;
  const PackedLhs* packed = nullptr;
  int64_t first_row = 0;
};

// A right operand: a plain matrix view, or a pre-packed one.
struct GemmRhs {
  GemmRhs(MatrixView view) : view(view) {}
  GemmRhs(const PackedRhs& packed) : packed(&packed) {}
  MatrixView view;
  const PackedRhs* packed = nullptr;
};

// C (m x n, row stride ldc) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C.
// When beta == 0, C is not read (it may hold garbage or NaN). Packed operands must have the
// matching shape. With `threads`, the product is split over rows or columns of C; pass nullptr
// from inside a parallel_for (a pool runs one parallel loop at a time).
void gemm(int64_t m, int64_t n, int64_t k, float alpha, const GemmLhs& a, const GemmRhs& b, float beta, float* c,
          int64_t ldc, ThreadPool* threads = nullptr);

// C (m x n, row stride ldc) = A (m x k, row stride lda) * B (k x n, row stride ldb), exactly, in
// int32. Callers subtract zero points beforehand, so the operands are small signed values.
void gemm_int32(int64_t m, int64_t n, int64_t k, const int32_t* a, int64_t lda, const int32_t* b, int64_t ldb,
                int32_t* c, int64_t ldc);

// The requantization of every QLinear kernel: round(accumulator * multiplier) + zero_point,
// saturated to T. `multiplier` is input_scale * weight_scale / output_scale computed in float;
// rounding (half to even) and saturation are quantize_saturate's, the project's one definition.
template <typename T>
T requantize(int32_t accumulator, float multiplier, int32_t zero_point) {
  return quantize_saturate<T>(static_cast<float>(accumulator) * multiplier, zero_point);
}

}  // namespace octet
