// The kernel interface: how the runtime runs one node.
//
// A kernel is created once per node when a session is built (parsing attributes, pre-packing
// constant weights) and then run many times. run() reads the node's inputs and fills its outputs,
// computing output shapes from the actual input shapes, so one kernel serves every input shape.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "octet/tensor.h"

namespace octet {

// What a kernel sees while running. Inputs are borrowed for the duration of run(); outputs are
// empty tensors the kernel replaces with its results.
class KernelContext {
 public:
  KernelContext(std::span<const Tensor* const> inputs, std::span<Tensor> outputs, ThreadPool& threads,
                std::span<Tensor* const> donations = {})
      : inputs_(inputs), outputs_(outputs), threads_(threads), donations_(donations) {}

  size_t input_count() const { return inputs_.size(); }
  size_t output_count() const { return outputs_.size(); }
  // Input `index`; throws Error when it is absent (omitted optional input or beyond the count).
  const Tensor& input(size_t index) const;
  // Input `index`, or nullptr when omitted or beyond the count.
  const Tensor* optional_input(size_t index) const {
    return index < inputs_.size() ? inputs_[index] : nullptr;
  }
  // Output slot `index`: assign a tensor to it. Slots beyond output_count() are not requested.
  Tensor& output(size_t index);
  bool output_requested(size_t index) const { return index < outputs_.size(); }
  // Allocates output `index` (zero-filled) with the given type and shape and returns it.
  Tensor& allocate_output(size_t index, DataType dtype, Shape shape);
  // Same without zero-filling, for kernels that write every element.
  Tensor& allocate_uninitialized_output(size_t index, DataType dtype, Shape shape);
  ThreadPool& threads() const { return threads_; }
  // Input `index` when nothing reads it after this node: the kernel may move its buffer into an
  // output (in-place work). nullptr when the input is still needed, shared or not owned.
  Tensor* donated_input(size_t index) const { return index < donations_.size() ? donations_[index] : nullptr; }

 private:
  std::span<const Tensor* const> inputs_;
  std::span<Tensor> outputs_;
  ThreadPool& threads_;
  std::span<Tensor* const> donations_;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Throws Error (bad data) or UnsupportedError (a type or attribute value this kernel lacks).
  virtual void run(KernelContext& context) = 0;
  // Whether run() accepts channels-last inputs (Tensor::layout()). Kernels that return false get
  // plain tensors only: the runtime converts channels-last inputs before calling them.
  virtual bool accepts_channels_last() const { return false; }
  // The implementation detail that ran last (e.g. oneDNN's "brgconv:avx512_core"), for profiles.
  virtual std::string detail() const { return ""; }
};

class KernelRegistry;

// What a kernel factory receives.
struct KernelCreateInfo {
  const Node& node;
  int64_t opset;  // version of the node's domain imported by the model
  // Returns the initializer tensor named `value_name`, or nullptr when the value is computed at run time.
  std::function<const Tensor*(const std::string& value_name)> find_constant;
  // The registry creating this kernel, for composite kernels that build on other ops' kernels.
  const KernelRegistry* registry = nullptr;
};

// Returns a kernel for the node, or nullptr with `decline_reason` set when this implementation
// does not handle the node's configuration (the next candidate is tried).
using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelCreateInfo& info, std::string& decline_reason)>;

}  // namespace octet
