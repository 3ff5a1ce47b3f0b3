// Kernel selection: an ordered list of candidate implementations per op; the first that accepts a
// node wins, and each one that declines records why (shown by `octet inspect` and verbose logs).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace octet {

struct KernelCandidate {
  std::string implementation;  // "reference", "dnnl", ...
  KernelFactory factory;
};

// The outcome of choosing a kernel for one node.
struct KernelChoice {
  std::unique_ptr<Kernel> kernel;
  std::string implementation;                 // the candidate that accepted
  std::vector<std::string> declined_reasons;  // "dnnl: grouped ConvTranspose" for each earlier candidate
};

class KernelRegistry {
 public:
  // Appends a candidate for (domain, op_type). Candidates registered first are tried first.
  void add(const std::string& domain, const std::string& op_type, const std::string& implementation,
           KernelFactory factory);
  // Puts a candidate ahead of the existing ones (for optimized implementations over the reference).
  void add_preferred(const std::string& domain, const std::string& op_type, const std::string& implementation,
                     KernelFactory factory);
  bool supports(const std::string& domain, const std::string& op_type) const;
  // Creates the kernel for a node. Throws UnsupportedError when no candidate exists or all decline.
  // A non-empty `only_implementation` restricts the choice to that candidate ("reference").
  KernelChoice create(const KernelCreateInfo& info, const std::string& only_implementation = "") const;
  // Every registered op type of a domain, sorted.
  std::vector<std::string> op_types(const std::string& domain) const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<KernelCandidate>> candidates_;
};

}  // namespace octet
