#include "kernels/reference/gemm.h"

#include <cstring>

#include "octet/status.h"

namespace octet {
namespace {

constexpr int64_t kTileRows = kGemmTileRows;  // MR
constexpr int64_t kTileCols = kGemmTileCols;  // NR
// Cache blocking (the BLIS loop nest): a depth block of kDepthBlock keeps one packed B panel
// (kDepthBlock x NR, 16 KiB) in L1 while the packed A block (kRowBlock x kDepthBlock, 144 KiB)
// stays in L2 and the packed B block (kDepthBlock x kColBlock, 4 MiB) in the shared L3.
constexpr int64_t kDepthBlock = kGemmBlockDepth;
constexpr int64_t kRowBlock = 24 * kTileRows;
constexpr int64_t kColBlock = 256 * kTileCols;
// Products smaller than this many multiply-adds run on one thread: waking workers costs more.
constexpr int64_t kMinParallelWork = int64_t{1} << 18;

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Packs rows [row_begin, row_begin + rows) x depth [depth_begin, depth_begin + kc) of op(A): one
// panel per kTileRows rows, each panel depth-major (the kTileRows values of one depth index are
// adjacent), rows past the end zero.
void pack_lhs_block(const MatrixView& a, int64_t row_begin, int64_t rows, int64_t depth_begin, int64_t kc,
                    float* destination) {
  for (int64_t panel = 0; panel < rows; panel += kTileRows) {
    const int64_t panel_rows = std::min(kTileRows, rows - panel);
    float* panel_data = destination + panel * kc;
    if (panel_rows < kTileRows) std::fill(panel_data, panel_data + kTileRows * kc, 0.0f);
    for (int64_t i = 0; i < panel_rows; ++i) {
      const int64_t row = row_begin + panel + i;
      if (a.transposed) {
        for (int64_t p = 0; p < kc; ++p) panel_data[p * kTileRows + i] = a.data[(depth_begin + p) * a.row_stride + row];
      } else {
        const float* source = a.data + row * a.row_stride + depth_begin;
        for (int64_t p = 0; p < kc; ++p) panel_data[p * kTileRows + i] = source[p];
      }
    }
  }
}

// Packs depth [depth_begin, depth_begin + kc) x columns [col_begin, col_begin + cols) of op(B):
// one panel per kTileCols columns, each panel depth-major, columns past the end zero.
void pack_rhs_block(const MatrixView& b, int64_t depth_begin, int64_t kc, int64_t col_begin, int64_t cols,
                    float* destination) {
  for (int64_t panel = 0; panel < cols; panel += kTileCols) {
    const int64_t panel_cols = std::min(kTileCols, cols - panel);
    float* panel_data = destination + panel * kc;
    if (b.transposed) {
      if (panel_cols < kTileCols) std::fill(panel_data, panel_data + kTileCols * kc, 0.0f);
      for (int64_t j = 0; j < panel_cols; ++j) {
        const float* source = b.data + (col_begin + panel + j) * b.row_stride + depth_begin;
        for (int64_t p = 0; p < kc; ++p) panel_data[p * kTileCols + j] = source[p];
      }
    } else if (panel_cols == kTileCols) {
      // A constant-size copy compiles to a few vector moves instead of a memcpy call.
      for (int64_t p = 0; p < kc; ++p)
        std::memcpy(panel_data + p * kTileCols, b.data + (depth_begin + p) * b.row_stride + col_begin + panel,
                    kTileCols * sizeof(float));
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* source = b.data + (depth_begin + p) * b.row_stride + col_begin + panel;
        float* row = panel_data + p * kTileCols;
        std::copy(source, source + panel_cols, row);
        std::fill(row + panel_cols, row + kTileCols, 0.0f);
      }
    }
  }
}

// One packed block product: C[mc x nc] = alpha * A_block * B_block + beta * C.
struct BlockProduct {
  int64_t kc, mc, nc;
  const float* a_block;  // packed, kTileRows-row panels of kc depth
  const float* b_block;  // packed, kTileCols-column panels of kc depth
  float alpha, beta;
  float* c;
  int64_t ldc;
};

// Writes one accumulated tile into C, clipped to the rows and columns that exist.
[[gnu::always_inline]] inline void store_tile(const float (&tile)[kTileRows][kTileCols], int64_t rows, int64_t cols,
                                              float alpha, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < cols; ++j) c_row[j] = alpha * tile[i][j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c_row[j] = alpha * tile[i][j] + beta * c_row[j];
    }
  }
}

// The register-tiled kernel, written with GCC/Clang vector extensions: 8-float vectors are one
// register on AVX2 and AVX-512 (as ymm). Plain loops auto-vectorized unreliably here: depending on
// unrelated details GCC 12 permuted lanes and spilled accumulators (31 to 107 GFLOP/s on the same
// Zen 4 core, 48 with AVX2), while this form measured a steady 108-114 GFLOP/s with both.
constexpr int64_t kVectorWidth = 8;
using Float8 = float __attribute__((vector_size(kVectorWidth * sizeof(float))));
constexpr int64_t kVectorsPerTileRow = kTileCols / kVectorWidth;

[[gnu::always_inline]] inline void multiply_block_vectorized(const BlockProduct& product) {
  for (int64_t col = 0; col < product.nc; col += kTileCols) {
    const float* b_panel = product.b_block + col * product.kc;
    for (int64_t row = 0; row < product.mc; row += kTileRows) {
      const float* a_panel = product.a_block + row * product.kc;
      Float8 accumulators[kTileRows][kVectorsPerTileRow] = {};
      for (int64_t p = 0; p < product.kc; ++p) {
        Float8 b_vectors[kVectorsPerTileRow];
        std::memcpy(b_vectors, b_panel + p * kTileCols, sizeof(b_vectors));
        for (int64_t i = 0; i < kTileRows; ++i) {
          const float a_value = a_panel[p * kTileRows + i];
          for (int64_t v = 0; v < kVectorsPerTileRow; ++v) accumulators[i][v] += a_value * b_vectors[v];
        }
      }
      float* c_tile = product.c + row * product.ldc + col;
      if (row + kTileRows <= product.mc && col + kTileCols <= product.nc) {
        // A whole tile: update C with vector loads and stores (short depths make this step matter).
        for (int64_t i = 0; i < kTileRows; ++i) {
          for (int64_t v = 0; v < kVectorsPerTileRow; ++v) {
            float* c_vector = c_tile + i * product.ldc + v * kVectorWidth;
            Float8 result = product.alpha * accumulators[i][v];
            if (product.beta != 0.0f) {
              Float8 old_value;
              std::memcpy(&old_value, c_vector, sizeof(old_value));
              result += product.beta * old_value;
            }
            std::memcpy(c_vector, &result, sizeof(result));
          }
        }
        continue;
      }
      float tile[kTileRows][kTileCols];
      std::memcpy(tile, accumulators, sizeof(tile));
      store_tile(tile, std::min(kTileRows, product.mc - row), std::min(kTileCols, product.nc - col), product.alpha,
                 product.beta, c_tile, product.ldc);
    }
  }
}

// Run-time ISA dispatch (GCC function multiversioning): the same vectorized source compiled for
// x86-64-v4 (AVX-512) and x86-64-v3 (AVX2 + FMA); older CPUs get plain loops, since 8-float
// vectors emulated on SSE2 spill badly.
__attribute__((target("arch=x86-64-v4"))) void multiply_block(const BlockProduct& product) {
  multiply_block_vectorized(product);
}
__attribute__((target("arch=x86-64-v3"))) void multiply_block(const BlockProduct& product) {
  multiply_block_vectorized(product);
}
__attribute__((target("default"))) void multiply_block(const BlockProduct& product) {
  for (int64_t col = 0; col < product.nc; col += kTileCols) {
    const float* b_panel = product.b_block + col * product.kc;
    for (int64_t row = 0; row < product.mc; row += kTileRows) {
      const float* a_panel = product.a_block + row * product.kc;
      float tile[kTileRows][kTileCols] = {};
      for (int64_t p = 0; p < product.kc; ++p)
        for (int64_t i = 0; i < kTileRows; ++i)
          for (int64_t j = 0; j < kTileCols; ++j) tile[i][j] += a_panel[p * kTileRows + i] * b_panel[p * kTileCols + j];
      store_tile(tile, std::min(kTileRows, product.mc - row), std::min(kTileCols, product.nc - col), product.alpha,
                 product.beta, product.c + row * product.ldc + col, product.ldc);
    }
  }
}

// C rows [row_begin, row_end) x columns [col_begin, col_end) on the calling thread. row_begin and
// col_begin are multiples of the tile so that pre-packed operands can be addressed by block.
void gemm_serial(int64_t row_begin, int64_t row_end, int64_t col_begin, int64_t col_end, int64_t k, float alpha,
                 const GemmLhs& a, const GemmRhs& b, float beta, float* c, int64_t ldc) {
  thread_local std::vector<float> lhs_scratch;
  thread_local std::vector<float> rhs_scratch;
  for (int64_t col = col_begin; col < col_end; col += kColBlock) {
    const int64_t nc = std::min(kColBlock, col_end - col);
    for (int64_t depth = 0; depth < k; depth += kDepthBlock) {
      const int64_t kc = std::min(kDepthBlock, k - depth);
      const float* b_block;
      if (b.packed) {
        b_block = b.packed->block(depth, col);
      } else {
        rhs_scratch.resize(static_cast<size_t>(round_up(nc, kTileCols) * kc));
        pack_rhs_block(b.view, depth, kc, col, nc, rhs_scratch.data());
        b_block = rhs_scratch.data();
      }
      for (int64_t row = row_begin; row < row_end; row += kRowBlock) {
        const int64_t mc = std::min(kRowBlock, row_end - row);
        const float* a_block;
        if (a.packed) {
          a_block = a.packed->block(depth, a.first_row + row);
        } else {
          lhs_scratch.resize(static_cast<size_t>(round_up(mc, kTileRows) * kc));
          pack_lhs_block(a.view, row, mc, depth, kc, lhs_scratch.data());
          a_block = lhs_scratch.data();
        }
        // Later depth blocks add to what the first one wrote.
        const float block_beta = depth == 0 ? beta : 1.0f;
        multiply_block({kc, mc, nc, a_block, b_block, alpha, block_beta, c + row * ldc + col, ldc});
      }
    }
  }
}

}  // namespace

void PackedLhs::pack(MatrixView a, int64_t rows, int64_t depth) {
  rows_ = rows;
  depth_ = depth;
  padded_rows_ = round_up(rows, kTileRows);
  data_.resize(static_cast<size_t>(padded_rows_ * depth_));
  for (int64_t depth_begin = 0; depth_begin < depth_; depth_begin += kDepthBlock) {
    const int64_t kc = std::min(kDepthBlock, depth_ - depth_begin);
    pack_lhs_block(a, 0, rows_, depth_begin, kc, data_.data() + depth_begin * padded_rows_);
  }
}

const float* PackedLhs::block(int64_t depth_begin, int64_t row_begin) const {
  const int64_t kc = std::min(kDepthBlock, depth_ - depth_begin);
  return data_.data() + depth_begin * padded_rows_ + row_begin * kc;
}

PackedRhs::PackedRhs(MatrixView b, int64_t depth, int64_t cols) {
  reset(depth, cols);
  for (int64_t depth_begin = 0; depth_begin < depth_; depth_begin += kDepthBlock) {
    const int64_t kc = std::min(kDepthBlock, depth_ - depth_begin);
    pack_rhs_block(b, depth_begin, kc, 0, cols_, data_.data() + depth_begin * padded_cols_);
  }
}

void PackedRhs::reset(int64_t depth, int64_t cols) {
  depth_ = depth;
  cols_ = cols;
  padded_cols_ = round_up(cols, kTileCols);
  data_.resize(static_cast<size_t>(padded_cols_ * depth_));
}

void PackedRhs::set_row(int64_t depth_index, const float* values) {
  const int64_t full_panels_end = cols_ / kTileCols * kTileCols;
  for (int64_t panel = 0; panel < full_panels_end; panel += kTileCols)
    std::memcpy(tile_row(depth_index, panel), values + panel, kTileCols * sizeof(float));
  if (full_panels_end < cols_) {
    float* destination = tile_row(depth_index, full_panels_end);
    const int64_t panel_cols = cols_ - full_panels_end;
    std::copy(values + full_panels_end, values + cols_, destination);
    std::fill(destination + panel_cols, destination + kTileCols, 0.0f);
  }
}

const float* PackedRhs::block(int64_t depth_begin, int64_t col_begin) const {
  const int64_t kc = std::min(kDepthBlock, depth_ - depth_begin);
  return data_.data() + depth_begin * padded_cols_ + col_begin * kc;
}

void gemm(int64_t m, int64_t n, int64_t k, float alpha, const GemmLhs& a, const GemmRhs& b, float beta, float* c,
          int64_t ldc, ThreadPool* threads) {
  if (a.packed)
    check(a.first_row % kTileRows == 0 && a.first_row + m <= a.packed->rows() && a.packed->depth() == k,
          "gemm: packed left operand shape mismatch");
  if (b.packed) check(b.packed->depth() == k && b.packed->cols() == n, "gemm: packed right operand shape mismatch");
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // An empty sum: only the beta term remains.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  const bool parallel = threads && threads->thread_count() > 1 && m * n * k >= kMinParallelWork;
  if (!parallel) {
    gemm_serial(0, m, 0, n, k, alpha, a, b, beta, c, ldc);
    return;
  }
  // Split the longer side of C into whole tiles; each thread packs its own blocks.
  const int64_t row_tiles = (m + kTileRows - 1) / kTileRows;
  const int64_t col_tiles = (n + kTileCols - 1) / kTileCols;
  if (col_tiles * kTileCols >= row_tiles * kTileRows) {
    threads->parallel_for(col_tiles, [&](int64_t begin, int64_t end) {
      gemm_serial(0, m, begin * kTileCols, std::min(n, end * kTileCols), k, alpha, a, b, beta, c, ldc);
    });
  } else {
    threads->parallel_for(row_tiles, [&](int64_t begin, int64_t end) {
      gemm_serial(begin * kTileRows, std::min(m, end * kTileRows), 0, n, k, alpha, a, b, beta, c, ldc);
    });
  }
}

void gemm_int32(int64_t m, int64_t n, int64_t k, const int32_t* a, int64_t lda, const int32_t* b, int64_t ldb,
                int32_t* c, int64_t ldc) {
  // Column chunks keep the slice of B that every row of A walks through in cache.
  constexpr int64_t kColChunk = 256;
  int32_t accumulator[kColChunk];
  for (int64_t col = 0; col < n; col += kColChunk) {
    const int64_t cols = std::min(kColChunk, n - col);
    for (int64_t i = 0; i < m; ++i) {
      std::fill(accumulator, accumulator + cols, 0);
      for (int64_t p = 0; p < k; ++p) {
        const int32_t a_value = a[i * lda + p];
        if (a_value == 0) continue;
        const int32_t* b_row = b + p * ldb + col;
        for (int64_t j = 0; j < cols; ++j) accumulator[j] += a_value * b_row[j];
      }
      std::copy(accumulator, accumulator + cols, c + i * ldc + col);
    }
  }
}

}  // namespace octet
