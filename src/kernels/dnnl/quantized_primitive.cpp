// The int8 (de)convolution kernel machinery shared by qconv.cpp and qdeconv.cpp; see
// quantized_primitive.h.
//
// Per input shape and type the kernel runs one of:
//   - one primitive on the calling thread, for small shapes (dnnl_common.h, single_threaded_work);
//   - the shifted route (ShiftedSourceRoute) for s8 depthwise sources: bands of output rows with
//     the kernel rows their windows keep inside, on brdgmm_dw;
//   - otherwise one primitive split over oneDNN's OpenMP threads, its executions timed; while the
//     cores are contended (dnnl_common.h, cores_contended) the same work runs instead as row
//     bands (convolutions with ConvolutionPieces: output rows split into bands of about equal
//     height, each a single-threaded primitive reading only its input rows, with the node's
//     padding where the band touches the border; deconvolutions with DeconvolutionRows: bands of
//     input rows), planned on first need, or, without bands, on a primitive created for one thread.
// Bands are handed out one by one to the session's thread pool, whose calling thread runs the
// remaining ones itself when the other thread is late. Bands of the same geometry share a
// primitive, and bands share reordered weights per layout and kernel rows.
#include "kernels/dnnl/quantized_primitive.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/layout.h"
#include "kernels/dnnl/quantize_loops.h"
#include "kernels/dnnl/shape_cache.h"
#include "kernels/quantized_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

// Index of the binary post-op (the float residual) in a primitive's post-op chain, or -1.
int binary_post_op_index(const dnnl::primitive_attr& attributes) {
  const dnnl::post_ops chain = attributes.get_post_ops();
  for (int i = 0; i < chain.len(); ++i)
    if (chain.kind(i) == dnnl::primitive::kind::binary) return i;
  return -1;
}

bool is_reference_implementation(const std::string& name) { return name.rfind("ref", 0) == 0; }

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Integers of at most this magnitude are exact in float (24-bit significand).
constexpr int64_t kExactFloatInteger = int64_t{1} << 24;
// The zero point an s8 source gets when shifted to u8.
constexpr int64_t kSourceShift = 128;
// Multiply-adds below which a band is not worth its own primitive call (about 1 us on one core).
constexpr int64_t kMinBandMultiplyAdds = int64_t{1} << 18;
// Every band reads all the weights: a band should do at least this many multiply-adds per weight
// byte, so that fetching weights which do not stay in the core's L2 (ResNet-50's last 3x3
// convolutions hold 2.4 MB) costs little next to the band's arithmetic.
constexpr int64_t kMinBandMultiplyAddsPerWeight = 16;
// Row bands per pool thread: enough that a thread starting late or a slower band leaves little
// imbalance, few enough that each band stays a large primitive.
constexpr int64_t kBandsPerThread = 4;

// One band as planned: output rows [first_row, first_row + rows) of each image, reading `src_rows`
// source rows from `src_row` with vertical padding pad_top / pad_bottom, through the kernel rows
// [kernel_row, kernel_row + kernel_rows).
struct BandPlan {
  int64_t first_row = 0, rows = 0;
  int64_t src_row = 0, src_rows = 0;
  int64_t pad_top = 0, pad_bottom = 0;
  int64_t kernel_row = 0, kernel_rows = 0;
};

// A oneDNN int8 primitive running a QFused node, prepared lazily (and cached) per input shape and type.
class QuantizedPrimitiveKernel : public Kernel {
 public:
  QuantizedPrimitiveKernel(const KernelCreateInfo& info, const Tensor& weights, const memory::desc& user_weights_desc,
                           QuantizedEpilogue epilogue, QuantizedPrimitiveDescriber describe,
                           WeightSliceReader slice_reader, std::string operation,
                           std::optional<ConvolutionPieces> pieces, std::optional<DeconvolutionRows> deconvolution_rows)
      : fallback_(info),
        weights_(weights),
        user_weights_desc_(user_weights_desc),
        epilogue_(std::move(epilogue)),
        describe_(std::move(describe)),
        slice_reader_(slice_reader),
        operation_(std::move(operation)),
        pieces_(std::move(pieces)),
        deconvolution_rows_(deconvolution_rows) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }
  void run(KernelContext& context) override;

 private:
  // An input layout's view of the source, and its reorder into the primitive's layout when they differ.
  struct LayoutView {
    memory view;
    std::optional<dnnl::reorder> reorder;
  };

  // One band of output rows [dst_row, dst_row + rows) of every image, reading source rows from src_row.
  struct Band {
    dnnl::primitive primitive;
    memory::desc src_desc;
    memory weights, bias;
    int64_t src_row = 0, dst_row = 0, rows = 0;
    // Arguments per pool thread (each with its scratchpad); the source, dst and residual handles
    // are set per run by the thread that runs the band.
    std::vector<std::unordered_map<int, memory>> arguments;
  };

  // Reordered weights for bands: a layout and a range of kernel rows.
  struct BandWeights {
    memory::desc desc;
    int64_t kernel_row, kernel_rows;
    memory weights;
  };

  // Everything one input shape and type needs at run time.
  struct Prepared {
    dnnl::primitive primitive;  // empty: the reference fallback runs this shape
    bool single_threaded = false;  // created and run on the calling thread alone
    memory::desc src_desc;
    memory src_buffer;   // the source reordered to channels-last, for plain inputs
    memory dst_view;     // the output tensor; handle set per run
    memory binary_view;  // the f32 residual of a binary-add post-op; handle set per run
    int binary_index = -1;
    memory weights, bias, scratchpad;
    Shape dst_shape;
    std::string implementation;
    std::unordered_map<int, memory> arguments;
    std::map<Layout, LayoutView> inputs;

    double best_seconds = 1e30;  // the OpenMP split's best time (record_openmp_execution)
    // When the cores are contended (cores_contended), an OpenMP-split shape runs in row bands,
    // planned on first need, or else on `solo`, the same primitive created for one thread.
    bool bands_planned = false;
    dnnl::primitive solo;
    std::unordered_map<int, memory> solo_arguments;
    std::string band_implementation;
    std::vector<Band> bands;               // empty: one primitive runs the whole shape
    std::vector<memory> band_scratchpads;  // one per pool thread
    std::vector<BandWeights> band_weights;
    std::deque<std::vector<float>> band_biases;  // a deque keeps each vector (and its buffer) in place
    // The shifted route: the u8 source with explicit horizontal padding (left, right) holding 128.
    bool shifted = false;
    int64_t shift_left = 0, shift_right = 0;
    memory shifted_buffer;

    LayoutView& input_view(Layout layout, const Shape& shape, DataType dtype);
  };

  Prepared* prepare(const Tensor& src, int pool_threads);
  // Plans the row bands of an OpenMP-split shape (once), for runs while the cores are contended.
  void plan_bands(const Shape& src_shape, DataType src_type, int pool_threads, Prepared& prepared) const;
  // Creates `prepared.solo` when the shape has no bands; false when oneDNN declines.
  bool prepare_solo(const Shape& src_shape, DataType src_type, Prepared& prepared) const;
  // Plans the shifted route for `src_shape` into `prepared` when it applies; false otherwise.
  bool prepare_shifted_route(const Shape& src_shape, int pool_threads, Prepared& prepared) const;
  // Plans row bands of the direct primitive when worthwhile; leaves `prepared.bands` empty otherwise.
  void prepare_row_bands(const Shape& src_shape, DataType src_type, int pool_threads, Prepared& prepared) const;
  // The same for a deconvolution with DeconvolutionRows.
  void prepare_deconvolution_bands(const Shape& src_shape, DataType src_type, int pool_threads,
                                   Prepared& prepared) const;
  // The band count for `work` multiply-adds per image over `rows` rows (1: not worth splitting).
  int64_t band_count(int64_t work, int64_t rows, int64_t batch, int pool_threads) const;
  // Creates the bands of `plans` over a source of `source_shape` / `source_type` (channels-last,
  // horizontal padding `left` / `right` applied by the primitives), with `band_epilogue` giving
  // each kernel-row range's epilogue (nullopt: no exact one). False, leaving `prepared` as it
  // was, when oneDNN declines a band or offers only its reference implementation.
  bool build_bands(const std::vector<BandPlan>& plans, const Shape& source_shape, DataType source_type, int64_t left,
                   int64_t right, int pool_threads,
                   const std::function<std::optional<QuantizedEpilogue>(int64_t, int64_t)>& band_epilogue,
                   Prepared& prepared, std::string& implementation) const;
  // The node's weights, kernel rows [kernel_row, kernel_row + kernel_rows), reordered into `desc`.
  memory band_weights(Prepared& prepared, const memory::desc& desc, int64_t kernel_row, int64_t kernel_rows) const;
  // Writes `src` (s8) shifted to u8 into the shifted buffer, between its horizontal padding.
  void stage_shifted_source(const Tensor& src, const Prepared& prepared, ThreadPool& threads) const;
  // Runs the bands over `threads`: source rows of `source_row_bytes` from `source` (channels-last,
  // `source_height` rows per image), output into `dst`, the binary residual from `binary_addend`.
  void run_bands(Prepared& prepared, const uint8_t* source, int64_t source_height, int64_t source_row_bytes,
                 uint8_t* dst, const float* binary_addend, ThreadPool& threads) const;
  int64_t multiply_adds(const Shape& src_shape, const Shape& dst_shape) const {
    const int64_t per_slice_reader = weights_.element_count() / weights_.dim(0);
    return element_count(slice_reader_ == WeightSliceReader::kOutput ? dst_shape : src_shape) * per_slice_reader;
  }

  ReferenceFallback fallback_;
  const Tensor& weights_;
  memory::desc user_weights_desc_;
  QuantizedEpilogue epilogue_;
  QuantizedPrimitiveDescriber describe_;
  WeightSliceReader slice_reader_;
  std::string operation_;
  std::optional<ConvolutionPieces> pieces_;
  std::optional<DeconvolutionRows> deconvolution_rows_;
  ShapeCache<std::pair<Shape, DataType>, Prepared> cache_;
  std::vector<float> residual_scratch_;
  std::string detail_;
};

void QuantizedPrimitiveKernel::run(KernelContext& context) {
  const Tensor& src = context.input(kQInputX);
  check(src.dtype() == DataType::kUint8 || src.dtype() == DataType::kInt8, "input X is ", dtype_name(src.dtype()),
        ", expected uint8 or int8");
  if (epilogue_.x_type != DataType::kUndefined)
    check(src.dtype() == epilogue_.x_type, "input X is ", dtype_name(src.dtype()), " but x_zero_point is ",
          dtype_name(epilogue_.x_type));
  ThreadPool& threads = context.threads();
  Prepared* prepared = prepare(src, threads.thread_count());
  if (!prepared->primitive) {
    detail_ = prepared->implementation;
    fallback_.run(context);
    return;
  }
  std::optional<ScopedThreadLimit> thread_limit;
  if (prepared->single_threaded) thread_limit.emplace(1);
  dnnl::stream& stream = thread_stream();
  memory source;
  int64_t source_row_bytes = 0;
  if (prepared->shifted) {
    stage_shifted_source(src, *prepared, threads);
    source = prepared->shifted_buffer;
    source_row_bytes = (src.dim(3) + prepared->shift_left + prepared->shift_right) * src.dim(1);
  } else {
    LayoutView& input = prepared->input_view(src.layout(), src.shape(), src.dtype());
    input.view.set_data_handle(const_cast<void*>(src.raw_data()));
    if (input.reorder) {
      // A single pass over the source: on the calling thread, like the kernel's other copies.
      ScopedThreadLimit reorder_limit(1);
      input.reorder->execute(stream, input.view, prepared->src_buffer);
      stream.wait();
    }
    source = input.reorder ? prepared->src_buffer : input.view;
    if (src.rank() == 4) source_row_bytes = src.dim(3) * src.dim(1);  // one byte per element
  }

  Tensor converted_residual;
  const float* binary_addend = epilogue_.stage_output(context, prepared->dst_shape, Layout::kChannelsLast,
                                                      residual_scratch_, converted_residual);
  // The OpenMP split, unless the cores are contended: then the bands, or the solo primitive.
  const bool split = !prepared->single_threaded;
  const bool contended = split && !prepared->shifted && cores_contended();
  if (contended) plan_bands(src.shape(), src.dtype(), threads.thread_count(), *prepared);
  if (prepared->shifted || (contended && !prepared->bands.empty())) {
    run_bands(*prepared, static_cast<const uint8_t*>(source.get_data_handle()), src.dim(2), source_row_bytes,
              static_cast<uint8_t*>(context.output(0).raw_data()), binary_addend, threads);
    detail_ = prepared->band_implementation;
    return;
  }
  const bool solo = contended && prepare_solo(src.shape(), src.dtype(), *prepared);
  std::unordered_map<int, memory>& arguments = solo ? prepared->solo_arguments : prepared->arguments;
  arguments[DNNL_ARG_SRC] = source;
  prepared->dst_view.set_data_handle(context.output(0).raw_data());
  arguments[DNNL_ARG_DST] = prepared->dst_view;
  if (binary_addend) {
    prepared->binary_view.set_data_handle(const_cast<float*>(binary_addend));
    arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared->binary_index) | DNNL_ARG_SRC_1] = prepared->binary_view;
  }
  if (solo) {
    ScopedThreadLimit solo_limit(1);
    prepared->solo.execute(stream, arguments);
    stream.wait();
    detail_ = concat(prepared->implementation, " on one thread (cores contended)");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  prepared->primitive.execute(stream, arguments);
  stream.wait();
  if (split) {
    record_openmp_execution(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                            prepared->best_seconds);
  }
  detail_ = prepared->implementation;
}

void QuantizedPrimitiveKernel::run_bands(Prepared& prepared, const uint8_t* source, int64_t source_height,
                                         int64_t source_row_bytes, uint8_t* dst, const float* binary_addend,
                                         ThreadPool& threads) const {
  const Shape& dst_shape = prepared.dst_shape;
  const int64_t dst_row_elements = dst_shape[3] * dst_shape[1];
  const int64_t dst_row_bytes = dst_row_elements * static_cast<int64_t>(dtype_size(epilogue_.dst_type));
  const int64_t bands_per_image = static_cast<int64_t>(prepared.bands.size());
  const int64_t jobs = dst_shape[0] * bands_per_image;
  std::atomic<int64_t> next_job{0};
  // Each chunk of the pool is one slot (its own scratchpads); a pool with fewer threads than slots
  // gives a chunk several slots, of which it uses the first. Small work (the shifted route's bands
  // of a small convolution) stays on the calling thread.
  const int64_t slots = prepared.single_threaded ? 1 : static_cast<int64_t>(prepared.band_scratchpads.size());
  threads.parallel_for(
      slots,
      [&](int64_t slot, int64_t) {
        ScopedThreadLimit thread_limit(1);
        dnnl::stream& stream = thread_stream();
        for (int64_t job; (job = next_job.fetch_add(1, std::memory_order_relaxed)) < jobs;) {
          const int64_t image = job / bands_per_image;
          Band& band = prepared.bands[job % bands_per_image];
          std::unordered_map<int, memory>& arguments = band.arguments[slot];
          arguments[DNNL_ARG_SRC].set_data_handle(
              const_cast<uint8_t*>(source + (image * source_height + band.src_row) * source_row_bytes));
          const int64_t dst_row = image * dst_shape[2] + band.dst_row;
          arguments[DNNL_ARG_DST].set_data_handle(dst + dst_row * dst_row_bytes);
          if (binary_addend) {
            arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared.binary_index) | DNNL_ARG_SRC_1].set_data_handle(
                const_cast<float*>(binary_addend + dst_row * dst_row_elements));
          }
          band.primitive.execute(stream, arguments);
          stream.wait();
        }
      },
      1);
}

QuantizedPrimitiveKernel::LayoutView& QuantizedPrimitiveKernel::Prepared::input_view(Layout layout, const Shape& shape,
                                                                                     DataType dtype) {
  auto [entry, inserted] = inputs.try_emplace(layout);
  if (inserted) {
    const memory::desc desc(to_dims(shape), to_dnnl(dtype), format_for(layout, shape.size()));
    entry->second.view = memory(desc, cpu_engine(), DNNL_MEMORY_NONE);
    if (desc != src_desc) {
      ScopedThreadLimit thread_limit(1);
      entry->second.reorder.emplace(entry->second.view, src_buffer);
    }
  }
  return entry->second;
}

QuantizedPrimitiveKernel::Prepared* QuantizedPrimitiveKernel::prepare(const Tensor& src, int pool_threads) {
  const auto key = std::make_pair(src.shape(), src.dtype());
  if (Prepared* found = cache_.find(key)) return found;
  Prepared prepared;
  Shape dst_shape;
  std::optional<dnnl::primitive_desc> primitive_desc;
  try {
    primitive_desc.emplace(describe_(epilogue_, src.shape(), src.dtype(), dst_shape));
    // oneDNN fixes an implementation's thread split when the primitive is created.
    prepared.single_threaded = single_threaded_work(multiply_adds(src.shape(), dst_shape));
    if (prepared.single_threaded) {
      ScopedThreadLimit thread_limit(1);
      primitive_desc.emplace(describe_(epilogue_, src.shape(), src.dtype(), dst_shape));
    }
  } catch (const dnnl::error& error) {
    prepared.implementation = concat("reference fallback: oneDNN has no int8 ", operation_, " for input ",
                                     shape_to_string(src.shape()), " (", error.what(), ")");
    return &cache_.insert(key, std::move(prepared));
  }
  const std::string implementation = implementation_name(*primitive_desc);
  if (is_reference_implementation(implementation)) {
    // oneDNN's reference int8 (de)convolution is far slower than octet's own reference kernel.
    prepared.implementation =
        concat("reference fallback: oneDNN offers only ", implementation, " for input ", shape_to_string(src.shape()));
    return &cache_.insert(key, std::move(prepared));
  }
  prepared.primitive = dnnl::primitive(*primitive_desc);
  prepared.implementation = implementation;
  prepared.src_desc = primitive_desc->src_desc();
  prepared.src_buffer = memory(prepared.src_desc, cpu_engine());
  prepared.dst_shape = dst_shape;
  prepared.dst_view = memory(primitive_desc->dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  prepared.binary_index = binary_post_op_index(primitive_desc->get_primitive_attr());
  if (prepared.binary_index >= 0) {
    prepared.binary_view = memory(
        memory::desc(to_dims(dst_shape), memory::data_type::f32, format_for(Layout::kChannelsLast, dst_shape.size())),
        cpu_engine(), DNNL_MEMORY_NONE);
  }
  prepared.scratchpad = memory(primitive_desc->scratchpad_desc(), cpu_engine());
  memory user_weights(user_weights_desc_, cpu_engine(), const_cast<void*>(weights_.raw_data()));
  prepared.weights = memory(primitive_desc->weights_desc(), cpu_engine());
  dnnl::reorder(user_weights, prepared.weights).execute(thread_stream(), user_weights, prepared.weights);
  thread_stream().wait();
  prepared.arguments = {{DNNL_ARG_WEIGHTS, prepared.weights}, {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
  if (!epilogue_.bias.empty()) {
    const memory::desc bias_desc = primitive_desc->weights_desc(1);
    prepared.bias = memory(bias_desc, cpu_engine(), const_cast<float*>(epilogue_.bias.data()));
    prepared.arguments[DNNL_ARG_BIAS] = prepared.bias;
  }
  epilogue_.add_arguments(prepared.arguments);
  if (pieces_ && pieces_->shifted_source && src.rank() == 4 && src.dtype() == DataType::kInt8 &&
      !starts_with(implementation, pieces_->shifted_source->implementation_prefix))
    prepare_shifted_route(src.shape(), pool_threads, prepared);
  return &cache_.insert(key, std::move(prepared));
}

void QuantizedPrimitiveKernel::plan_bands(const Shape& src_shape, DataType src_type, int pool_threads,
                                          Prepared& prepared) const {
  if (prepared.bands_planned) return;
  prepared.bands_planned = true;
  if (pool_threads < 2 || src_shape.size() != 4) return;
  if (pieces_) {
    prepare_row_bands(src_shape, src_type, pool_threads, prepared);
  } else if (deconvolution_rows_) {
    prepare_deconvolution_bands(src_shape, src_type, pool_threads, prepared);
  }
}

bool QuantizedPrimitiveKernel::prepare_solo(const Shape& src_shape, DataType src_type, Prepared& prepared) const {
  if (prepared.solo) return true;
  Shape dst_shape;
  std::optional<dnnl::primitive_desc> primitive_desc;
  try {
    ScopedThreadLimit thread_limit(1);
    primitive_desc.emplace(describe_(epilogue_, src_shape, src_type, dst_shape));
  } catch (const dnnl::error&) {
    return false;
  }
  if (is_reference_implementation(implementation_name(*primitive_desc))) return false;
  prepared.solo = dnnl::primitive(*primitive_desc);
  prepared.solo_arguments = prepared.arguments;
  prepared.solo_arguments[DNNL_ARG_WEIGHTS] =
      band_weights(prepared, primitive_desc->weights_desc(), 0, pieces_ ? pieces_->kernel_height : 0);
  prepared.solo_arguments[DNNL_ARG_SCRATCHPAD] = memory(primitive_desc->scratchpad_desc(), cpu_engine());
  return true;
}

void QuantizedPrimitiveKernel::prepare_row_bands(const Shape& src_shape, DataType src_type, int pool_threads,
                                                 Prepared& prepared) const {
  const std::vector<int64_t> padding = pieces_->padding(src_shape);
  const Shape& dst_shape = prepared.dst_shape;
  const int64_t batch = dst_shape[0], out_height = dst_shape[2], height = src_shape[2];
  const int64_t bands = band_count(multiply_adds(src_shape, dst_shape) / batch, out_height, batch, pool_threads);
  if (bands * batch < 2) return;
  const int64_t band_height = (out_height + bands - 1) / bands;
  const int64_t extent = (pieces_->kernel_height - 1) * pieces_->dilation + 1;
  std::vector<BandPlan> plans;
  for (int64_t first_row = 0; first_row < out_height; first_row += band_height) {
    BandPlan plan;
    plan.first_row = first_row;
    plan.rows = std::min(band_height, out_height - first_row);
    // Source rows the band's windows cover, relative to the unpadded source.
    const int64_t top = first_row * pieces_->stride - padding[0];
    const int64_t bottom = (first_row + plan.rows - 1) * pieces_->stride - padding[0] + extent - 1;
    plan.src_row = std::max<int64_t>(top, 0);
    plan.src_rows = std::min(bottom, height - 1) - plan.src_row + 1;
    if (plan.src_rows < 1) return;  // a band entirely in the padding
    plan.pad_top = plan.src_row - top;
    plan.pad_bottom = bottom - (plan.src_row + plan.src_rows - 1);
    plan.kernel_rows = pieces_->kernel_height;
    plans.push_back(plan);
  }
  std::string implementation;
  const auto band_epilogue = [&](int64_t, int64_t) -> std::optional<QuantizedEpilogue> { return epilogue_; };
  if (!build_bands(plans, src_shape, src_type, padding[1], padding[3], pool_threads, band_epilogue, prepared,
                   implementation))
    return;
  prepared.band_implementation = concat(implementation, ", ", plans.size(), plans.size() == 1 ? " band" : " bands",
                                        " of rows per image on the session's threads (cores contended)");
}

int64_t QuantizedPrimitiveKernel::band_count(int64_t work, int64_t rows, int64_t batch, int pool_threads) const {
  const int64_t min_band_multiply_adds =
      std::max(kMinBandMultiplyAdds, kMinBandMultiplyAddsPerWeight * weights_.element_count());
  const int64_t bands = std::min(rows, (kBandsPerThread * pool_threads + batch - 1) / batch);
  return std::min(bands, std::max<int64_t>(1, work / min_band_multiply_adds));
}

void QuantizedPrimitiveKernel::prepare_deconvolution_bands(const Shape& src_shape, DataType src_type,
                                                           int pool_threads, Prepared& prepared) const {
  const Shape& dst_shape = prepared.dst_shape;
  const int64_t batch = src_shape[0], height = src_shape[2], stride = deconvolution_rows_->stride;
  if (dst_shape[2] != height * stride) return;
  const int64_t bands = band_count(multiply_adds(src_shape, dst_shape) / batch, height, batch, pool_threads);
  if (bands * batch < 2) return;
  const int64_t band_height = (height + bands - 1) / bands;  // in input rows
  std::vector<BandPlan> plans;
  for (int64_t first_row = 0; first_row < height; first_row += band_height) {
    BandPlan plan;
    plan.src_row = first_row;
    plan.src_rows = std::min(band_height, height - first_row);
    plan.first_row = first_row * stride;
    plan.rows = plan.src_rows * stride;
    plans.push_back(plan);
  }
  std::string implementation;
  const auto band_epilogue = [&](int64_t, int64_t) -> std::optional<QuantizedEpilogue> { return epilogue_; };
  if (!build_bands(plans, src_shape, src_type, 0, 0, pool_threads, band_epilogue, prepared, implementation)) return;
  prepared.band_implementation = concat(implementation, ", ", plans.size(), plans.size() == 1 ? " band" : " bands",
                                        " of rows per image on the session's threads (cores contended)");
}

bool QuantizedPrimitiveKernel::prepare_shifted_route(const Shape& src_shape, int pool_threads,
                                                     Prepared& prepared) const {
  const ShiftedSourceRoute& route = *pieces_->shifted_source;
  if (epilogue_.x_zero_point != 0 || !route.worthwhile(src_shape)) return false;
  const std::vector<int64_t> padding = pieces_->padding(src_shape);
  const Shape& dst_shape = prepared.dst_shape;
  const int64_t height = src_shape[2], out_height = dst_shape[2], kernel_height = pieces_->kernel_height;
  // Each output row's kernel rows inside the input; consecutive rows with the same range form a
  // segment: the interior (every kernel row) and a few border rows.
  std::vector<BandPlan> segments;
  for (int64_t row = 0; row < out_height; ++row) {
    const int64_t top = row * pieces_->stride - padding[0];
    int64_t first = 0;
    while (first < kernel_height && top + first * pieces_->dilation < 0) ++first;
    int64_t last = kernel_height;
    while (last > first && top + (last - 1) * pieces_->dilation >= height) --last;
    if (last == first) return false;  // a window entirely in the padding
    if (!segments.empty() && segments.back().kernel_row == first && segments.back().kernel_rows == last - first) {
      ++segments.back().rows;
      continue;
    }
    BandPlan segment;
    segment.first_row = row;
    segment.rows = 1;
    segment.kernel_row = first;
    segment.kernel_rows = last - first;
    segments.push_back(segment);
  }
  // The interior splits further for the pool's threads, as row bands do.
  const int64_t row_multiply_adds = multiply_adds(src_shape, dst_shape) / (dst_shape[0] * out_height);
  const int64_t threads = prepared.single_threaded ? 1 : pool_threads;
  std::vector<BandPlan> plans;
  for (const BandPlan& segment : segments) {
    int64_t bands = threads == 1 ? 1 : std::min(segment.rows, kBandsPerThread * threads);
    bands = std::min(bands, std::max<int64_t>(1, segment.rows * row_multiply_adds / kMinBandMultiplyAdds));
    const int64_t band_height = (segment.rows + bands - 1) / bands;
    for (int64_t first_row = segment.first_row; first_row < segment.first_row + segment.rows;
         first_row += band_height) {
      BandPlan plan = segment;
      plan.first_row = first_row;
      plan.rows = std::min(band_height, segment.first_row + segment.rows - first_row);
      plan.src_row = first_row * pieces_->stride - padding[0] + plan.kernel_row * pieces_->dilation;
      plan.src_rows = (plan.rows - 1) * pieces_->stride + (plan.kernel_rows - 1) * pieces_->dilation + 1;
      plans.push_back(plan);
    }
  }
  // Per kernel-row range, the bias that keeps the accumulator (see ShiftedSourceRoute).
  const int64_t channels = weights_.dim(0), kernel_width = weights_.dim(3);
  const auto band_epilogue = [&](int64_t kernel_row, int64_t kernel_rows) -> std::optional<QuantizedEpilogue> {
    const int64_t depth = kernel_rows * kernel_width;
    QuantizedEpilogue shifted = epilogue_;
    shifted.x_type = DataType::kUint8;
    shifted.bias.resize(static_cast<size_t>(channels));
    for (int64_t m = 0; m < channels; ++m) {
      int64_t row_sum = 0;
      for (int64_t row = kernel_row; row < kernel_row + kernel_rows; ++row)
        row_sum += route.row_sums[m * kernel_height + row];
      const int64_t bias = epilogue_.bias.empty() ? 0 : static_cast<int64_t>(epilogue_.bias[m]);
      const int64_t lowered = bias - kSourceShift * row_sum;
      if (std::llabs(bias) + 128 * 127 * depth >= kExactFloatInteger ||
          std::llabs(lowered) + 255 * 127 * depth >= kExactFloatInteger)
        return std::nullopt;
      shifted.bias[m] = static_cast<float>(lowered);
    }
    return shifted;
  };
  Shape shifted_shape = src_shape;
  shifted_shape[3] += padding[1] + padding[3];
  std::string implementation;
  if (!build_bands(plans, shifted_shape, DataType::kUint8, 0, 0, pool_threads, band_epilogue, prepared,
                   implementation) ||
      !starts_with(implementation, route.implementation_prefix)) {
    prepared.bands.clear();
    prepared.band_scratchpads.clear();
    return false;
  }
  prepared.shifted = true;
  prepared.shift_left = padding[1];
  prepared.shift_right = padding[3];
  prepared.shifted_buffer = memory(
      memory::desc(to_dims(shifted_shape), memory::data_type::u8, memory::format_tag::nhwc), cpu_engine());
  // The padding columns hold the shifted zero; run() only rewrites the others.
  std::memset(prepared.shifted_buffer.get_data_handle(), static_cast<int>(kSourceShift),
              prepared.shifted_buffer.get_desc().get_size());
  prepared.band_implementation = concat(implementation, " on the s8 source shifted to u8, ", plans.size(),
                                        plans.size() == 1 ? " band" : " bands", " of rows per image");
  return true;
}

bool QuantizedPrimitiveKernel::build_bands(
    const std::vector<BandPlan>& plans, const Shape& source_shape, DataType source_type, int64_t left, int64_t right,
    int pool_threads, const std::function<std::optional<QuantizedEpilogue>(int64_t, int64_t)>& band_epilogue,
    Prepared& prepared, std::string& implementation) const {
  const Shape& dst_shape = prepared.dst_shape;
  ScopedThreadLimit thread_limit(1);
  // Bands of the same geometry and kernel rows share one primitive (and its weights and bias).
  struct Shared {
    dnnl::primitive primitive;
    memory::desc src_desc;
    memory weights, bias;
  };
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>, Shared> shared;
  std::map<std::pair<int64_t, int64_t>, const std::vector<float>*> biases;
  size_t scratchpad_bytes = 0;
  std::vector<Band> bands;
  const size_t kept_weights = prepared.band_weights.size(), kept_biases = prepared.band_biases.size();
  const auto undo = [&] {
    prepared.band_weights.resize(kept_weights);
    prepared.band_biases.resize(kept_biases);
    return false;
  };
  for (const BandPlan& plan : plans) {
    auto [entry, inserted] = shared.try_emplace(
        std::make_tuple(plan.rows, plan.src_rows, plan.pad_top, plan.pad_bottom, plan.kernel_row, plan.kernel_rows));
    if (inserted) {
      const std::optional<QuantizedEpilogue> epilogue = band_epilogue(plan.kernel_row, plan.kernel_rows);
      if (!epilogue) return undo();
      const Shape band_source{1, source_shape[1], plan.src_rows, source_shape[3]};
      const std::vector<int64_t> band_padding{plan.pad_top, left, plan.pad_bottom, right};
      Shape band_dst;
      std::optional<dnnl::primitive_desc> band_desc;
      try {
        if (pieces_) {
          band_desc.emplace(
              pieces_->describe(*epilogue, band_source, source_type, band_padding, plan.kernel_rows, band_dst));
        } else {
          band_desc.emplace(describe_(*epilogue, band_source, source_type, band_dst));  // DeconvolutionRows
        }
      } catch (const dnnl::error&) {
        return undo();
      } catch (const UnsupportedError&) {
        return undo();
      }
      const std::string band_implementation = implementation_name(*band_desc);
      if (band_dst != Shape{1, dst_shape[1], plan.rows, dst_shape[3]} || is_reference_implementation(band_implementation))
        return undo();
      if (implementation.empty()) implementation = band_implementation;
      scratchpad_bytes = std::max(scratchpad_bytes, band_desc->scratchpad_desc().get_size());
      Shared& band_shared = entry->second;
      band_shared.primitive = dnnl::primitive(*band_desc);
      band_shared.src_desc = band_desc->src_desc();
      band_shared.weights = band_weights(prepared, band_desc->weights_desc(), plan.kernel_row, plan.kernel_rows);
      if (!epilogue->bias.empty()) {
        // Biases differ only between kernel-row ranges (the shifted route); the others share the node's.
        const std::vector<float>* bias = &epilogue_.bias;
        if (epilogue->bias != epilogue_.bias) {
          auto [known, added] = biases.try_emplace(std::make_pair(plan.kernel_row, plan.kernel_rows), nullptr);
          if (added) known->second = &prepared.band_biases.emplace_back(epilogue->bias);
          bias = known->second;
        }
        band_shared.bias = memory(band_desc->weights_desc(1), cpu_engine(), const_cast<float*>(bias->data()));
      }
    }
    Band band;
    band.primitive = entry->second.primitive;
    band.src_desc = entry->second.src_desc;
    band.weights = entry->second.weights;
    band.bias = entry->second.bias;
    band.src_row = plan.src_row;
    band.dst_row = plan.first_row;
    band.rows = plan.rows;
    bands.push_back(std::move(band));
  }
  // Per pool thread: a scratchpad, and each band's argument map using it.
  std::vector<memory> scratchpads;
  for (int slot = 0; slot < pool_threads; ++slot)
    scratchpads.emplace_back(memory::desc({static_cast<int64_t>(std::max<size_t>(scratchpad_bytes, 1))},
                                          memory::data_type::u8, memory::format_tag::a),
                             cpu_engine());
  const memory::data_type dst_type = to_dnnl(epilogue_.dst_type);
  for (Band& band : bands) {
    const memory::dims band_dst_dims{1, dst_shape[1], band.rows, dst_shape[3]};
    const memory::desc band_dst_desc(band_dst_dims, dst_type, memory::format_tag::nhwc);
    for (int slot = 0; slot < pool_threads; ++slot) {
      std::unordered_map<int, memory> arguments = prepared.arguments;
      arguments[DNNL_ARG_WEIGHTS] = band.weights;
      arguments.erase(DNNL_ARG_BIAS);
      if (band.bias) arguments[DNNL_ARG_BIAS] = band.bias;
      arguments[DNNL_ARG_SCRATCHPAD] = scratchpads[slot];
      arguments[DNNL_ARG_SRC] = memory(band.src_desc, cpu_engine(), DNNL_MEMORY_NONE);
      arguments[DNNL_ARG_DST] = memory(band_dst_desc, cpu_engine(), DNNL_MEMORY_NONE);
      if (prepared.binary_index >= 0) {
        arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared.binary_index) | DNNL_ARG_SRC_1] =
            memory(memory::desc(band_dst_dims, memory::data_type::f32, memory::format_tag::nhwc), cpu_engine(),
                   DNNL_MEMORY_NONE);
      }
      band.arguments.push_back(std::move(arguments));
    }
  }
  prepared.bands = std::move(bands);
  prepared.band_scratchpads = std::move(scratchpads);
  return true;
}

memory QuantizedPrimitiveKernel::band_weights(Prepared& prepared, const memory::desc& desc, int64_t kernel_row,
                                              int64_t kernel_rows) const {
  const bool whole_kernel = !pieces_ || (kernel_row == 0 && kernel_rows == pieces_->kernel_height);
  if (whole_kernel && desc == prepared.weights.get_desc()) return prepared.weights;
  for (const BandWeights& known : prepared.band_weights)
    if (known.desc == desc && known.kernel_row == kernel_row && known.kernel_rows == kernel_rows) return known.weights;
  // The kernel rows as a view of the node's W: user weights dims [..., kh, kw] (grouped or not).
  memory::dims dims = user_weights_desc_.dims();
  memory::dims offsets(dims.size(), 0);
  if (!whole_kernel) {
    dims[dims.size() - 2] = kernel_rows;
    offsets[dims.size() - 2] = kernel_row;
  }
  const memory::desc slice = user_weights_desc_.submemory_desc(dims, offsets);
  memory user_weights(slice, cpu_engine(), const_cast<void*>(weights_.raw_data()));
  memory weights(desc, cpu_engine());
  dnnl::reorder(user_weights, weights).execute(thread_stream(), user_weights, weights);
  thread_stream().wait();
  prepared.band_weights.push_back({desc, kernel_row, kernel_rows, weights});
  return weights;
}

void QuantizedPrimitiveKernel::stage_shifted_source(const Tensor& src, const Prepared& prepared,
                                                    ThreadPool& threads) const {
  Tensor channels_last;
  const Tensor* source = &src;
  if (src.layout() != Layout::kChannelsLast) {
    channels_last = to_channels_last(src, threads);
    source = &channels_last;
  }
  const int64_t rows = src.dim(0) * src.dim(2), channels = src.dim(1), width = src.dim(3);
  const int64_t padded_width = width + prepared.shift_left + prepared.shift_right;
  const int8_t* values = source->data<int8_t>();
  uint8_t* shifted = static_cast<uint8_t*>(prepared.shifted_buffer.get_data_handle());
  for (int64_t row = 0; row < rows; ++row)
    shift_to_uint8(values + row * width * channels, width * channels,
                   shifted + (row * padded_width + prepared.shift_left) * channels);
}

// Why oneDNN 2.6 cannot run this primitive on `probe_shape`, or empty when it can.
std::string decline_reason(const QuantizedPrimitiveDescriber& describe, const QuantizedEpilogue& epilogue,
                           const Shape& probe_shape, const std::string& operation) {
  const DataType probe_type = epilogue.x_type == DataType::kUndefined ? DataType::kUint8 : epilogue.x_type;
  const char* zero_point_note = epilogue.x_zero_point != 0 ? " with a source zero point" : "";
  try {
    Shape dst_shape;
    const dnnl::primitive_desc primitive_desc = describe(epilogue, probe_shape, probe_type, dst_shape);
    const std::string implementation = implementation_name(primitive_desc);
    if (is_reference_implementation(implementation))
      return concat("oneDNN 2.6 offers only ", implementation, " for this int8 ", operation, zero_point_note);
  } catch (const UnsupportedError& error) {
    return error.what();
  } catch (const dnnl::error& error) {
    return concat("oneDNN 2.6 has no int8 ", operation, " for this configuration", zero_point_note, " (", error.what(),
                  ")");
  }
  return "";
}

}  // namespace

QuantizedPrimitiveOperands describe_quantized_operands(const QuantizedEpilogue& epilogue, const Shape& src_shape,
                                                       DataType src_type, const Shape& dst_shape) {
  const memory::format_tag activation_tag = format_for(Layout::kChannelsLast, src_shape.size());
  QuantizedPrimitiveOperands operands;
  operands.src = memory::desc(to_dims(src_shape), to_dnnl(src_type), activation_tag);
  operands.dst = memory::desc(to_dims(dst_shape), to_dnnl(epilogue.dst_type), activation_tag);
  if (!epilogue.bias.empty())
    operands.bias = memory::desc({dst_shape[1]}, memory::data_type::f32, memory::format_tag::a);
  const memory::desc dst_f32_desc(to_dims(dst_shape), memory::data_type::f32, activation_tag);
  std::string reason;
  if (!epilogue.make_attributes(1, dst_f32_desc, operands.attributes, reason)) throw UnsupportedError(reason);
  return operands;
}

const Tensor* find_quantized_primitive_weights(const KernelCreateInfo& info, const std::string& operation,
                                               std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = node.has_input(kQInputW) ? info.find_constant(node.input(kQInputW)) : nullptr;
  if (!weights || weights->dtype() != DataType::kInt8) {
    reason = "W is not a constant int8 tensor";
    return nullptr;
  }
  if (weights->rank() < 3 || weights->rank() > 5) {
    reason = concat("rank ", weights->rank(), " ", operation);
    return nullptr;
  }
  if (node.has_attribute("kernel_shape") &&
      node.attr_ints("kernel_shape") != std::vector<int64_t>(weights->shape().begin() + 2, weights->shape().end())) {
    reason = "kernel_shape differs from the weight shape";
    return nullptr;
  }
  return weights;
}

std::unique_ptr<Kernel> create_quantized_primitive_kernel(const KernelCreateInfo& info, const Tensor& weights,
                                                          const memory::desc& user_weights_desc,
                                                          QuantizedEpilogue epilogue,
                                                          QuantizedPrimitiveDescriber describe,
                                                          WeightSliceReader slice_reader, const Shape& probe_shape,
                                                          const std::string& operation, std::string& reason,
                                                          std::optional<ConvolutionPieces> pieces,
                                                          std::optional<DeconvolutionRows> deconvolution_rows) {
  reason = decline_reason(describe, epilogue, probe_shape, operation);
  if (!reason.empty()) return nullptr;
  return std::make_unique<QuantizedPrimitiveKernel>(info, weights, user_weights_desc, std::move(epilogue),
                                                    std::move(describe), slice_reader, operation, std::move(pieces),
                                                    deconvolution_rows);
}

}  // namespace octet::dnnl_backend
