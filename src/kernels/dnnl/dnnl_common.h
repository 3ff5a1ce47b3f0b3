// Shared pieces of the oneDNN-backed kernels: the engine, type and layout mapping, post-ops.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

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
