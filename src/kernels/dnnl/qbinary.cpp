// QBinary (quantized_ops.h) on the CPU: Add or Mul of 8-bit or float operands, with broadcasting,
// straight from the 8-bit tensors to an 8-bit (or float) result, bit-identical to the reference.
//
// Why not a oneDNN binary primitive: oneDNN 2.6's binary takes per-tensor source scales but no
// source zero points, and it rounds (q * scale) - zero_point * scale where DequantizeLinear rounds
// (q - zero_point) * scale once; its output scaling multiplies by 1 / y_scale where QuantizeLinear
// divides. Each would move values that lie near a rounding tie by one step. The op is memory bound,
// so explicit vector loops (multi-versioned like quantize_loops.h) cost no speed and keep exactness:
//
//   The output is walked in its storage order (plain or channels-last, taken from the full-sized
//   operand) as rows of `inner` contiguous elements. Along a row each operand is either contiguous
//   (stride 1) or one repeated element (stride 0: a broadcast axis, e.g. an SE block's per-channel
//   factor along H x W in plain layout or its channel vector repeated per pixel in channels-last).
//   Rows are processed in blocks that fit in L1: dequantize the 8-bit operands into a float buffer,
//   add or multiply, apply the post-ops, quantize into the output. Every step is a separate loop
//   doing one float operation per element, as the reference does, so no fused multiply-add can
//   change a rounding. Short rows (an SE block's channels-last rows hold 8 to 200 channels) are
//   taken several at a time, the repeated operand's row copied once per row into the block, so
//   that per-row overhead does not dominate.
// Operand layouts that give neither stride along the row (say a plain and a channels-last operand
// of the same full shape) go to the reference kernel on plain copies, reported in detail().
#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantize_loops.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/qdq_operands.h"

#define OCTET_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace octet::dnnl_backend {
namespace {

// Elements per block: three float buffers of this size stay in L1.
constexpr int64_t kBlockElements = 1024;
// Output elements per thread below which a second thread is not worth waking (about 20 us of work
// here): a sleeping pool worker wakes in about 3 us when its core is idle, but may take a
// scheduler period when it is busy.
constexpr int64_t kMinElementsPerTask = int64_t{1} << 16;

OCTET_VECTOR_CLONES void add_vectors(const float* a, const float* b, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = a[i] + b[i];
}
OCTET_VECTOR_CLONES void multiply_vectors(const float* a, const float* b, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = a[i] * b[i];
}
OCTET_VECTOR_CLONES void add_scalar(const float* a, float b, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = a[i] + b;
}
OCTET_VECTOR_CLONES void multiply_scalar(const float* a, float b, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = a[i] * b;
}

// Element strides of each logical (NCHW-order) axis of a tensor, following its storage layout.
std::vector<int64_t> logical_strides(const Tensor& tensor) {
  const Shape& shape = tensor.shape();
  const size_t rank = shape.size();
  if (tensor.layout() == Layout::kPlain || rank < 3) return strides_of(shape);
  std::vector<int64_t> strides(rank);
  int64_t stride = 1;
  strides[1] = stride;  // channels-last: N, spatial axes..., C
  stride *= shape[1];
  for (size_t axis = rank; axis-- > 2;) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  strides[0] = stride;
  return strides;
}

// The output in storage order as rows: outer axes (collapsed where both operands allow) and one
// contiguous inner axis along which each operand has stride 0 or 1.
struct BroadcastRows {
  Shape shape;           // the output's logical shape
  Layout layout = Layout::kPlain;
  std::vector<int64_t> outer_sizes;  // outermost first
  std::vector<int64_t> a_outer_strides;
  std::vector<int64_t> b_outer_strides;
  int64_t inner = 1;
  int64_t a_inner_stride = 0;  // 0 or 1
  int64_t b_inner_stride = 0;
};

std::optional<BroadcastRows> broadcast_rows(const Tensor& a, const Tensor& b) {
  BroadcastRows rows;
  rows.shape = broadcast_shapes(a.shape(), b.shape());
  const size_t rank = rows.shape.size();
  const bool channels_last_output =
      rank >= 3 && ((a.shape() == rows.shape && a.layout() == Layout::kChannelsLast) ||
                    (b.shape() == rows.shape && b.layout() == Layout::kChannelsLast));
  rows.layout = channels_last_output ? Layout::kChannelsLast : Layout::kPlain;

  // Operand strides along the output's logical axes; 0 where the operand is broadcast.
  const auto output_strides = [&](const Tensor& operand) {
    const std::vector<int64_t> own = logical_strides(operand);
    std::vector<int64_t> strides(rank, 0);
    const size_t offset = rank - operand.shape().size();
    for (size_t axis = offset; axis < rank; ++axis)
      if (operand.shape()[axis - offset] != 1) strides[axis] = own[axis - offset];
    return strides;
  };
  const std::vector<int64_t> a_strides = output_strides(a);
  const std::vector<int64_t> b_strides = output_strides(b);

  std::vector<size_t> storage_order(rank);
  for (size_t axis = 0; axis < rank; ++axis) storage_order[axis] = axis;
  if (channels_last_output) {
    std::rotate(storage_order.begin() + 1, storage_order.begin() + 2, storage_order.end());  // N, spatial..., C
  }
  // Axes in storage order, innermost first, size-1 axes dropped, merged while both operands'
  // strides continue contiguously (or stay 0).
  std::vector<int64_t> sizes;
  std::vector<int64_t> a_collapsed;
  std::vector<int64_t> b_collapsed;
  for (size_t position = rank; position-- > 0;) {
    const size_t axis = storage_order[position];
    const int64_t size = rows.shape[axis];
    if (size == 1) continue;
    if (!sizes.empty() && a_strides[axis] == a_collapsed.back() * sizes.back() &&
        b_strides[axis] == b_collapsed.back() * sizes.back()) {
      sizes.back() *= size;
      continue;
    }
    sizes.push_back(size);
    a_collapsed.push_back(a_strides[axis]);
    b_collapsed.push_back(b_strides[axis]);
  }
  if (sizes.empty()) {  // a single element
    rows.inner = element_count(rows.shape);
    return rows;
  }
  rows.inner = sizes[0];
  rows.a_inner_stride = a_collapsed[0];
  rows.b_inner_stride = b_collapsed[0];
  if (rows.a_inner_stride > 1 || rows.b_inner_stride > 1) return std::nullopt;
  for (size_t i = sizes.size(); i-- > 1;) {
    rows.outer_sizes.push_back(sizes[i]);
    rows.a_outer_strides.push_back(a_collapsed[i]);
    rows.b_outer_strides.push_back(b_collapsed[i]);
  }
  return rows;
}

// How an operand reads a run of consecutive output rows (along the innermost outer axis), when
// the rows are short: contiguously (its rows follow each other), one row repeated (the SE block's
// channel vector of a channels-last tensor), or one element repeated.
enum class RowRunAccess { kContiguous, kRepeatedRow, kRepeatedElement, kNone };

RowRunAccess row_run_access(int64_t inner_stride, int64_t row_stride, int64_t inner) {
  if (inner_stride == 1 && row_stride == inner) return RowRunAccess::kContiguous;
  if (inner_stride == 1 && row_stride == 0) return RowRunAccess::kRepeatedRow;
  if (inner_stride == 0 && row_stride == 0) return RowRunAccess::kRepeatedElement;
  return RowRunAccess::kNone;
}

// One operand as the row loop reads it.
struct OperandReader {
  const void* data = nullptr;
  OperandQuantization quantization;

  // The real value of element `offset`, as DequantizeLinear computes it.
  float real_value(int64_t offset) const {
    switch (quantization.dtype) {
      case DataType::kUint8:
        return static_cast<float>(static_cast<int32_t>(static_cast<const uint8_t*>(data)[offset]) -
                                  quantization.zero_point) * quantization.scale;
      case DataType::kInt8:
        return static_cast<float>(static_cast<int32_t>(static_cast<const int8_t*>(data)[offset]) -
                                  quantization.zero_point) * quantization.scale;
      default: return static_cast<const float*>(data)[offset];
    }
  }

  // Real values of `count` contiguous elements from `offset`: the float data itself, or
  // dequantized into `buffer`.
  const float* real_values(int64_t offset, int64_t count, float* buffer) const {
    switch (quantization.dtype) {
      case DataType::kUint8:
        dequantize_loop(static_cast<const uint8_t*>(data) + offset, count, quantization.scale, quantization.zero_point,
                        buffer);
        return buffer;
      case DataType::kInt8:
        dequantize_loop(static_cast<const int8_t*>(data) + offset, count, quantization.scale, quantization.zero_point,
                        buffer);
        return buffer;
      default: return static_cast<const float*>(data) + offset;
    }
  }

  // Real values of `rows` rows of `inner` elements from `offset`, read as `access` says.
  const float* row_run_values(RowRunAccess access, int64_t offset, int64_t inner, int64_t rows, float* buffer) const {
    switch (access) {
      case RowRunAccess::kContiguous: return real_values(offset, rows * inner, buffer);
      case RowRunAccess::kRepeatedRow: {
        const float* row = real_values(offset, inner, buffer);
        if (row != buffer) std::copy(row, row + inner, buffer);
        for (int64_t r = 1; r < rows; ++r) std::copy(buffer, buffer + inner, buffer + r * inner);
        return buffer;
      }
      default: std::fill(buffer, buffer + rows * inner, real_value(offset)); return buffer;
    }
  }
};

class QuantizedBinaryKernel : public Kernel {
 public:
  explicit QuantizedBinaryKernel(const KernelCreateInfo& info, std::vector<PostOp> post_ops)
      : fallback_(info), description_(info.node.describe()), post_ops_(std::move(post_ops)),
        multiply_(info.node.attr_string("operation", "") == "Mul") {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(kQBinaryA);
    const Tensor& b = context.input(kQBinaryB);
    const OperandReader a_reader{a.raw_data(), input_quantization(context, kQBinaryA, description_, "A")};
    const OperandReader b_reader{b.raw_data(), input_quantization(context, kQBinaryB, description_, "B")};
    const OperandQuantization y_quantization = output_quantization(context, kQBinaryYScale, description_);
    const std::optional<BroadcastRows> rows = broadcast_rows(a, b);
    if (!rows) {
      detail_ = "reference fallback: operand layouts that do not line up along the output's rows";
      fallback_.run(context);
      return;
    }
    Tensor& y = context.allocate_uninitialized_output(0, y_quantization.dtype, rows->shape);
    y.set_layout(rows->layout);
    const int64_t count = y.element_count();
    // Short rows go through the loop several at a time when both operands allow it.
    RowRunAccess a_run = RowRunAccess::kNone, b_run = RowRunAccess::kNone;
    int64_t rows_per_run = 1;
    if (!rows->outer_sizes.empty() && 2 * rows->inner <= kBlockElements) {
      a_run = row_run_access(rows->a_inner_stride, rows->a_outer_strides.back(), rows->inner);
      b_run = row_run_access(rows->b_inner_stride, rows->b_outer_strides.back(), rows->inner);
      if (a_run != RowRunAccess::kNone && b_run != RowRunAccess::kNone) rows_per_run = kBlockElements / rows->inner;
    }
    detail_ = rows_per_run > 1 ? "row loop, short rows in runs" : "row loop";
    const auto quantize_block = [&](float* real, int64_t block, int64_t position) {
      for (const PostOp& post_op : post_ops_) apply_post_op(post_op, real, block);
      if (y_quantization.dtype == DataType::kUint8) {
        quantize_loop(real, block, y_quantization.scale, y_quantization.zero_point, y.data<uint8_t>() + position);
      } else if (y_quantization.dtype == DataType::kInt8) {
        quantize_loop(real, block, y_quantization.scale, y_quantization.zero_point, y.data<int8_t>() + position);
      }
    };
    context.threads().parallel_for(
        count,
        [&](int64_t begin, int64_t end) {
          std::array<float, kBlockElements> a_buffer;
          std::array<float, kBlockElements> b_buffer;
          std::array<float, kBlockElements> real_buffer;
          for (int64_t i = begin; i < end;) {
            const int64_t row = i / rows->inner;
            const int64_t column = i % rows->inner;
            const int64_t length = std::min(rows->inner - column, end - i);
            int64_t a_offset = column * rows->a_inner_stride;
            int64_t b_offset = column * rows->b_inner_stride;
            int64_t remaining = row;
            for (size_t axis = rows->outer_sizes.size(); axis-- > 0;) {
              const int64_t index = remaining % rows->outer_sizes[axis];
              remaining /= rows->outer_sizes[axis];
              a_offset += index * rows->a_outer_strides[axis];
              b_offset += index * rows->b_outer_strides[axis];
            }
            if (rows_per_run > 1 && column == 0) {
              // Whole rows up to the end of this run of the innermost outer axis or of the chunk.
              const int64_t run_rows = std::min(
                  {rows_per_run, rows->outer_sizes.back() - row % rows->outer_sizes.back(), (end - i) / rows->inner});
              if (run_rows > 1) {
                const int64_t block = run_rows * rows->inner;
                const float* a_values =
                    a_reader.row_run_values(a_run, a_offset, rows->inner, run_rows, a_buffer.data());
                const float* b_values =
                    b_reader.row_run_values(b_run, b_offset, rows->inner, run_rows, b_buffer.data());
                float* real = y_quantization.quantized ? real_buffer.data() : y.data<float>() + i;
                if (multiply_) {
                  multiply_vectors(a_values, b_values, block, real);
                } else {
                  add_vectors(a_values, b_values, block, real);
                }
                quantize_block(real, block, i);
                i += block;
                continue;
              }
            }
            for (int64_t done = 0; done < length; done += kBlockElements) {
              const int64_t block = std::min(kBlockElements, length - done);
              float* real = y_quantization.quantized ? real_buffer.data() : y.data<float>() + i + done;
              compute_block(a_reader, a_offset + done * rows->a_inner_stride, rows->a_inner_stride == 0, b_reader,
                            b_offset + done * rows->b_inner_stride, rows->b_inner_stride == 0, block, a_buffer.data(),
                            b_buffer.data(), real);
              quantize_block(real, block, i + done);
            }
            i += length;
          }
        },
        kMinElementsPerTask);
  }

 private:
  // real[0, count) = a op b, where a repeated operand (`*_repeated`) is its element at the offset.
  void compute_block(const OperandReader& a, int64_t a_offset, bool a_repeated, const OperandReader& b,
                     int64_t b_offset, bool b_repeated, int64_t count, float* a_buffer, float* b_buffer,
                     float* real) const {
    // Add and Mul commute exactly in IEEE arithmetic, so a repeated A is handled as a repeated B.
    if (a_repeated && !b_repeated) {
      combine_with_scalar(b.real_values(b_offset, count, b_buffer), a.real_value(a_offset), count, real);
    } else if (b_repeated && !a_repeated) {
      combine_with_scalar(a.real_values(a_offset, count, a_buffer), b.real_value(b_offset), count, real);
    } else if (a_repeated && b_repeated) {  // a single-element output
      const float value = a.real_value(a_offset);
      combine_with_scalar(&value, b.real_value(b_offset), 1, real);
    } else {
      const float* a_values = a.real_values(a_offset, count, a_buffer);
      const float* b_values = b.real_values(b_offset, count, b_buffer);
      if (multiply_) {
        multiply_vectors(a_values, b_values, count, real);
      } else {
        add_vectors(a_values, b_values, count, real);
      }
    }
  }

  void combine_with_scalar(const float* values, float scalar, int64_t count, float* real) const {
    if (multiply_) {
      multiply_scalar(values, scalar, count, real);
    } else {
      add_scalar(values, scalar, count, real);
    }
  }

  ReferenceFallback fallback_;
  std::string description_;
  std::vector<PostOp> post_ops_;
  bool multiply_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_quantized_binary_kernel(const KernelCreateInfo& info, std::string& reason) {
  const std::string operation = info.node.attr_string("operation", "");
  if (operation != "Add" && operation != "Mul") {
    reason = concat("operation '", operation, "'");
    return nullptr;
  }
  std::vector<PostOp> post_ops = info.node.has_attribute("post_ops") ? read_post_ops(info.node) : std::vector<PostOp>{};
  for (const PostOp& post_op : post_ops) {
    if (post_op.kind == PostOpKind::kSum) {
      reason = "a 'sum' post-op";
      return nullptr;
    }
  }
  return std::make_unique<QuantizedBinaryKernel>(info, std::move(post_ops));
}

}  // namespace octet::dnnl_backend
