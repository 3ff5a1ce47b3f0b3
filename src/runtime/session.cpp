#include "runtime/session.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include "onnx/onnx_io.h"
#include "passes/optimize.h"
#include "core/layout.h"
#include "runtime/builtin_kernels.h"

namespace octet {

namespace {
constexpr size_t kNoSlot = std::numeric_limits<size_t>::max();
}  // namespace

struct Session::Step {
  const Node* node;
  std::unique_ptr<Kernel> kernel;
  std::vector<size_t> input_slots;   // kNoSlot for omitted optional inputs
  std::vector<size_t> output_slots;  // kNoSlot for omitted optional outputs
  std::vector<size_t> release_after;  // slots whose last reader is this step
};

namespace {

// Activation buffers are freed after their last reader and reallocated on the next run. Keeping
// large blocks on the heap (instead of fresh mmap regions, glibc's default above 32 MiB at most)
// lets each run reuse the previous run's pages rather than fault in new ones.
void keep_freed_memory_for_reuse() {
  static const bool configured = [] {
    constexpr int kMmapThreshold = 1 << 30;
    mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    mallopt(M_TRIM_THRESHOLD, kMmapThreshold);
    return true;
  }();
  (void)configured;
}

}  // namespace

Session::Session(Model model, const SessionOptions& options)
    : model_(std::move(model)), options_(options), threads_(options.threads) {
  keep_freed_memory_for_reuse();
  const KernelRegistry& registry = builtin_kernel_registry();
  if (options_.optimize) applied_passes_ = optimize_model(model_, registry, OptimizationLevel::kExecution);
  Graph& graph = model_.graph;
  graph.topological_sort();
  graph.verify();

  auto slot_for = [&](const std::string& value_name) {
    auto [entry, inserted] = slot_of_value_.try_emplace(value_name, slot_count_);
    if (inserted) ++slot_count_;
    return entry->second;
  };
  for (const auto& input : graph.inputs) input_slots_.push_back(slot_for(input.name));
  for (const auto& [value_name, tensor] : graph.initializers) slot_for(value_name);

  std::vector<size_t> last_reader;  // per slot: index of the last step reading it
  auto find_constant = [&graph](const std::string& value_name) { return graph.find_initializer(value_name); };
  for (const Node& node : graph.nodes) {
    Step step;
    step.node = &node;
    for (const auto& input : node.inputs) step.input_slots.push_back(input.empty() ? kNoSlot : slot_for(input));
    for (const auto& output : node.outputs) step.output_slots.push_back(output.empty() ? kNoSlot : slot_for(output));
    KernelCreateInfo info{node, model_.opset(node.domain), find_constant};
    KernelChoice choice = registry.create(info, options_.implementation);
    step.kernel = std::move(choice.kernel);
    placements_.push_back({node.name, node.op_type, choice.implementation, std::move(choice.declined_reasons)});
    steps_.push_back(std::move(step));
  }
  for (const auto& output : graph.outputs) output_slots_.push_back(slot_for(output.name));

  // Free each intermediate value after its last reader; keep inputs, initializers and outputs.
  last_reader.assign(slot_count_, kNoSlot);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (size_t slot : steps_[i].input_slots)
      if (slot != kNoSlot) last_reader[slot] = i;
  std::set<size_t> kept(output_slots_.begin(), output_slots_.end());
  for (const auto& [value_name, tensor] : graph.initializers) kept.insert(slot_of_value_[value_name]);
  for (size_t slot : input_slots_) kept.insert(slot);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (size_t slot : steps_[i].output_slots) {
      if (slot == kNoSlot || kept.count(slot)) continue;
      // A value nobody reads is released right after it is produced.
      const size_t releaser = last_reader[slot] == kNoSlot ? i : last_reader[slot];
      steps_[releaser].release_after.push_back(slot);
    }
  }
}

Session::~Session() = default;

std::unique_ptr<Session> Session::from_file(const std::string& path, const SessionOptions& options) {
  Model model = load_model(path);
  try {
    return std::make_unique<Session>(std::move(model), options);
  } catch (const UnsupportedError& error) {
    throw UnsupportedError(concat(path, ": ", error.what()));
  } catch (const Error& error) {
    throw Error(concat(path, ": ", error.what()));
  }
}

void Session::validate_feed(const ValueInfo& declared, const Tensor& tensor) const {
  if (declared.dtype != DataType::kUndefined && declared.dtype != tensor.dtype()) {
    throw Error(concat("input '", declared.name, "' expects ", dtype_name(declared.dtype), ", got ",
                       dtype_name(tensor.dtype())));
  }
  if (!declared.has_shape) return;
  if (static_cast<size_t>(tensor.rank()) != declared.dims.size()) {
    throw Error(concat("input '", declared.name, "' expects rank ", declared.dims.size(), " (",
                       declared.shape_string(), "), got shape ", shape_to_string(tensor.shape())));
  }
  for (size_t i = 0; i < declared.dims.size(); ++i) {
    if (declared.dims[i].is_known() && declared.dims[i].value != tensor.shape()[i]) {
      throw Error(concat("input '", declared.name, "' expects shape ", declared.shape_string(), ", got ",
                         shape_to_string(tensor.shape()), " (dimension ", i, " differs)"));
    }
  }
}

std::vector<Tensor> Session::run(const std::map<std::string, const Tensor*>& feeds) {
  set_kernel_library_threads(threads_.thread_count());
  const Graph& graph = model_.graph;
  std::vector<Tensor> owned(slot_count_);
  std::vector<int64_t> owned_bytes(slot_count_, 0);  // bytes counted in live_bytes per slot
  std::vector<const Tensor*> values(slot_count_, nullptr);
  for (const auto& [value_name, tensor] : graph.initializers) values[slot_of_value_.at(value_name)] = tensor.get();

  for (const auto& [feed_name, tensor] : feeds) {
    if (!graph.is_graph_input(feed_name)) {
      std::string names;
      for (const auto& input : graph.inputs) names += (names.empty() ? "" : ", ") + input.name;
      throw Error(concat("the model has no input named '", feed_name, "' (inputs: ", names, ")"));
    }
  }
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& declared = graph.inputs[i];
    auto found = feeds.find(declared.name);
    check(found != feeds.end() && found->second, "missing input '", declared.name, "' (",
          dtype_name(declared.dtype), " ", declared.shape_string(), ")");
    validate_feed(declared, *found->second);
    values[input_slots_[i]] = found->second;
  }

  if (options_.profile) node_times_ms_.assign(steps_.size(), 0.0);
  std::vector<const Tensor*> step_inputs;
  std::vector<Tensor> step_outputs;
  std::vector<Tensor*> donations;
  // Plain copies of channels-last values, made once for all consumers that need plain input.
  std::map<size_t, Tensor> plain_copies;
  int64_t live_bytes = 0;
  peak_activation_bytes_ = 0;
  for (size_t s = 0; s < steps_.size(); ++s) {
    Step& step = steps_[s];
    step_inputs.clear();
    const bool accepts_channels_last = step.kernel->accepts_channels_last();
    for (size_t slot : step.input_slots) {
      const Tensor* value = slot == kNoSlot ? nullptr : values[slot];
      if (value && !accepts_channels_last && value->layout() != Layout::kPlain) {
        auto [entry, inserted] = plain_copies.try_emplace(slot);
        if (inserted) {
          entry->second = to_plain(*value, threads_);
          live_bytes += static_cast<int64_t>(entry->second.byte_size());
        }
        value = &entry->second;
      }
      step_inputs.push_back(value);
    }
    // Trailing omitted inputs are dropped so kernels see the count the node really has.
    while (!step_inputs.empty() && step_inputs.back() == nullptr) step_inputs.pop_back();
    step_outputs.clear();
    step_outputs.resize(step.output_slots.size());
    // Inputs read for the last time here, once, from a tensor this run owns, may be reused in place.
    donations.assign(step_inputs.size(), nullptr);
    for (size_t slot : step.release_after) {
      if (owned[slot].empty() || plain_copies.count(slot)) continue;
      const auto readers = std::count(step.input_slots.begin(), step.input_slots.end(), slot);
      const auto position = std::find(step.input_slots.begin(), step.input_slots.end(), slot);
      const size_t index = static_cast<size_t>(position - step.input_slots.begin());
      if (readers == 1 && index < donations.size()) donations[index] = &owned[slot];
    }
    KernelContext context(step_inputs, step_outputs, threads_, donations);
    const auto start = std::chrono::steady_clock::now();
    try {
      step.kernel->run(context);
    } catch (const UnsupportedError& error) {
      throw UnsupportedError(concat("node ", step.node->describe(), ": ", error.what()));
    } catch (const Error& error) {
      throw Error(concat("node ", step.node->describe(), ": ", error.what()));
    } catch (const std::bad_alloc&) {
      throw Error(concat("node ", step.node->describe(), ": out of memory"));
    }
    if (options_.node_observer) options_.node_observer(*step.node, step_inputs, step_outputs);
    if (options_.profile) {
      node_times_ms_[s] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    for (size_t o = 0; o < step.output_slots.size(); ++o) {
      const size_t slot = step.output_slots[o];
      if (slot == kNoSlot) continue;
      if (step_outputs[o].empty())
        throw Error(concat("node ", step.node->describe(), ": output ", o, " was not produced"));
      owned[slot] = std::move(step_outputs[o]);
      values[slot] = &owned[slot];
      // A donated buffer reappears as this output: it was counted once, when first produced.
      int64_t new_bytes = static_cast<int64_t>(owned[slot].byte_size());
      for (Tensor* donated : donations) {
        if (donated && donated->empty()) {
          const size_t donor = static_cast<size_t>(donated - owned.data());
          new_bytes -= owned_bytes[donor];
          owned_bytes[donor] = 0;
        }
      }
      owned_bytes[slot] = static_cast<int64_t>(owned[slot].byte_size());
      live_bytes += new_bytes;
    }
    peak_activation_bytes_ = std::max(peak_activation_bytes_, live_bytes);
    for (size_t slot : step.release_after) {
      live_bytes -= owned_bytes[slot];
      owned_bytes[slot] = 0;
      owned[slot] = Tensor();
      values[slot] = nullptr;
      if (auto copy = plain_copies.find(slot); copy != plain_copies.end()) {
        live_bytes -= static_cast<int64_t>(copy->second.byte_size());
        plain_copies.erase(copy);
      }
    }
  }

  std::vector<Tensor> results;
  results.reserve(output_slots_.size());  // pointers into results stay valid
  for (size_t slot : output_slots_) {
    if (values[slot] && values[slot]->layout() != Layout::kPlain) {
      results.push_back(to_plain(*values[slot], threads_));
    } else if (!owned[slot].empty()) {
      results.push_back(std::move(owned[slot]));
      values[slot] = &results.back();
    } else {
      check(values[slot] != nullptr, "a graph output was not computed");
      results.push_back(values[slot]->clone());  // an output that is an input or initializer
    }
  }
  return results;
}

std::vector<std::string> Session::last_node_details() const {
  std::vector<std::string> details;
  for (const auto& step : steps_) details.push_back(step.kernel->detail());
  return details;
}

}  // namespace octet
