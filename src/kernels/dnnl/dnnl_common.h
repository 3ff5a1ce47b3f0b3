// Shared pieces of the oneDNN-backed kernels: the engine, type and layout mapping, post-ops.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/kernel_registry.h"
#include "kernels/post_ops.h"
#include "octet/tensor.h"

namespace octet::dnnl_backend {

// The CPU engine (one per process) and a stream for the calling thread.
dnnl::engine& cpu_engine();
dnnl::stream& thread_stream();

// Sets the number of threads oneDNN uses (OpenMP), as sessions start.
void set_thread_count(int threads);

// Multiply-adds below which a oneDNN primitive is created and run on the calling thread alone.
// oneDNN 2.6 (OpenMP build) splits every primitive statically over all threads: each call is a
// fork and a join, a few microseconds when the other core is idle, and up to a scheduler period
// (several milliseconds) when it is busy, since the join waits for a thread the kernel may not run.
// Below this size (about 5 us of int8 work on one AVX-512 VNNI core) the split cannot pay for that.
inline constexpr int64_t kSingleThreadMultiplyAdds = int64_t{1} << 20;

// Whether the cores looked busy lately, as oneDNN's OpenMP split experiences them: among the
// latest OpenMP executions kernels timed, several were far slower than the best times of the same
// primitives (record_openmp_execution), within the last kContentionHoldSeconds. Kernels then
// run their alternative (on the calling thread, or in row bands on the session's pool, whose
// calling thread can finish alone) instead of the OpenMP split, and try the split again once the
// hold ends. On an idle machine the split is the faster one (ResNet-50 INT8: 10.8 ms vs 13.8 ms in
// row bands), on a busy one by far the slower (600 ms and more vs 31 ms with other processes
// keeping both cores busy).
bool cores_contended();
inline constexpr double kContentionHoldSeconds = 5.0;
// Records an OpenMP execution that took `elapsed` seconds of a primitive whose best time so far is
// `best` (updated); see cores_contended.
void record_openmp_execution(double elapsed, double& best);
// Marks the cores contended for the next `seconds` (0: no longer), whatever the timings say: for
// tests of the contended paths.
void hold_cores_contended(double seconds);

// Limits the OpenMP threads of the calling thread (oneDNN's thread count: read when a primitive
// is created and by some implementations when one runs) to `threads` for the scope's lifetime,
// then restores the previous count. Cheap: it sets a per-thread OpenMP variable.
class ScopedThreadLimit {
 public:
  explicit ScopedThreadLimit(int threads);
  ~ScopedThreadLimit();
  ScopedThreadLimit(const ScopedThreadLimit&) = delete;
  ScopedThreadLimit& operator=(const ScopedThreadLimit&) = delete;

 private:
  int previous_;
};

// Whether a primitive of `multiply_adds` should run on the calling thread alone.
inline bool single_threaded_work(int64_t multiply_adds) { return multiply_adds < kSingleThreadMultiplyAdds; }

// The same for memory-bound primitives (element-wise, softmax, normalization, concat, resize),
// counted in bytes written: one pass over 256 KB takes about as long as a fork and join when the
// other core is idle.
inline constexpr int64_t kSingleThreadBytes = int64_t{1} << 18;

// The ScopedThreadLimit argument for a memory-bound primitive writing `bytes`: 1 below
// kSingleThreadBytes or while the cores are contended, otherwise no limit.
inline int memory_bound_thread_limit(int64_t bytes) {
  return bytes < kSingleThreadBytes || cores_contended() ? 1 : std::numeric_limits<int>::max();
}

// oneDNN data type for an octet dtype; throws UnsupportedError for types oneDNN lacks.
dnnl::memory::data_type to_dnnl(DataType dtype);
dnnl::memory::dims to_dims(const Shape& shape);
// Format tag of a plain or channels-last tensor of the given rank (3-5 for channels-last).
dnnl::memory::format_tag format_for(Layout layout, size_t rank);
// Memory descriptor describing an existing tensor's buffer.
dnnl::memory::desc describe(const Tensor& tensor);
// Wraps a tensor's buffer (no copy). The tensor must outlive the returned memory's use.
dnnl::memory wrap(const Tensor& tensor, const dnnl::memory::desc& desc);

// Appends the element-wise post-ops (and sum) to oneDNN post-ops. Returns false with `reason`
// when a kind has no oneDNN equivalent.
bool append_post_ops(const std::vector<PostOp>& post_ops, dnnl::post_ops& dnnl_post_ops, std::string& reason);

// The implementation name oneDNN chose for a primitive ("brgconv:avx512_core").
std::string implementation_name(const dnnl::primitive_desc_base& primitive_desc);

}  // namespace octet::dnnl_backend

namespace octet::dnnl_backend {

// The reference kernel of the same node, run on plain copies of the inputs: used when oneDNN
// rejects a shape at run time. Kernels report its use through detail(), so it is never silent.
class ReferenceFallback {
 public:
  explicit ReferenceFallback(const KernelCreateInfo& info);
  void run(KernelContext& context);

 private:
  std::unique_ptr<Kernel> kernel_;
};

}  // namespace octet::dnnl_backend
