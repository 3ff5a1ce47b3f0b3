// The workbench's job types, each a thin layer over the library functions the CLI calls:
//   benchmark  runtime/benchmark.h (run_benchmark, as `octet bench`), plus a batch x streams grid
//              and a per-node profile
//   accuracy   eval/evaluate.h (evaluate, as `octet eval`)
//   quantize   quant/quantize.h (quantize_model, as `octet quantize`); writes the INT8 model into
//              the workspace and records it as a new model version of the project
// Parameters and results are the JSON of tools/workbench/API.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "database.h"
#include "ir/graph.h"
#include "job_queue.h"
#include "octet/tensor.h"
#include "paths.h"

namespace octet::workbench {

// The job types the server accepts.
const std::vector<std::string>& job_types();

// Checks a job request before it is queued: a known type and params of the right names and types
// (API.md), with a known metric, preset and range estimator. Throws Error naming the parameter.
// Problems that need the model or the data (a shape for a missing input, a bad sample) fail the job.
void validate_job_params(const std::string& type, const Json& params);

// Runs a started job: the JobRunner of the server's JobQueue.
JobOutcome run_job(const JobRecord& job, JobContext& context, Database& database, const Workspace& workspace);

// Shapes for the inputs whose declared shape is not fully known, taken from the first sample of
// the data set (preprocessed with `preprocess` for images): the default for benchmarks and for
// inspection's MAC count. Empty when every input is known, when the model has several inputs, or
// when the sample cannot be read (the caller then reports the missing shape).
std::map<std::string, Shape> sample_input_shapes(const std::vector<ValueInfo>& inputs, const DatasetRecord& dataset,
                                                 const std::string& preprocess);

// The "shape" parameter: "NAME=DIMS" entries, separated by ',' or given as a JSON list. `what`
// names the parameter in errors.
std::map<std::string, Shape> parse_shape_parameter(const Json& value, const std::string& what);

}  // namespace octet::workbench
