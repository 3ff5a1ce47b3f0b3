// The project comparison (FP32 vs INT8 versions: size, latency, throughput, accuracy, drop,
// speedup) and its HTML export, built from the results of finished jobs.
#pragma once

#include <string>

#include "database.h"

namespace octet::workbench {

// GET /api/projects/{id}/compare (API.md): one row per model version of the project, from its
// latest finished benchmark and accuracy jobs (null where none ran). The metric is the one of the
// project's latest finished accuracy job; accuracy jobs with other metrics are not mixed in. drop is
// FP32 accuracy minus the version's (positive: worse); speedup is FP32 median latency over the
// version's.
Json compare_project(Database& database, const ProjectRecord& project);

// A self-contained HTML report of a project: the comparison table, bar charts (inline SVG) of size,
// latency, throughput and accuracy, each quantization's summary and configuration, and the
// accuracy-aware iterations when there are any.
std::string project_report_html(Database& database, const ProjectRecord& project);

}  // namespace octet::workbench
