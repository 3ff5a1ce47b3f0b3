#include "report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "octet/status.h"

namespace octet::workbench {

namespace {

constexpr int kChartWidth = 560;
constexpr int kBarHeight = 22;
constexpr int kLabelWidth = 190;

std::string escape_html(const std::string& text) {
  std::string escaped;
  for (const char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string format_number(const Json& value, const char* format) {
  if (!value.is_number()) return "&ndash;";
  char text[64];
  std::snprintf(text, sizeof text, format, value.get<double>());
  return text;
}

// A horizontal bar chart: one bar per row with a value, labelled.
std::string bar_chart(const std::string& title, const Json& rows, const std::string& key, const char* format) {
  double maximum = 0;
  for (const Json& row : rows)
    if (row[key].is_number()) maximum = std::max(maximum, row[key].get<double>());
  const int height = static_cast<int>(rows.size()) * (kBarHeight + 6) + 30;
  std::string svg = concat("<figure><figcaption>", escape_html(title), "</figcaption><svg width=\"", kChartWidth,
                           "\" height=\"", height, "\" role=\"img\" aria-label=\"", escape_html(title), "\">");
  int y = 10;
  for (const Json& row : rows) {
    const bool int8 = row["precision"] == "int8";
    svg += concat("<text x=\"0\" y=\"", y + 16, "\" font-size=\"12\">", escape_html(row["name"].get<std::string>().substr(0, 60)),
                  "</text>");
    if (row[key].is_number() && maximum > 0) {
      const double value = row[key].get<double>();
      const int width = static_cast<int>((kChartWidth - kLabelWidth - 80) * value / maximum);
      svg += concat("<rect x=\"", kLabelWidth, "\" y=\"", y, "\" width=\"", std::max(width, 1), "\" height=\"", kBarHeight,
                    "\" fill=\"", int8 ? "#2a9d8f" : "#8d99ae", "\"/>");
      svg += concat("<text x=\"", kLabelWidth + width + 6, "\" y=\"", y + 16, "\" font-size=\"12\">",
                    format_number(row[key], format), "</text>");
    } else {
      svg += concat("<text x=\"", kLabelWidth, "\" y=\"", y + 16, "\" font-size=\"12\" fill=\"#999\">not measured</text>");
    }
    y += kBarHeight + 6;
  }
  return svg + "</svg></figure>\n";
}

const JobRecord* latest(const std::vector<JobRecord>& jobs, const std::string& type, int64_t model_id,
                        const std::string& metric = "") {
  const JobRecord* found = nullptr;
  for (const JobRecord& job : jobs) {
    if (job.type != type || job.model_id != model_id || !job.result.is_object()) continue;
    if (!metric.empty() && job.result.value("metric", "") != metric) continue;
    found = &job;  // jobs come by id: the last match is the latest
  }
  return found;
}

}  // namespace

Json compare_project(Database& database, const ProjectRecord& project) {
  const std::vector<JobRecord> jobs = database.finished_jobs(project.id);
  std::string metric;
  for (const JobRecord& job : jobs)
    if (job.type == "accuracy" && job.result.is_object()) metric = job.result.value("metric", "");

  Json rows = Json::array();
  Json fp32_latency = nullptr;
  Json fp32_accuracy = nullptr;
  for (const ModelRecord& model : database.project_models(project)) {
    Json row = {{"model_id", model.id},
                {"name", model.name},
                {"precision", model.precision},
                {"size_bytes", model.size_bytes},
                {"latency_ms", nullptr},
                {"throughput_fps", nullptr},
                {"accuracy", nullptr},
                {"drop", nullptr},
                {"speedup", nullptr},
                {"benchmark_job_id", nullptr},
                {"accuracy_job_id", nullptr}};
    if (const JobRecord* benchmark = latest(jobs, "benchmark", model.id)) {
      row["latency_ms"] = benchmark->result["latency_ms"]["median"];
      row["throughput_fps"] = benchmark->result["throughput_fps"];
      row["benchmark_job_id"] = benchmark->id;
    }
    if (const JobRecord* accuracy = metric.empty() ? nullptr : latest(jobs, "accuracy", model.id, metric)) {
      row["accuracy"] = accuracy->result["value"];
      row["accuracy_job_id"] = accuracy->id;
    }
    if (model.id == project.model_id) {
      fp32_latency = row["latency_ms"];
      fp32_accuracy = row["accuracy"];
    }
    rows.push_back(row);
  }
  for (Json& row : rows) {
    if (fp32_latency.is_number() && row["latency_ms"].is_number() && row["latency_ms"].get<double>() > 0)
      row["speedup"] = fp32_latency.get<double>() / row["latency_ms"].get<double>();
    if (fp32_accuracy.is_number() && row["accuracy"].is_number())
      row["drop"] = fp32_accuracy.get<double>() - row["accuracy"].get<double>();
  }
  return {{"project_id", project.id},
          {"metric", metric.empty() ? Json(nullptr) : Json(metric)},
          {"fp32_model_id", project.model_id},
          {"rows", rows}};
}

std::string project_report_html(Database& database, const ProjectRecord& project) {
  const Json comparison = compare_project(database, project);
  const Json& rows = comparison["rows"];
  const std::string metric = comparison["metric"].is_string() ? comparison["metric"].get<std::string>() : "";
  std::string html = concat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>octet report: ",
      escape_html(project.name),
      "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
      "figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:4px}pre{background:#f4f4f4;padding:8px;"
      "overflow:auto}</style></head><body>\n<h1>octet workbench report: ",
      escape_html(project.name), "</h1>\n<p>Generated ", utc_now(), ". Preprocessing: <code>",
      escape_html(project.preprocess.empty() ? "none (.npy tensors)" : project.preprocess), "</code>.</p>\n");

  html += concat("<h2>Comparison</h2>\n<table><tr><th>model</th><th>precision</th><th>size (KiB)</th><th>latency (ms)</th>"
                 "<th>throughput (fps)</th><th>",
                 escape_html(metric.empty() ? "accuracy" : metric), "</th><th>drop</th><th>speedup</th></tr>\n");
  for (const Json& row : rows) {
    const Json size_kib = row["size_bytes"].get<double>() / 1024.0;
    html += concat("<tr><td>", escape_html(row["name"].get<std::string>()), "</td><td>", row["precision"].get<std::string>(),
                   "</td><td>", format_number(size_kib, "%.1f"), "</td><td>", format_number(row["latency_ms"], "%.3f"),
                   "</td><td>", format_number(row["throughput_fps"], "%.1f"), "</td><td>",
                   format_number(row["accuracy"], "%.4f"), "</td><td>", format_number(row["drop"], "%+.4f"), "</td><td>",
                   format_number(row["speedup"], "%.2fx"), "</td></tr>\n");
  }
  html += "</table>\n<h2>Charts</h2>\n";
  Json size_rows = rows;
  for (Json& row : size_rows) row["size_kib"] = row["size_bytes"].get<double>() / 1024.0;
  html += bar_chart("Size (KiB)", size_rows, "size_kib", "%.1f");
  html += bar_chart("Median latency (ms, lower is better)", rows, "latency_ms", "%.3f");
  html += bar_chart("Throughput (inferences/s)", rows, "throughput_fps", "%.1f");
  if (!metric.empty()) html += bar_chart("Accuracy: " + metric, rows, "accuracy", "%.4f");

  for (const JobRecord& job : database.finished_jobs(project.id)) {
    if (job.type != "quantize" || !job.result.is_object()) continue;
    const Json& summary = job.result["summary"];
    html += concat("<h2>Quantization job ", job.id, "</h2>\n<p>", summary["quantized"].size(), " nodes quantized, ",
                   summary["fp32"].size(), " kept in FP32; ", format_number(summary["size_before"], "%.0f"), " -> ",
                   format_number(summary["size_after"], "%.0f"), " bytes; ", format_number(summary["seconds"], "%.1f"),
                   " s. Re-run: <code>", escape_html(job.result.value("command", "")), "</code></p>\n");
    if (!summary["fp32"].empty()) {
      html += "<table><tr><th>node kept in FP32</th><th>reason</th></tr>\n";
      for (const Json& node : summary["fp32"])
        html += concat("<tr><td>", escape_html(node["node"].get<std::string>()), "</td><td style=\"text-align:left\">",
                       escape_html(node["reason"].get<std::string>()), "</td></tr>\n");
      html += "</table>\n";
    }
    if (job.result.contains("report") && job.result["report"].is_object()) {
      const Json& report = job.result["report"];
      html += "<h3>Accuracy-aware iterations</h3>\n<table><tr><th>group returned to FP32</th><th>metric</th><th>drop</th>"
              "<th>kept</th></tr>\n";
      for (const Json& iteration : report.value("iterations", Json::array()))
        html += concat("<tr><td>", escape_html(iteration.value("group", Json("")).dump()), "</td><td>",
                       format_number(iteration.value("metric", Json(nullptr)), "%.4f"), "</td><td>",
                       format_number(iteration.value("drop", Json(nullptr)), "%+.4f"), "</td><td>",
                       iteration.value("kept", false) ? "yes" : "no", "</td></tr>\n");
      html += "</table>\n";
    }
    html += concat("<p>Configuration (<code>octet quantize --config</code>):</p><pre>",
                   escape_html(job.result["config"].dump(2)), "</pre>\n");
  }
  return html + "</body></html>\n";
}

}  // namespace octet::workbench
