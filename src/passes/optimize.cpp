#include "passes/optimize.h"

namespace octet {

std::vector<std::string> optimize_model(Model& model, const KernelRegistry& registry) { return {}; }

}  // namespace octet
