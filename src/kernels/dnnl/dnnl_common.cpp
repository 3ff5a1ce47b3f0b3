#include "kernels/dnnl/dnnl_common.h"

#include <omp.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "core/layout.h"

namespace octet::dnnl_backend {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void set_thread_count(int threads) { omp_set_num_threads(threads); }

ScopedThreadLimit::ScopedThreadLimit(int threads) : previous_(omp_get_max_threads()) {
  if (threads < previous_) omp_set_num_threads(threads);
}

ScopedThreadLimit::~ScopedThreadLimit() {
  if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
}

namespace {
// Until when (steady_clock ticks) the cores count as contended.
std::atomic<int64_t> contended_until{0};
// A stall: an OpenMP execution slower than twice the primitive's best time plus 1 ms. A thread the
// scheduler put off waits a few milliseconds (one busy process beside ResNet-50 INT8: stalls of 5
// to 8 ms over best times of 0.1 to 0.2 ms); VM jitter on an idle machine stays under a
// millisecond (a 0.1 ms slack put PP-OCR det INT8 in row bands on an idle machine: 27 to 30 ms
// instead of 19 to 22 ms). A few stalls happen on a mostly idle machine too, where the split
// still wins (ResNet-50 INT8 at a load average of 1.5: 11 to 12 ms split, 14 to 15 ms in row
// bands), so the cores count as contended when kStallsToContend of the last kExecutionsObserved
// executions stalled; under heavy load almost every execution stalls.
constexpr double kStallFactor = 2.0;
constexpr double kStallSlackSeconds = 1e-3;
constexpr int kExecutionsObserved = 8;
constexpr int kStallsToContend = 3;
std::mutex stall_mutex;
uint32_t recent_stalls = 0;  // one bit per execution observed, the latest in bit 0

int64_t now_ticks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

int64_t seconds_to_ticks(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds))
      .count();
}
}  // namespace

bool cores_contended() { return now_ticks() < contended_until.load(std::memory_order_relaxed); }

void hold_cores_contended(double seconds) {
  contended_until.store(now_ticks() + seconds_to_ticks(seconds), std::memory_order_relaxed);
}

void record_openmp_execution(double elapsed, double& best) {
  if (elapsed < best) best = elapsed;
  const bool stall = elapsed > kStallFactor * best + kStallSlackSeconds;
  std::lock_guard lock(stall_mutex);
  recent_stalls = ((recent_stalls << 1) | (stall ? 1u : 0u)) & ((1u << kExecutionsObserved) - 1);
  if (std::popcount(recent_stalls) >= kStallsToContend) {
    recent_stalls = 0;  // the split is tried afresh when the hold ends
    hold_cores_contended(kContentionHoldSeconds);
  }
}

dnnl::memory::data_type to_dnnl(DataType dtype) {
  using dt = dnnl::memory::data_type;
  switch (dtype) {
    case DataType::kFloat: return dt::f32;
    case DataType::kUint8: return dt::u8;
    case DataType::kInt8: return dt::s8;
    case DataType::kInt32: return dt::s32;
    case DataType::kBfloat16: return dt::bf16;
    case DataType::kFloat16: return dt::f16;
    default: throw UnsupportedError(concat("oneDNN has no ", dtype_name(dtype), " type"));
  }
}

dnnl::memory::dims to_dims(const Shape& shape) { return dnnl::memory::dims(shape.begin(), shape.end()); }

dnnl::memory::format_tag format_for(Layout layout, size_t rank) {
  using tag = dnnl::memory::format_tag;
  if (layout == Layout::kChannelsLast) {
    switch (rank) {
      case 3: return tag::nwc;
      case 4: return tag::nhwc;
      case 5: return tag::ndhwc;
      default: throw Error(concat("channels-last layout needs rank 3 to 5, got ", rank));
    }
  }
  switch (rank) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    case 6: return tag::abcdef;
    default: throw UnsupportedError(concat("oneDNN tensors have rank 1 to 6, got ", rank));
  }
}

dnnl::memory::desc describe(const Tensor& tensor) {
  return dnnl::memory::desc(to_dims(tensor.shape()), to_dnnl(tensor.dtype()),
                            format_for(tensor.layout(), tensor.shape().size()));
}

dnnl::memory wrap(const Tensor& tensor, const dnnl::memory::desc& desc) {
  // oneDNN takes a non-const handle; kernels only read from inputs wrapped this way.
  return dnnl::memory(desc, cpu_engine(), const_cast<void*>(tensor.raw_data()));
}

bool append_post_ops(const std::vector<PostOp>& post_ops, dnnl::post_ops& dnnl_post_ops, std::string& reason) {
  using algorithm = dnnl::algorithm;
  for (size_t i = 0; i < post_ops.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      // oneDNN 2.6 gives the second use of an element-wise kind the first one's parameters.
      if (post_ops[j].kind == post_ops[i].kind && post_ops[i].kind != PostOpKind::kSum &&
          (post_ops[j].alpha != post_ops[i].alpha || post_ops[j].beta != post_ops[i].beta)) {
        reason = concat("post-op ", post_op_name(post_ops[i].kind), " repeats with other parameters");
        return false;
      }
    }
  }
  for (const auto& post_op : post_ops) {
    switch (post_op.kind) {
      case PostOpKind::kRelu: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f); break;
      case PostOpKind::kLeakyRelu:
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_relu, post_op.alpha, 0.0f);
        break;
      case PostOpKind::kClip:
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_clip, post_op.alpha, post_op.beta);
        break;
      case PostOpKind::kSigmoid: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f); break;
      case PostOpKind::kTanh: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f); break;
      case PostOpKind::kHardSigmoid:
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_linear, post_op.alpha, post_op.beta);
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 1.0f);
        break;
      case PostOpKind::kHardSwish: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f); break;
      case PostOpKind::kSwish: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f); break;
      case PostOpKind::kGeluErf: dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
      case PostOpKind::kGeluTanh:
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_gelu_tanh, 0.0f, 0.0f);
        break;
      case PostOpKind::kLinear:
        dnnl_post_ops.append_eltwise(1.0f, algorithm::eltwise_linear, post_op.alpha, post_op.beta);
        break;
      case PostOpKind::kSum: dnnl_post_ops.append_sum(1.0f); break;
      default: reason = concat("post-op ", post_op_name(post_op.kind), " has no oneDNN form"); return false;
    }
  }
  return true;
}

std::string implementation_name(const dnnl::primitive_desc_base& primitive_desc) {
  return primitive_desc.impl_info_str();
}

ReferenceFallback::ReferenceFallback(const KernelCreateInfo& info) {
  check(info.registry != nullptr, "oneDNN kernels need the kernel registry for their fallback");
  kernel_ = info.registry->create(info, "reference").kernel;
}

void ReferenceFallback::run(KernelContext& context) {
  std::vector<Tensor> plain_copies(context.input_count());
  std::vector<const Tensor*> inputs(context.input_count());
  for (size_t i = 0; i < context.input_count(); ++i) {
    const Tensor* input = context.optional_input(i);
    if (input && input->layout() != Layout::kPlain) {
      plain_copies[i] = to_plain(*input, context.threads());
      input = &plain_copies[i];
    }
    inputs[i] = input;
  }
  std::vector<Tensor> outputs(context.output_count());
  KernelContext plain_context(inputs, outputs, context.threads());
  kernel_->run(plain_context);
  for (size_t i = 0; i < outputs.size(); ++i) context.output(i) = std::move(outputs[i]);
}

}  // namespace octet::dnnl_backend
