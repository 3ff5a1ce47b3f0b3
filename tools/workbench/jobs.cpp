#include "jobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include "core/thread_pool.h"
#include "eval/evaluate.h"
#include "inspection.h"
#include "onnx/onnx_io.h"
#include "paths.h"
#include "pot_config.h"
#include "quant/accuracy_aware.h"
#include "quant/calibration.h"
#include "quant/quantize.h"
#include "runtime/benchmark.h"
#include "runtime/input_shape_text.h"
#include "runtime/session.h"

namespace octet::workbench {

namespace fs = std::filesystem;

namespace {

// Accuracy jobs evaluate this many samples per library call, reporting progress (and honouring a
// cancel) in between; metrics whose value is not a mean of per-sample values run in one call.
constexpr size_t kEvaluationChunk = 8;
// The per-node profile of a benchmark needs fewer inferences than the latency figures.
constexpr double kMaxProfileSeconds = 1.0;
// A benchmark's timed phase runs in slices this long, with progress and a cancel check in between.
constexpr double kBenchmarkSliceSeconds = 0.5;
constexpr double kDefaultBenchmarkSeconds = 2.0;
constexpr int64_t kMaxGridPoints = 64;

// ---- Parameters -----------------------------------------------------------------------------------

// Reads params: every key must be one of `known`; getters treat null like an absent key.
class Params {
 public:
  Params(const Json& params, const std::string& job_type, const std::set<std::string>& known) : params_(params) {
    check(params.is_object() || params.is_null(), "params must be a JSON object");
    if (params.is_null()) return;
    for (const auto& [key, value] : params.items()) {
      if (known.count(key)) continue;
      std::string names;
      for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
      throw Error(concat("params: unknown key \"", key, "\" for a ", job_type, " job (expected ", names, ")"));
    }
  }

  bool has(const std::string& key) const {
    return params_.is_object() && params_.contains(key) && !params_.at(key).is_null();
  }
  const Json& at(const std::string& key) const { return params_.at(key); }

  int64_t integer(const std::string& key, int64_t fallback, int64_t minimum, int64_t maximum) const {
    if (!has(key)) return fallback;
    const Json& value = at(key);
    check(value.is_number_integer(), "params.", key, " must be an integer, got ", value.dump());
    const int64_t number = value.get<int64_t>();
    check(number >= minimum && number <= maximum, "params.", key, " must be in [", minimum, ", ", maximum, "], got ",
          number);
    return number;
  }
  std::optional<int64_t> optional_id(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    return integer(key, 0, 1, INT64_MAX);
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const Json& value = at(key);
    check(value.is_number() && std::isfinite(value.get<double>()), "params.", key, " must be a number, got ",
          value.dump());
    return value.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    check(at(key).is_boolean(), "params.", key, " must be true or false, got ", at(key).dump());
    return at(key).get<bool>();
  }
  std::string text(const std::string& key, const std::string& fallback = "") const {
    if (!has(key)) return fallback;
    check(at(key).is_string(), "params.", key, " must be a string, got ", at(key).dump());
    return at(key).get<std::string>();
  }
  // A list of strings, or one string of comma-separated entries.
  std::vector<std::string> text_list(const std::string& key) const {
    std::vector<std::string> entries;
    if (!has(key)) return entries;
    const Json& value = at(key);
    if (value.is_string()) {
      std::string entry;
      for (const char c : value.get<std::string>() + ",") {
        if (c != ',') {
          entry += c;
          continue;
        }
        const size_t first = entry.find_first_not_of(' ');
        if (first != std::string::npos) entries.push_back(entry.substr(first, entry.find_last_not_of(' ') - first + 1));
        entry.clear();
      }
      return entries;
    }
    check(value.is_array(), "params.", key, " must be a list of strings, got ", value.dump());
    for (const Json& entry : value) {
      check(entry.is_string() && !entry.get<std::string>().empty(), "params.", key,
            " entries must be non-empty strings, got ", entry.dump());
      entries.push_back(entry.get<std::string>());
    }
    return entries;
  }

 private:
  const Json& params_;
};

struct BenchmarkParams {
  std::map<std::string, Shape> shapes;
  int threads = 1;
  double seconds = kDefaultBenchmarkSeconds;
  int64_t batch = 1;
  int streams = 1;
  std::vector<int64_t> grid_batches;
  std::vector<int> grid_streams;
  bool profile = true;
};

BenchmarkParams parse_benchmark_params(const Json& json) {
  const Params params(json, "benchmark", {"shape", "threads", "time_s", "batch", "streams", "grid", "profile"});
  BenchmarkParams result;
  if (params.has("shape")) result.shapes = parse_shape_parameter(params.at("shape"), "params.shape");
  result.threads = static_cast<int>(params.integer("threads", ThreadPool::core_count(), 1, 1024));
  result.seconds = params.number("time_s", kDefaultBenchmarkSeconds);
  check(result.seconds > 0 && result.seconds <= 600, "params.time_s must be in (0, 600] seconds, got ", result.seconds);
  result.batch = params.integer("batch", 1, 1, 4096);
  result.streams = static_cast<int>(params.integer("streams", 1, 1, result.threads));
  result.profile = params.boolean("profile", true);
  if (params.has("grid")) {
    const Json& grid = params.at("grid");
    check(grid.is_object(), "params.grid must be {\"batches\": [...], \"streams\": [...]}");
    for (const auto& [key, values] : grid.items()) {
      check(key == "batches" || key == "streams", "params.grid: unknown key \"", key, "\" (expected batches, streams)");
      check(values.is_array() && !values.empty(), "params.grid.", key, " must be a non-empty list of integers");
      for (const Json& value : values) {
        check(value.is_number_integer() && value.get<int64_t>() >= 1, "params.grid.", key,
              " entries must be positive integers, got ", value.dump());
        if (key == "batches") {
          check(value.get<int64_t>() <= 4096, "params.grid.batches: ", value.get<int64_t>(), " is above 4096");
          result.grid_batches.push_back(value.get<int64_t>());
        } else {
          check(value.get<int64_t>() <= result.threads, "params.grid.streams: ", value.get<int64_t>(),
                " streams exceed the ", result.threads, " threads");
          result.grid_streams.push_back(static_cast<int>(value.get<int64_t>()));
        }
      }
    }
    if (result.grid_batches.empty()) result.grid_batches = {result.batch};
    if (result.grid_streams.empty()) result.grid_streams = {result.streams};
    check(static_cast<int64_t>(result.grid_batches.size() * result.grid_streams.size()) <= kMaxGridPoints,
          "params.grid: more than ", kMaxGridPoints, " points");
  }
  return result;
}

struct AccuracyParams {
  MetricKind metric = MetricKind::kTop1;
  std::string dictionary;
  std::vector<std::string> classes;
  std::optional<int64_t> dataset_id;
  std::optional<int64_t> reference_model_id;
  int threads = 0;
};

AccuracyParams parse_accuracy_params(const Json& json) {
  const Params params(json, "accuracy", {"metric", "dict", "classes", "dataset_id", "reference_model_id", "threads"});
  AccuracyParams result;
  check(params.has("metric"), "params.metric is required (", [] {
    std::string names;
    for (const std::string& name : metric_names()) names += (names.empty() ? "" : ", ") + name;
    return names;
  }(), ")");
  result.metric = parse_metric_name(params.text("metric"));
  result.dictionary = params.text("dict");
  check(!metric_needs_dictionary(result.metric) || !result.dictionary.empty(), "params.dict: metric ",
        metric_name(result.metric), " needs the recognizer's character dictionary (an absolute path)");
  if (!result.dictionary.empty()) user_file(result.dictionary, "params.dict");
  result.classes = params.text_list("classes");
  result.dataset_id = params.optional_id("dataset_id");
  result.reference_model_id = params.optional_id("reference_model_id");
  result.threads = static_cast<int>(params.integer("threads", 0, 0, 1024));
  return result;
}

struct QuantizeParams {
  std::string algorithm = "default";
  QuantizeOptions options;
  int64_t subset = kDefaultCalibrationSubsetSize;
  // accuracy-aware only
  AccuracyParams evaluation;  // metric, dict, classes, threads; dataset_id is eval_dataset_id
  double max_drop = 0.01;
  bool relative_drop = false;
  int64_t ranking_subset = 300;
  int64_t max_iterations = 0;
  bool tune_hyperparams = false;
};

QuantizeParams parse_quantize_params(const Json& json) {
  static const std::set<std::string> kAccuracyAwareKeys = {"metric", "dict", "classes", "max_drop", "drop_type",
                                                           "eval_dataset_id", "ranking_subset", "max_iterations",
                                                           "tune_hyperparams"};
  std::set<std::string> known = {"algorithm", "preset", "subset", "ignored", "range_estimator", "threads"};
  known.insert(kAccuracyAwareKeys.begin(), kAccuracyAwareKeys.end());
  const Params params(json, "quantize", known);
  QuantizeParams result;
  result.algorithm = params.text("algorithm", "default");
  check(result.algorithm == "default" || result.algorithm == "accuracy-aware", "params.algorithm \"", result.algorithm,
        "\" is unknown (expected default, accuracy-aware)");
  if (params.has("preset")) result.options.preset = parse_preset(params.text("preset"));
  result.subset = params.integer("subset", kDefaultCalibrationSubsetSize, 1, 100000);
  for (const std::string& entry : params.text_list("ignored")) result.options.ignored.insert(entry);
  if (params.has("range_estimator") && !params.text("range_estimator").empty())
    result.options.activation_estimator = parse_range_estimator(params.text("range_estimator"));
  result.options.threads = static_cast<int>(params.integer("threads", 0, 0, 1024));
  if (result.algorithm == "default") {
    for (const std::string& key : kAccuracyAwareKeys)
      check(!params.has(key), "params.", key, " is only used by the accuracy-aware algorithm");
    return result;
  }
  Json evaluation = Json::object();
  for (const char* key : {"metric", "dict", "classes", "threads"})
    if (params.has(key)) evaluation[key] = params.at(key);
  if (params.has("eval_dataset_id")) evaluation["dataset_id"] = params.at("eval_dataset_id");
  result.evaluation = parse_accuracy_params(evaluation);
  check(!metric_needs_reference(result.evaluation.metric), "params.metric: accuracy-aware quantization needs a label "
        "metric (top1, top5, ctc-char-accuracy, ctc-line-accuracy, text-det-hmean), not ",
        metric_name(result.evaluation.metric));
  result.max_drop = params.number("max_drop", 0.01);
  const std::string drop_type = params.text("drop_type", "absolute");
  check(drop_type == "absolute" || drop_type == "relative", "params.drop_type \"", drop_type,
        "\" is unknown (expected absolute, relative)");
  result.relative_drop = drop_type == "relative";
  result.ranking_subset = params.integer("ranking_subset", 300, 1, 100000);
  result.max_iterations = params.integer("max_iterations", 0, 0, 100000);
  result.tune_hyperparams = params.boolean("tune_hyperparams", false);
  return result;
}

// ---- Shared -----------------------------------------------------------------------------------------

struct JobSubjects {
  ModelRecord model;
  ProjectRecord project;
  DatasetRecord dataset;
};

JobSubjects job_subjects(const JobRecord& job, Database& database) {
  JobSubjects subjects;
  const auto model = database.find_model(job.model_id);
  check(model.has_value(), "model ", job.model_id, " does not exist");
  const auto project = database.find_project(job.project_id);
  check(project.has_value(), "project ", job.project_id, " does not exist");
  const auto dataset = database.find_dataset(project->dataset_id);
  check(dataset.has_value(), "data set ", project->dataset_id, " of project ", project->id, " does not exist");
  return {*model, *project, *dataset};
}

Json latency_json(const LatencySummary& latency) {
  return {{"median", latency.median}, {"p90", latency.p90}, {"min", latency.min}, {"max", latency.max},
          {"mean", latency.mean}};
}

Json shapes_json(const std::map<std::string, Shape>& shapes) {
  Json json = Json::object();
  for (const auto& [name, shape] : shapes) json[name] = shape;
  return json;
}

// Infinity (sqnr of identical outputs) is not a JSON number.
Json json_number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

// ---- Benchmark ------------------------------------------------------------------------------------

// Benchmarks the model with `streams` sessions. The timed phase runs as run_benchmark calls of at
// most kBenchmarkSliceSeconds on the same sessions (warm-up in the first only), merged, so that a
// long measurement reports progress through `tick(seconds measured)` and stops when it throws
// (a cancel). A profiled run is one call.
BenchmarkResult measure(const std::string& model_path, const std::map<std::string, Shape>& shapes, int64_t batch,
                        int streams, int threads, double seconds, bool profile,
                        const std::function<void(double)>& tick) {
  SessionOptions session_options;
  session_options.threads = std::max(1, threads / streams);
  session_options.profile = profile;
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session*> pointers;
  for (int stream = 0; stream < streams; ++stream) {
    sessions.push_back(Session::from_file(model_path, session_options));
    pointers.push_back(sessions.back().get());
  }
  BenchmarkOptions options;
  options.input_shapes = shapes;
  options.batch = batch;
  if (profile) {
    options.min_seconds = seconds;
    BenchmarkResult result = run_benchmark(pointers, options);
    tick(result.total_seconds);
    return result;
  }
  BenchmarkResult merged;
  bool first = true;
  while (first || merged.total_seconds < seconds) {
    options.min_seconds = std::min(kBenchmarkSliceSeconds, seconds - merged.total_seconds);
    BenchmarkResult slice = run_benchmark(pointers, options);
    if (first) {
      merged = std::move(slice);
      options.warmup_iterations = 0;
      options.min_iterations = 1;
      first = false;
    } else {
      merged.latencies_ms.insert(merged.latencies_ms.end(), slice.latencies_ms.begin(), slice.latencies_ms.end());
      merged.iterations += slice.iterations;
      merged.total_seconds += slice.total_seconds;
      merged.peak_resident_bytes = std::max(merged.peak_resident_bytes, slice.peak_resident_bytes);
    }
    tick(merged.total_seconds);
  }
  merged.latency_ms = summarize_latencies(merged.latencies_ms);
  merged.throughput_fps = static_cast<double>(merged.batch * merged.iterations) / merged.total_seconds;
  return merged;
}

JobOutcome run_benchmark_job(const JobRecord& job, JobContext& context, const JobSubjects& subjects) {
  const BenchmarkParams params = parse_benchmark_params(job.params);
  std::map<std::string, Shape> shapes = params.shapes;
  if (shapes.empty()) {
    const Model model = load_model(subjects.model.path, {.check = false, .infer_shapes = false});
    shapes = sample_input_shapes(model.graph.inputs, subjects.dataset, subjects.project.preprocess);
  }
  // Progress in milliseconds of planned measurement over the whole job.
  const int64_t grid_points = static_cast<int64_t>(params.grid_batches.size() * params.grid_streams.size());
  const double profile_seconds = std::min(params.seconds, kMaxProfileSeconds);
  const auto planned_ms = [](double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000)); };
  const int64_t total_ms =
      planned_ms(params.seconds) * (1 + grid_points) + (params.profile ? planned_ms(profile_seconds) : 0);
  int64_t done_ms = 0;
  std::string stage;
  const auto tick = [&](double seconds) {
    context.report(stage, std::min(total_ms, done_ms + planned_ms(seconds)), total_ms);
  };

  stage = "latency";
  context.report(stage, done_ms, total_ms);
  const BenchmarkResult main =
      measure(subjects.model.path, shapes, params.batch, params.streams, params.threads, params.seconds, false, tick);
  done_ms += planned_ms(params.seconds);
  Json result = {{"input_shapes", shapes_json(main.input_shapes)},
                 {"threads", params.threads},
                 {"batch", main.batch},
                 {"streams", main.streams},
                 {"iterations", main.iterations},
                 {"latency_ms", latency_json(main.latency_ms)},
                 {"throughput_fps", main.throughput_fps},
                 {"peak_resident_bytes", main.peak_resident_bytes},
                 {"peak_activation_bytes", main.peak_activation_bytes}};

  Json grid = Json::array();
  Json best = {{"batch", main.batch}, {"streams", main.streams}, {"throughput_fps", main.throughput_fps}};
  double best_throughput = -1;
  for (const int64_t batch : params.grid_batches) {
    for (const int streams : params.grid_streams) {
      stage = concat("grid: batch ", batch, ", streams ", streams);
      context.report(stage, done_ms, total_ms);
      Json point = {{"batch", batch}, {"streams", streams}};
      try {
        const BenchmarkResult measured =
            measure(subjects.model.path, shapes, batch, streams, params.threads, params.seconds, false, tick);
        point["latency_ms"] = measured.latency_ms.median;
        point["throughput_fps"] = measured.throughput_fps;
        if (measured.throughput_fps > best_throughput) {
          best_throughput = measured.throughput_fps;
          best = {{"batch", batch}, {"streams", streams}, {"throughput_fps", measured.throughput_fps}};
        }
      } catch (const Error& error) {
        // One impossible point (a batch the model's fixed first dimension refuses) does not sink the grid.
        point["latency_ms"] = nullptr;
        point["throughput_fps"] = nullptr;
        point["error"] = error.what();
      }
      grid.push_back(point);
      done_ms += planned_ms(params.seconds);
    }
  }
  result["grid"] = grid;
  result["best"] = best;

  Json profile = Json::array();
  if (params.profile) {
    stage = "profile";
    context.report(stage, done_ms, total_ms);
    const BenchmarkResult profiled =
        measure(subjects.model.path, shapes, params.batch, 1, params.threads, profile_seconds, true, tick);
    double node_total_ms = 0;
    for (const NodeProfile& node : profiled.node_profile) node_total_ms += node.mean_ms;
    for (const NodeProfile& node : profiled.node_profile) {
      profile.push_back({{"node", node.node_name},
                         {"op_type", node.op_type},
                         {"kernel", node.detail.empty() ? node.implementation : node.implementation + " " + node.detail},
                         {"precision", is_int8_op_type(node.op_type) ? "int8" : "fp32"},
                         {"time_ms", node.mean_ms},
                         {"share", node_total_ms > 0 ? node.mean_ms / node_total_ms : 0.0}});
    }
  }
  context.report("done", total_ms, total_ms);
  result["profile"] = profile;
  return {result, std::nullopt};
}

// ---- Accuracy -------------------------------------------------------------------------------------

// Whether the metric's data set value is the mean of its per-sample values (or, for text-det-hmean,
// follows from summed per-sample counts), so that evaluating in chunks gives the same number.
bool metric_splits_into_chunks(MetricKind metric) {
  return metric != MetricKind::kSqnr && metric != MetricKind::kTop1Agreement;
}

// What evaluate() needs for a data set of the project: the samples, and the options pointing at the
// preprocessing and dictionary held here.
struct Evaluation {
  DatasetRecord dataset;
  LabeledDataset labeled;
  PreprocessSpec preprocess;
  std::unique_ptr<CtcDictionary> dictionary;
  EvalOptions options;
};

void prepare_evaluation(const AccuracyParams& params, const JobSubjects& subjects, Database& database,
                        Evaluation& evaluation) {
  evaluation.dataset = subjects.dataset;
  if (params.dataset_id) {
    const auto chosen = database.find_dataset(*params.dataset_id);
    check(chosen.has_value(), "data set ", *params.dataset_id, " does not exist");
    evaluation.dataset = *chosen;
  }
  const DatasetRecord& dataset = evaluation.dataset;
  check(dataset.has_labels, "data set ", dataset.id, " ('", dataset.name, "') has no labels.tsv");
  const bool images = dataset.kind == "images";
  check(!images || !subjects.project.preprocess.empty(), "data set ", dataset.id, " holds images but project ",
        subjects.project.id, " has no preprocess spec");
  evaluation.options.metric = params.metric;
  evaluation.options.class_names = params.classes;
  if (images) {
    evaluation.preprocess = parse_preprocess_spec(subjects.project.preprocess);
    evaluation.options.preprocess = &evaluation.preprocess;
  }
  if (!params.dictionary.empty()) {
    evaluation.dictionary = std::make_unique<CtcDictionary>(CtcDictionary::from_file(params.dictionary));
    evaluation.options.dictionary = evaluation.dictionary.get();
  }
  evaluation.labeled = load_labeled_dataset(dataset.path, images ? SampleFormat::kImage : SampleFormat::kNpy);
}

JobOutcome run_accuracy_job(const JobRecord& job, JobContext& context, const JobSubjects& subjects,
                            Database& database) {
  const AccuracyParams params = parse_accuracy_params(job.params);
  context.report("loading", 0, 1);
  Evaluation evaluation;
  prepare_evaluation(params, subjects, database, evaluation);
  const DatasetRecord& dataset = evaluation.dataset;
  const LabeledDataset& labeled = evaluation.labeled;
  EvalOptions& options = evaluation.options;
  SessionOptions session_options;
  session_options.threads = params.threads;
  const std::unique_ptr<Session> session = Session::from_file(subjects.model.path, session_options);
  std::unique_ptr<Session> reference;
  int64_t reference_id = 0;
  if (metric_needs_reference(params.metric)) {
    reference_id = params.reference_model_id.value_or(subjects.project.model_id);
    const auto reference_model = database.find_model(reference_id);
    check(reference_model.has_value(), "params.reference_model_id: model ", reference_id, " does not exist");
    reference = Session::from_file(reference_model->path, session_options);
    options.reference = reference.get();
  }

  const size_t sample_count = labeled.samples.size();
  const size_t chunk = metric_splits_into_chunks(params.metric) ? kEvaluationChunk : sample_count;
  double value_sum = 0;
  DetectionCounts detection_totals;
  EvalResult last;
  for (size_t start = 0; start < sample_count; start += chunk) {
    context.report("evaluating", static_cast<int64_t>(start), static_cast<int64_t>(sample_count));
    LabeledDataset part;
    part.folder = labeled.folder;
    part.samples.assign(labeled.samples.begin() + static_cast<std::ptrdiff_t>(start),
                        labeled.samples.begin() + static_cast<std::ptrdiff_t>(std::min(sample_count, start + chunk)));
    last = evaluate(*session, part, options);
    // The library sums per-sample values in sample order: summing them here in the same order gives
    // the same double as one evaluate() over the whole set.
    for (const SampleResult& sample : last.per_sample) value_sum += sample.value;
    if (last.detection_totals) detection_totals.add(*last.detection_totals);
  }
  context.report("evaluating", static_cast<int64_t>(sample_count), static_cast<int64_t>(sample_count));
  double value = last.value;
  if (chunk != sample_count) {
    value = params.metric == MetricKind::kTextDetHmean ? dataset_detection_scores(detection_totals).hmean
                                                       : value_sum / static_cast<double>(sample_count);
  }
  Json result = {{"metric", metric_name(params.metric)},
                 {"value", json_number(value)},
                 {"samples", static_cast<int64_t>(sample_count)},
                 {"dataset_id", dataset.id}};
  if (reference) result["reference_model_id"] = reference_id;
  if (!params.classes.empty()) result["classes"] = params.classes;
  if (params.metric == MetricKind::kTextDetHmean) {
    const DetectionScores scores = dataset_detection_scores(detection_totals);
    result["precision"] = scores.precision;
    result["recall"] = scores.recall;
  }
  return {result, std::nullopt};
}

// ---- Quantize -------------------------------------------------------------------------------------

// "'name' (OpType)" (Node::describe) -> "name"
std::string node_name_of(const std::string& described) {
  const size_t open = described.rfind(" (");
  std::string name = open == std::string::npos ? described : described.substr(0, open);
  if (name.size() >= 2 && name.front() == '\'' && name.back() == '\'') name = name.substr(1, name.size() - 2);
  return name;
}

Json summary_json(const QuantizeSummary& summary, int64_t size_before, int64_t size_after, double seconds) {
  Json fp32 = Json::array();
  for (const auto& [node, reason] : summary.fp32_nodes)
    fp32.push_back({{"node", node_name_of(node)}, {"described", node}, {"reason", reason}});
  Json quantized_nodes = Json::array();
  for (const std::string& node : summary.quantized_nodes) quantized_nodes.push_back(node_name_of(node));
  Json fused = Json::array();
  for (const std::string& node : summary.fused_activations) fused.push_back(node_name_of(node));
  return {{"quantized", quantized_nodes},
          {"fp32", fp32},
          {"fused", fused},
          {"notes", summary.notes},
          {"calibration_samples", static_cast<int64_t>(summary.calibration_samples)},
          {"size_before", size_before},
          {"size_after", size_after},
          {"seconds", seconds}};
}

JobOutcome run_quantize_job(const JobRecord& job, JobContext& context, const JobSubjects& subjects,
                            Database& database, const Workspace& workspace) {
  QuantizeParams params = parse_quantize_params(job.params);
  const auto start = std::chrono::steady_clock::now();
  const std::string& preprocess = subjects.project.preprocess;
  context.report("loading", 0, 1);
  const CalibrationData data = preprocess.empty() ? CalibrationData(subjects.dataset.path, params.subset)
                                                  : CalibrationData(subjects.dataset.path, params.subset, preprocess);
  Model model = load_model(subjects.model.path);
  const Model original = model;  // for the configuration: node names as the file has them
  QuantizeSummary summary;
  Model quantized;
  Json accuracy_aware_report;
  // The configuration that writes this model again with `octet quantize --config`: for an
  // accuracy-aware run, DefaultQuantization with the settings it chose and its FP32 groups ignored.
  QuantizeOptions reproducing = params.options;
  if (params.algorithm == "default") {
    params.options.progress = [&context](const std::string& stage, size_t done, size_t total) {
      context.report(stage, static_cast<int64_t>(done), static_cast<int64_t>(total));
    };
    quantized = quantize_model(std::move(model), data, params.options, &summary);
  } else {
    Evaluation evaluation;
    prepare_evaluation(params.evaluation, subjects, database, evaluation);
    AccuracyAwareOptions options;
    options.quantize = params.options;
    options.max_drop = params.max_drop;
    options.relative_drop = params.relative_drop;
    options.ranking_subset_size = static_cast<size_t>(params.ranking_subset);
    options.max_iterations = static_cast<int>(params.max_iterations);
    options.tune_hyperparams = params.tune_hyperparams;
    // The library stops at its next check when asked; progress callbacks only record.
    options.progress = [&context](const std::string& stage, size_t done, size_t total) {
      context.record(stage, static_cast<int64_t>(done), static_cast<int64_t>(total));
    };
    options.cancelled = [&context] { return context.cancel_requested(); };
    AccuracyAwareResult result =
        quantize_accuracy_aware(std::move(model), data, evaluation.labeled, evaluation.options, options);
    context.check_cancelled();
    quantized = std::move(result.model);
    summary = result.summary;
    accuracy_aware_report = accuracy_aware_report_json(result);
    reproducing.preset = result.preset;
    reproducing.activation_estimator = result.activation_estimator;
    reproducing.ignored.insert(result.fp32_groups.begin(), result.fp32_groups.end());
  }
  context.check_cancelled();
  const Json config = default_quantization_config(reproducing, params.subset, original);
  const std::string version_name =
      concat(subjects.model.name, params.algorithm == "default" ? " INT8" : " INT8 AA", " (job ", job.id, ")");

  // save_model writes a temporary file and renames it: a crash leaves no half-written model.
  const fs::path output = workspace.models_dir() / concat("job", job.id, "-int8.onnx");
  context.report("saving", 0, 1);
  save_model(quantized, output.string());
  const auto size_before = static_cast<int64_t>(fs::file_size(subjects.model.path));
  const auto size_after = static_cast<int64_t>(fs::file_size(output));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Json result = {{"model_id", nullptr},
                 {"algorithm", params.algorithm},
                 {"summary", summary_json(summary, size_before, size_after, seconds)},
                 {"config", config},
                 {"command", quantize_command_line(subjects.model.path, subjects.dataset.path, preprocess,
                                                   download_file_name(version_name, ".config.json"))}};
  if (!accuracy_aware_report.is_null()) result["report"] = accuracy_aware_report;
  ModelRecord version;
  version.name = version_name;
  version.path = output.string();
  version.project_id = subjects.project.id;
  version.parent_id = subjects.model.id;
  version.precision = "int8";
  version.size_bytes = size_after;
  version.config = config.dump(2) + "\n";
  version.owned = true;
  return {result, version};
}

}  // namespace

const std::vector<std::string>& job_types() {
  static const std::vector<std::string> types = {"benchmark", "accuracy", "quantize"};
  return types;
}

void validate_job_params(const std::string& type, const Json& params) {
  if (type == "benchmark") {
    parse_benchmark_params(params);
  } else if (type == "accuracy") {
    parse_accuracy_params(params);
  } else if (type == "quantize") {
    parse_quantize_params(params);
  } else {
    throw Error(concat("unknown job type \"", type, "\" (expected benchmark, accuracy, quantize)"));
  }
}

JobOutcome run_job(const JobRecord& job, JobContext& context, Database& database, const Workspace& workspace) {
  const JobSubjects subjects = job_subjects(job, database);
  if (job.type == "benchmark") return run_benchmark_job(job, context, subjects);
  if (job.type == "accuracy") return run_accuracy_job(job, context, subjects, database);
  if (job.type == "quantize") return run_quantize_job(job, context, subjects, database, workspace);
  throw Error(concat("unknown job type \"", job.type, "\""));
}

std::map<std::string, Shape> sample_input_shapes(const std::vector<ValueInfo>& inputs, const DatasetRecord& dataset,
                                                 const std::string& preprocess) {
  if (inputs.size() != 1) return {};
  const ValueInfo& input = inputs.front();
  const bool known = input.has_shape && std::all_of(input.dims.begin(), input.dims.end(),
                                                    [](const Dimension& dim) { return dim.is_known(); });
  if (known) return {};
  try {
    const bool images = dataset.kind == "images";
    if (images && preprocess.empty()) return {};
    const CalibrationData data = images ? CalibrationData(dataset.path, 1, preprocess) : CalibrationData(dataset.path, 1);
    return {{input.name, data.load(0, input).shape()}};
  } catch (const Error&) {
    return {};
  }
}

std::map<std::string, Shape> parse_shape_parameter(const Json& value, const std::string& what) {
  std::vector<std::string> entries;
  if (value.is_string()) {
    std::string entry;
    for (const char c : value.get<std::string>() + ",") {
      if (c == ',' || c == ' ') {
        if (!entry.empty()) entries.push_back(entry);
        entry.clear();
      } else {
        entry += c;
      }
    }
  } else {
    check(value.is_array(), what, " must be \"NAME=DIMS[,NAME=DIMS]\" or a list of such strings");
    for (const Json& entry : value) {
      check(entry.is_string(), what, " entries must be strings \"NAME=DIMS\", got ", entry.dump());
      entries.push_back(entry.get<std::string>());
    }
  }
  return parse_shape_assignments(entries, what);
}

}  // namespace octet::workbench
