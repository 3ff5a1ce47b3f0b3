#include "quant/accuracy_aware.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>

#include <onnx/onnx_pb.h>

#include "core/layout.h"
#include "core/npy.h"
#include "octet/status.h"
#include "onnx/onnx_io.h"
#include "runtime/session.h"

namespace octet {
namespace {

// Metrics are means of per-sample values; this absorbs the rounding of a budget written in decimal
// (0.002) against a difference of two means, nothing more.
constexpr double kDropTolerance = 1e-9;
// A candidate's latency: the median of this many timed runs on one sample, after the warm-up runs.
// Enough to tell an FP32 island from an int8 path; bench measures speed properly.
constexpr int kLatencyRuns = 20;
constexpr int kLatencyWarmupRuns = 2;
// Ranking compares subset metrics rounded to this many steps per unit: exact ties are common (coarse
// per-sample metrics), and the rounding keeps the order transitive despite float sums.
constexpr double kMetricKeySteps = 1e9;

constexpr const char* kReturnedReason = "returned to FP32 by accuracy-aware quantization";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

// The model as it loads from its saved file: ONNX shape inference restores the value types and
// shapes that write_qdq drops and the runtime uses to pick kernels, so a candidate runs (and is
// timed) as the written model will. The checker is left to the final save.
Model as_saved(const Model& model) {
  onnx::ModelProto proto;
  model_to_proto(model, proto);
  LoadOptions load_options;
  load_options.check = false;
  return model_from_proto(proto, "", "candidate model", load_options);
}

// The first output of every sample a session runs, seen through the session's node observer while
// evaluate() runs it: stored (the FP32 reference of the ranking subset), or compared with the stored
// outputs in the same order (normalized squared error), and counted for progress.
class OutputTap {
 public:
  enum class Mode { kCount, kStore, kCompare };

  explicit OutputTap(std::string output_name) : output_name_(std::move(output_name)), layout_threads_(1) {}
  OutputTap(const OutputTap&) = delete;
  OutputTap& operator=(const OutputTap&) = delete;

  // The observer of every session this tap watches (it must outlive them).
  NodeObserver observer() {
    return [this](const Node& node, std::span<const Tensor* const>, std::span<const Tensor> outputs) {
      for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o)
        if (node.outputs[o] == output_name_) observe(outputs[o]);
    };
  }

  // Starts a pass over samples. `on_sample` (optional) is called with the count after each one.
  void start(Mode mode, std::function<void(size_t)> on_sample = {}) {
    mode_ = mode;
    on_sample_ = std::move(on_sample);
    samples_ = 0;
    error_sum_ = 0.0;
    if (mode == Mode::kStore) stored_.clear();
  }

  size_t samples() const { return samples_; }
  size_t stored_count() const { return stored_.size(); }
  // Mean over the pass of ||y - y_ref||^2 / ||y_ref||^2 (kCompare).
  double mean_error() const { return samples_ ? error_sum_ / static_cast<double>(samples_) : 0.0; }

 private:
  void observe(const Tensor& output) {
    Tensor plain;
    if (output.layout() == Layout::kChannelsLast) plain = to_plain(output, layout_threads_);
    const Tensor& value = plain.empty() ? output : plain;
    check(value.dtype() == DataType::kFloat, "accuracy-aware ranking: output '", output_name_, "' is ",
          dtype_name(value.dtype()), ", not float");
    if (mode_ == Mode::kStore) {
      stored_.push_back(plain.empty() ? output.clone() : std::move(plain));
    } else if (mode_ == Mode::kCompare) {
      check(samples_ < stored_.size(), "accuracy-aware ranking: more samples than FP32 reference outputs");
      const Tensor& reference = stored_[samples_];
      check(reference.element_count() == value.element_count(), "accuracy-aware ranking: output '", output_name_,
            "' has ", value.element_count(), " elements, the FP32 model's ", reference.element_count());
      const float* expected = reference.data<float>();
      const float* actual = value.data<float>();
      double error = 0.0, energy = 0.0;
      for (int64_t i = 0; i < value.element_count(); ++i) {
        const double difference = static_cast<double>(actual[i]) - static_cast<double>(expected[i]);
        error += difference * difference;
        energy += static_cast<double>(expected[i]) * static_cast<double>(expected[i]);
      }
      error_sum_ += energy > 0.0 ? error / energy : error;
    }
    ++samples_;
    if (on_sample_) on_sample_(samples_);
  }

  std::string output_name_;
  ThreadPool layout_threads_;
  Mode mode_ = Mode::kCount;
  std::function<void(size_t)> on_sample_;
  size_t samples_ = 0;
  double error_sum_ = 0.0;
  std::vector<Tensor> stored_;
};

// What distinguishes two candidates written from one preparation.
struct CandidateState {
  QuantizationPreset preset = QuantizationPreset::kPerformance;
  std::optional<RangeEstimator> estimator;
  std::set<std::string> returned;       // groups in FP32
  std::vector<std::string> order;       // the same, in the order they were returned
};

struct Evaluated {
  Model model;
  std::unique_ptr<Session> session;  // kept: the current model's session scores it on the ranking subset
  QuantizeSummary summary;
  double metric = 0;
  double drop = 0;
  double latency_ms = 0;
  std::vector<double> per_sample;
};

// A group's benefit when returned to FP32, measured on the ranking subset against the state it was
// scored on: the metric's gain, then the fall of the normalized output error (the tie-break).
struct RankedGroup {
  std::string name;
  double metric_gain = 0;
  double error_gain = 0;
  bool fresh = false;  // scored against the current state
};

// The most harmful group (the largest benefit) first; names break exact ties.
bool more_harmful(const RankedGroup& a, const RankedGroup& b) {
  const double key_a = std::round(a.metric_gain * kMetricKeySteps);
  const double key_b = std::round(b.metric_gain * kMetricKeySteps);
  if (key_a != key_b) return key_a > key_b;
  if (a.error_gain != b.error_gain) return a.error_gain > b.error_gain;
  return a.name < b.name;
}

struct SubsetScore {
  double metric = 0;
  double error = 0;  // mean normalized squared error of the first output against FP32
};

class AccuracyAwareRun {
 public:
  AccuracyAwareRun(const CalibrationData& calibration, const LabeledDataset& eval_set, const EvalOptions& eval_options,
                   const AccuracyAwareOptions& options)
      : calibration_(calibration), eval_set_(eval_set), eval_options_(eval_options), options_(options) {}

  AccuracyAwareResult run(Model fp32_model) {
    const Clock::time_point start = Clock::now();
    check(!metric_needs_reference(eval_options_.metric), "accuracy-aware quantization needs a label metric (top1, "
          "top5, ctc-char-accuracy, ctc-line-accuracy, text-det-hmean), not ", metric_name(eval_options_.metric));
    check(!eval_set_.samples.empty(), "evaluation set '", eval_set_.folder, "' holds no samples");
    check(options_.ranking_subset_size > 0, "the ranking subset size must be positive");
    check(options_.max_iterations >= 0, "the maximum number of iterations must not be negative, got ",
          options_.max_iterations);
    result_.metric_name = metric_name(eval_options_.metric);

    QuantizeOptions quantize = options_.quantize;
    quantize.progress = options_.progress;
    prepared_ = std::make_unique<PreparedQuantization>(prepare_quantization(fp32_model, calibration_, quantize));
    collect_groups();
    check(!fp32_model.graph.outputs.empty(), "the model has no outputs");
    tap_ = std::make_unique<OutputTap>(fp32_model.graph.outputs.front().name);
    latency_input_ = load_sample(eval_set_.samples.front());

    // 1. FP32 and DefaultQuantization.
    std::unique_ptr<Session> fp32_session = build_session(std::move(fp32_model));
    const EvalResult fp32 = evaluate_all(*fp32_session, "evaluate FP32");
    result_.fp32_metric = fp32.value;
    result_.fp32_latency_ms = latency_ms(*fp32_session);
    fp32_per_sample_ = per_sample_values(fp32);
    result_.budget = options_.relative_drop ? options_.max_drop * result_.fp32_metric : options_.max_drop;

    CandidateState state;
    state.preset = options_.quantize.preset;
    state.estimator = options_.quantize.activation_estimator;
    Evaluated current = evaluate_candidate(state, "evaluate DefaultQuantization");
    result_.default_metric = current.metric;
    record("default", "", current, true);

    std::string stop_reason;
    // 2. Other presets and range estimators.
    if (!within_budget(current.drop) && options_.tune_hyperparams) tune(state, current, stop_reason);
    // 3-6. Groups back to FP32.
    if (!within_budget(current.drop) && stop_reason.empty()) {
      select_ranking_subset(current, *fp32_session);
      return_groups(state, current, stop_reason);
    }
    fp32_session.reset();
    // 7. Fewer FP32 groups.
    if (within_budget(current.drop) && state.returned.size() > 0 && stop_reason.empty())
      requantize_groups(state, current, stop_reason);

    result_.model = std::move(current.model);
    result_.summary = std::move(current.summary);
    result_.metric = current.metric;
    result_.drop = current.drop;
    result_.latency_ms = current.latency_ms;
    result_.budget_met = within_budget(current.drop);
    result_.fp32_groups = state.order;
    result_.preset = state.preset;
    result_.activation_estimator = state.estimator.value_or(preset_default_estimator(state.preset));
    result_.settings = settings_name(state);
    result_.message = message(state, stop_reason);
    result_.seconds = seconds_since(start);
    return std::move(result_);
  }

 private:
  bool within_budget(double drop) const { return drop <= result_.budget + kDropTolerance; }
  bool cancelled() const { return options_.cancelled && options_.cancelled(); }

  void progress(const std::string& stage, size_t done, size_t total) const {
    if (options_.progress) options_.progress(stage, done, total);
  }

  // The revertible units of the full plan, in graph order: weighted ops (attention MatMuls included)
  // and quantized Adds. Data movement follows them.
  void collect_groups() {
    const QuantizationPlan& plan = prepared_->plan;
    std::set<std::string> weighted;
    for (const QuantizedWeightedOp& op : plan.weighted_ops) weighted.insert(op.node_name);
    for (const Node& node : prepared_->model.graph.nodes) {
      if (!plan.quantized_nodes.count(node.name)) continue;
      if (weighted.count(node.name) || node.op_type == "MatMul" || node.op_type == "Add") groups_.push_back(node.name);
    }
    result_.group_count = groups_.size();
  }

  // The groups still quantized in `state` (a returned group can take others with it: an Add whose
  // input is now read in FP32 stays FP32).
  std::vector<std::string> quantized_groups(const CandidateState& state) const {
    PlanOptions plan_options;
    plan_options.ignored = options_.quantize.ignored;
    plan_options.ignored.insert(state.returned.begin(), state.returned.end());
    const QuantizationPlan plan = plan_quantization(prepared_->model.graph, plan_options);
    std::vector<std::string> names;
    for (const std::string& group : groups_)
      if (plan.quantized_nodes.count(group)) names.push_back(group);
    return names;
  }

  Tensor load_sample(const LabeledSample& sample) const {
    return eval_options_.preprocess ? load_image_sample(sample.path, *eval_options_.preprocess) : load_npy(sample.path);
  }

  std::unique_ptr<Session> build_session(Model model) {
    SessionOptions session_options;
    session_options.threads = options_.quantize.threads;
    session_options.node_observer = tap_->observer();
    return std::make_unique<Session>(std::move(model), session_options);
  }

  EvalResult evaluate_all(Session& session, const std::string& stage) {
    const size_t total = eval_set_.samples.size();
    tap_->start(OutputTap::Mode::kCount, [&](size_t done) { progress(stage, done, total); });
    EvalResult result = evaluate(session, eval_set_, eval_options_);
    check_tapped(total);
    return result;
  }

  void check_tapped(size_t expected) const {
    check(tap_->samples() == expected, "accuracy-aware quantization: saw the model output on ", tap_->samples(),
          " of ", expected, " samples");
  }

  static std::vector<double> per_sample_values(const EvalResult& result) {
    std::vector<double> values;
    for (const SampleResult& sample : result.per_sample) values.push_back(sample.value);
    return values;
  }

  double latency_ms(Session& session) {
    const std::string& input = session.inputs().front().name;
    tap_->start(OutputTap::Mode::kCount);
    for (int i = 0; i < kLatencyWarmupRuns; ++i) session.run({{input, &latency_input_}});
    std::vector<double> times;
    for (int i = 0; i < kLatencyRuns; ++i) {
      const Clock::time_point start = Clock::now();
      session.run({{input, &latency_input_}});
      times.push_back(seconds_since(start) * 1e3);
    }
    std::nth_element(times.begin(), times.begin() + kLatencyRuns / 2, times.end());
    return times[kLatencyRuns / 2];
  }

  QuantizeOptions quantize_options(const CandidateState& state) const {
    QuantizeOptions quantize = options_.quantize;
    quantize.preset = state.preset;
    quantize.activation_estimator = state.estimator;
    quantize.progress = options_.progress;
    return quantize;
  }

  Evaluated evaluate_candidate(const CandidateState& state, const std::string& stage) {
    Evaluated evaluated;
    evaluated.model =
        write_quantized_model(*prepared_, quantize_options(state), state.returned, &evaluated.summary, kReturnedReason);
    evaluated.session = build_session(as_saved(evaluated.model));
    const EvalResult result = evaluate_all(*evaluated.session, stage);
    evaluated.metric = result.value;
    evaluated.drop = result_.fp32_metric - result.value;
    evaluated.latency_ms = latency_ms(*evaluated.session);
    evaluated.per_sample = per_sample_values(result);
    return evaluated;
  }

  void record(const std::string& kind, const std::string& group, const Evaluated& evaluated, bool kept) {
    AccuracyAwareIteration iteration;
    iteration.kind = kind;
    iteration.group = group;
    iteration.metric = evaluated.metric;
    iteration.drop = evaluated.drop;
    iteration.latency_ms = evaluated.latency_ms;
    iteration.kept = kept;
    result_.iterations.push_back(iteration);
    if (options_.on_iteration) options_.on_iteration(iteration);
  }

  static std::string settings_name(const CandidateState& state) {
    return concat("preset ", preset_name(state.preset), ", range estimator ",
                  range_estimator_name(state.estimator.value_or(preset_default_estimator(state.preset))));
  }

  // Every preset x range estimator on the same statistics; the smallest drop wins (the first on a tie:
  // the user's settings).
  void tune(CandidateState& state, Evaluated& current, std::string& stop_reason) {
    const RangeEstimator initial = state.estimator.value_or(preset_default_estimator(state.preset));
    std::vector<CandidateState> candidates;
    for (const QuantizationPreset preset : {QuantizationPreset::kPerformance, QuantizationPreset::kMixed}) {
      for (const RangeEstimator estimator : {RangeEstimator::kPerformance, RangeEstimator::kMeanMinMax,
                                             RangeEstimator::kMinMax, RangeEstimator::kQuantile, RangeEstimator::kMse}) {
        if (preset == state.preset && estimator == initial) continue;
        CandidateState candidate = state;
        candidate.preset = preset;
        candidate.estimator = estimator;
        candidates.push_back(candidate);
      }
    }
    for (const CandidateState& candidate : candidates) {
      if (cancelled()) {
        stop_reason = "cancelled";
        return;
      }
      Evaluated evaluated = evaluate_candidate(candidate, "tune " + settings_name(candidate));
      const bool better = evaluated.drop < current.drop - kDropTolerance;
      record("tune", settings_name(candidate), evaluated, better);
      if (better) {
        state = candidate;
        current = std::move(evaluated);
      }
      if (within_budget(current.drop)) return;
    }
  }

  // POT's ranking subset: the samples where the current INT8 model is worst relative to FP32 (the
  // largest per-sample loss first, file order on ties). Their FP32 outputs are kept for ranking.
  void select_ranking_subset(const Evaluated& current, Session& fp32_session) {
    std::vector<size_t> order(eval_set_.samples.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return current.per_sample[a] - fp32_per_sample_[a] < current.per_sample[b] - fp32_per_sample_[b];
    });
    order.resize(std::min(order.size(), options_.ranking_subset_size));
    std::sort(order.begin(), order.end());
    ranking_set_.folder = eval_set_.folder;
    for (const size_t index : order) ranking_set_.samples.push_back(eval_set_.samples[index]);
    const size_t total = ranking_set_.samples.size();
    tap_->start(OutputTap::Mode::kStore, [&](size_t done) { progress("FP32 outputs of the ranking subset", done, total); });
    evaluate(fp32_session, ranking_set_, eval_options_);
    check_tapped(total);
  }

  // The ranking subset's metric and output error of a session's model.
  SubsetScore score_on_ranking_subset(Session& session) {
    tap_->start(OutputTap::Mode::kCompare);
    const EvalResult result = evaluate(session, ranking_set_, eval_options_);
    check_tapped(ranking_set_.samples.size());
    return {result.value, tap_->mean_error()};
  }

  // `group` returned to FP32 on top of `state`, against `baseline` (the score of `state`).
  RankedGroup score_group(const CandidateState& state, const SubsetScore& baseline, const std::string& group) {
    std::set<std::string> returned = state.returned;
    returned.insert(group);
    const std::unique_ptr<Session> session =
        build_session(as_saved(write_quantized_model(*prepared_, quantize_options(state), returned)));
    const SubsetScore score = score_on_ranking_subset(*session);
    return {group, score.metric - baseline.metric, baseline.error - score.error, true};
  }

  // The groups still quantized in `state` and not excluded, each returned to FP32 alone on top of
  // `state` and scored on the ranking subset; the most harmful first.
  std::vector<RankedGroup> rank(const CandidateState& state, Evaluated& current, const std::set<std::string>& excluded,
                                std::string& stop_reason) {
    std::vector<std::string> candidates;
    for (const std::string& group : quantized_groups(state))
      if (!excluded.count(group)) candidates.push_back(group);
    progress("ranking groups", 0, candidates.size());
    const SubsetScore baseline = score_on_ranking_subset(*current.session);
    std::vector<RankedGroup> ranked;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (cancelled()) {
        stop_reason = "cancelled";
        return {};
      }
      ranked.push_back(score_group(state, baseline, candidates[i]));
      progress("ranking groups", i + 1, candidates.size());
    }
    std::sort(ranked.begin(), ranked.end(), more_harmful);
    return ranked;
  }

  // Ranks `ranking` again against `state`, lazily (Minoux's lazy greedy): returning other groups to
  // FP32 only shrinks what returning one more can recover (diminishing returns), so a group's older
  // gain bounds its gain now. Re-scoring the top entry until the top one is fresh finds the group a
  // full re-ranking would put first, usually with a few evaluations instead of one per group. The
  // entries below it keep their older order.
  void rerank(const CandidateState& state, Evaluated& current, std::vector<RankedGroup>& ranking,
              std::string& stop_reason) {
    for (RankedGroup& group : ranking) group.fresh = false;
    const SubsetScore baseline = score_on_ranking_subset(*current.session);
    size_t rescored = 0;
    while (!ranking.empty()) {
      std::sort(ranking.begin(), ranking.end(), more_harmful);
      if (ranking.front().fresh) break;
      if (cancelled()) {
        stop_reason = "cancelled";
        return;
      }
      ranking.front() = score_group(state, baseline, ranking.front().name);
      progress("re-ranking groups (lazily, the top first)", ++rescored, ranking.size());
    }
  }

  // POT's greedy loop: return the most harmful group; keep it when the drop did not grow (the next
  // return follows the same ranking); otherwise undo it, exclude the group and rank the rest again.
  void return_groups(CandidateState& state, Evaluated& current, std::string& stop_reason) {
    std::set<std::string> excluded;
    int returns = 0;
    std::vector<RankedGroup> ranking = rank(state, current, excluded, stop_reason);
    while (stop_reason.empty() && !within_budget(current.drop)) {
      // Groups that earlier returns took out of the plan (e.g. an Add next to a returned conv) go.
      const std::vector<std::string> still_quantized = quantized_groups(state);
      const std::set<std::string> quantized(still_quantized.begin(), still_quantized.end());
      std::erase_if(ranking, [&](const RankedGroup& group) { return !quantized.count(group.name); });
      if (ranking.empty()) {
        bool left = false;
        for (const std::string& group : still_quantized) left |= !excluded.count(group);
        if (!left) {
          stop_reason = "every group was tried";
          break;
        }
        ranking = rank(state, current, excluded, stop_reason);
        continue;
      }
      if (options_.max_iterations > 0 && returns >= options_.max_iterations) {
        stop_reason = concat("the maximum of ", options_.max_iterations, " iterations was reached");
        break;
      }
      if (cancelled()) {
        stop_reason = "cancelled";
        break;
      }
      const std::string group = ranking.front().name;
      ranking.erase(ranking.begin());
      ++returns;
      CandidateState candidate = state;
      candidate.returned.insert(group);
      candidate.order.push_back(group);
      Evaluated evaluated = evaluate_candidate(candidate, "return " + group + " to FP32");
      const bool keep = evaluated.drop <= current.drop + kDropTolerance;
      record("revert", group, evaluated, keep);
      if (keep) {
        state = std::move(candidate);
        current = std::move(evaluated);
      } else {
        excluded.insert(group);
        rerank(state, current, ranking, stop_reason);
      }
    }
  }

  // With the budget met: each returned group back in INT8 (the last returned first), kept INT8 when
  // the budget still holds.
  void requantize_groups(CandidateState& state, Evaluated& current, std::string& stop_reason) {
    const std::vector<std::string> returned_order = state.order;
    for (auto group = returned_order.rbegin(); group != returned_order.rend(); ++group) {
      if (cancelled()) {
        stop_reason = "cancelled";
        return;
      }
      CandidateState candidate = state;
      candidate.returned.erase(*group);
      candidate.order.erase(std::find(candidate.order.begin(), candidate.order.end(), *group));
      Evaluated evaluated = evaluate_candidate(candidate, "try " + *group + " in INT8 again");
      const bool keep = within_budget(evaluated.drop);
      record("requantize", *group, evaluated, keep);
      if (keep) {
        state = std::move(candidate);
        current = std::move(evaluated);
      }
    }
  }

  std::string message(const CandidateState& state, const std::string& stop_reason) const {
    const std::string groups = concat(state.returned.size(), " of ", groups_.size(), " groups in FP32");
    const std::string drop = concat("drop ", format_number(result_.drop), " (budget ", format_number(result_.budget), ")");
    if (result_.budget_met) {
      std::string text = concat("budget met: ", drop, " with ", groups);
      if (!stop_reason.empty()) text += concat(" (stopped early: ", stop_reason, ")");
      return text;
    }
    return concat("budget not met: best ", drop, " with ", groups, "; stopped: ",
                  stop_reason.empty() ? "no group left to return" : stop_reason);
  }

  const CalibrationData& calibration_;
  const LabeledDataset& eval_set_;
  const EvalOptions& eval_options_;
  const AccuracyAwareOptions& options_;
  std::unique_ptr<PreparedQuantization> prepared_;
  std::vector<std::string> groups_;
  std::unique_ptr<OutputTap> tap_;
  Tensor latency_input_;
  std::vector<double> fp32_per_sample_;
  LabeledDataset ranking_set_;
  AccuracyAwareResult result_;
};

nlohmann::ordered_json json_number(double value) {
  if (std::isfinite(value)) return value;
  return nullptr;
}

}  // namespace

AccuracyAwareResult quantize_accuracy_aware(Model model, const CalibrationData& calibration,
                                            const LabeledDataset& eval_set, const EvalOptions& eval_options,
                                            const AccuracyAwareOptions& options) {
  return AccuracyAwareRun(calibration, eval_set, eval_options, options).run(std::move(model));
}

nlohmann::ordered_json accuracy_aware_report_json(const AccuracyAwareResult& result) {
  nlohmann::ordered_json iterations = nlohmann::ordered_json::array();
  for (size_t i = 0; i < result.iterations.size(); ++i) {
    const AccuracyAwareIteration& iteration = result.iterations[i];
    iterations.push_back({{"step", i},
                          {"kind", iteration.kind},
                          {"group", iteration.group},
                          {"metric", json_number(iteration.metric)},
                          {"drop", json_number(iteration.drop)},
                          {"latency_ms", json_number(iteration.latency_ms)},
                          {"kept", iteration.kept}});
  }
  return {{"algorithm", "AccuracyAwareQuantization"},
          {"metric_name", result.metric_name},
          {"fp32_metric", json_number(result.fp32_metric)},
          {"default_metric", json_number(result.default_metric)},
          {"metric", json_number(result.metric)},
          {"drop", json_number(result.drop)},
          {"budget", json_number(result.budget)},
          {"budget_met", result.budget_met},
          {"message", result.message},
          {"fp32_groups", result.fp32_groups},
          {"group_count", result.group_count},
          {"settings", result.settings},
          {"fp32_latency_ms", json_number(result.fp32_latency_ms)},
          {"latency_ms", json_number(result.latency_ms)},
          {"seconds", json_number(result.seconds)},
          {"iterations", iterations}};
}

}  // namespace octet
