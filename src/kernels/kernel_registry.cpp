#include "kernels/kernel_registry.h"

namespace octet {

const Tensor& KernelContext::input(size_t index) const {
  const Tensor* tensor = optional_input(index);
  check(tensor != nullptr, "required input ", index, " is missing");
  return *tensor;
}

Tensor& KernelContext::output(size_t index) {
  check(index < outputs_.size(), "output ", index, " was not requested");
  return outputs_[index];
}

Tensor& KernelContext::allocate_output(size_t index, DataType dtype, Shape shape) {
  Tensor& slot = output(index);
  slot = Tensor(dtype, std::move(shape));
  return slot;
}

Tensor& KernelContext::allocate_uninitialized_output(size_t index, DataType dtype, Shape shape) {
  Tensor& slot = output(index);
  slot = Tensor::uninitialized(dtype, std::move(shape));
  return slot;
}

namespace {
std::string normalized_domain(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }
}  // namespace

void KernelRegistry::add(const std::string& domain, const std::string& op_type, const std::string& implementation,
                         KernelFactory factory) {
  candidates_[{normalized_domain(domain), op_type}].push_back({implementation, std::move(factory)});
}

void KernelRegistry::add_preferred(const std::string& domain, const std::string& op_type,
                                   const std::string& implementation, KernelFactory factory) {
  auto& list = candidates_[{normalized_domain(domain), op_type}];
  list.insert(list.begin(), {implementation, std::move(factory)});
}

bool KernelRegistry::supports(const std::string& domain, const std::string& op_type) const {
  return candidates_.count({normalized_domain(domain), op_type}) > 0;
}

KernelChoice KernelRegistry::create(const KernelCreateInfo& info, const std::string& only_implementation) const {
  auto found = candidates_.find({normalized_domain(info.node.domain), info.node.op_type});
  if (found == candidates_.end()) {
    throw UnsupportedError(concat("node ", info.node.describe(), ": op ",
                                  info.node.domain.empty() ? "" : info.node.domain + ".", info.node.op_type,
                                  " is not supported"));
  }
  KernelChoice choice;
  for (const auto& candidate : found->second) {
    if (!only_implementation.empty() && candidate.implementation != only_implementation) continue;
    std::string reason;
    KernelCreateInfo candidate_info = info;
    candidate_info.registry = this;
    std::unique_ptr<Kernel> kernel = candidate.factory(candidate_info, reason);
    if (kernel) {
      choice.kernel = std::move(kernel);
      choice.implementation = candidate.implementation;
      return choice;
    }
    choice.declined_reasons.push_back(concat(candidate.implementation, ": ", reason));
  }
  std::string reasons;
  for (const auto& reason : choice.declined_reasons) reasons += (reasons.empty() ? "" : "; ") + reason;
  throw UnsupportedError(concat("node ", info.node.describe(), ": no implementation accepts it (", reasons, ")"));
}

std::vector<std::string> KernelRegistry::op_types(const std::string& domain) const {
  std::vector<std::string> result;
  for (const auto& [key, list] : candidates_)
    if (key.first == normalized_domain(domain)) result.push_back(key.second);
  return result;
}

}  // namespace octet
