// The workbench server's building blocks (tools/workbench): workspace confinement, upload checks
// and zip extraction (hostile archives), the SQLite store, the job queue (progress, cancel, stop),
// and the POT configuration export read back by quant/quantize_config.h.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "database.h"
#include "inspection.h"
#include "job_queue.h"
#include "paths.h"
#include "pot_config.h"
#include "quant/quantize_config.h"
#include "uploads.h"

namespace octet::workbench {
namespace {

namespace fs = std::filesystem;

// A fresh folder, removed at the end of the test.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::random_device device;
    path_ = fs::temp_directory_path() / concat("octet-workbench-test-", device(), device());
    fs::create_directories(path_);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream file(path, std::ios::binary);
  file << content;
}

const std::string kPngBytes = std::string("\x89PNG\r\n\x1a\n", 8) + "rest of a png";
const std::string kNpyBytes = std::string("\x93NUMPY\x01\x00", 8) + "header";

// Expects body() to throw Error with `part` in its message.
template <typename Body>
void expect_error(Body&& body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning '" << part << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
  }
}

// ---- A minimal zip writer (stored entries), to build hostile archives ----------------------------

uint32_t crc32_of(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (const unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put16(std::string& out, uint32_t value) {
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
}
void put32(std::string& out, uint32_t value) {
  put16(out, value & 0xffff);
  put16(out, value >> 16);
}

struct ZipEntry {
  std::string name;
  std::string content;
  bool symlink = false;
};

std::string make_zip(const std::vector<ZipEntry>& entries) {
  constexpr uint32_t kVersion = 20;
  constexpr uint32_t kUnixHost = 3 << 8;
  std::string out;
  std::string central;
  for (const ZipEntry& entry : entries) {
    const auto offset = static_cast<uint32_t>(out.size());
    const uint32_t crc = crc32_of(entry.content);
    const auto size = static_cast<uint32_t>(entry.content.size());
    put32(out, 0x04034b50);
    for (const uint32_t field : {kVersion, 0u, 0u, 0u, 0u}) put16(out, field);  // version, flags, method, time, date
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, static_cast<uint32_t>(entry.name.size()));
    put16(out, 0);
    out += entry.name + entry.content;

    put32(central, 0x02014b50);
    put16(central, kUnixHost | kVersion);
    for (const uint32_t field : {kVersion, 0u, 0u, 0u, 0u}) put16(central, field);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<uint32_t>(entry.name.size()));
    for (int i = 0; i < 4; ++i) put16(central, 0);  // extra, comment, disk, internal attributes
    put32(central, (entry.symlink ? (S_IFLNK | 0777u) : (S_IFREG | 0644u)) << 16);
    put32(central, offset);
    central += entry.name;
  }
  const auto central_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);
  return out;
}

// ---- Paths ----------------------------------------------------------------------------------------

TEST(WorkbenchPaths, PlainFileNames) {
  check_plain_file_name("0001.png", "upload");
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b.png", "a\\b.png", "x\x01.png"})
    EXPECT_THROW(check_plain_file_name(bad, "upload"), Error) << bad;
  EXPECT_EQ(flat_file_name("set/sub/0001.png", "upload"), "0001.png");
  EXPECT_EQ(flat_file_name("set\\0001.png", "upload"), "0001.png");
  expect_error([] { flat_file_name("../0001.png", "upload"); }, "'..' component");
  expect_error([] { flat_file_name("set/../../0001.png", "upload"); }, "'..' component");
  expect_error([] { flat_file_name("/etc/0001.png", "upload"); }, "absolute path");
  expect_error([] { flat_file_name("C:0001.png", "upload"); }, "drive");
  expect_error([] { flat_file_name("set/", "upload"); }, "empty file name");
}

// The names downloads get and re-run commands show (the page's safeFileName: the same rule).
TEST(WorkbenchPaths, DownloadFileNames) {
  EXPECT_EQ(download_file_name("cls.onnx INT8 (job 3)", ".config.json"), "cls_INT8_job_3.config.json");
  EXPECT_EQ(download_file_name("cls.onnx INT8 (job 3)", ".onnx"), "cls_INT8_job_3.onnx");
  EXPECT_EQ(download_file_name("resnet50.ONNX", ".onnx"), "resnet50.onnx");
  EXPECT_EQ(download_file_name("a.onnxb", ".onnx"), "a.onnxb.onnx");
  EXPECT_EQ(download_file_name("../../etc/passwd", ".html"), ".._.._etc_passwd.html");
  EXPECT_EQ(download_file_name("  ", "-report.html"), "model-report.html");
  EXPECT_EQ(download_file_name("", ".onnx"), "model.onnx");
}

TEST(WorkbenchPaths, WorkspaceConfinesPaths) {
  TemporaryFolder folder;
  const Workspace workspace(folder.path() / "ws");
  EXPECT_TRUE(fs::is_directory(workspace.models_dir()));
  EXPECT_TRUE(fs::is_directory(workspace.uploads_dir()));
  EXPECT_EQ(workspace.confine("models/a.onnx"), workspace.root() / "models" / "a.onnx");
  expect_error([&] { workspace.confine("models/../../outside.onnx"); }, "outside the workspace");
  expect_error([&] { workspace.confine("/etc/passwd"); }, "outside the workspace");
  // A symbolic link inside the workspace does not lead out of it.
  fs::create_directories(folder.path() / "outside");
  fs::create_directory_symlink(folder.path() / "outside", workspace.root() / "link");
  expect_error([&] { workspace.confine("link/file.onnx"); }, "outside the workspace");
  EXPECT_TRUE(is_within(workspace.root(), workspace.root()));
  EXPECT_FALSE(is_within(folder.path() / "ws", folder.path() / "ws2"));
}

TEST(WorkbenchPaths, UserPathsMustBeAbsoluteAndExist) {
  TemporaryFolder folder;
  write_file(folder.path() / "model.onnx", "x");
  EXPECT_EQ(user_file((folder.path() / "model.onnx").string(), "path"), fs::canonical(folder.path() / "model.onnx"));
  EXPECT_EQ(user_directory(folder.path().string(), "path"), fs::canonical(folder.path()));
  expect_error([] { user_file("model.onnx", "path"); }, "must be an absolute path");
  expect_error([&] { user_file((folder.path() / "missing.onnx").string(), "path"); }, "does not exist");
  expect_error([&] { user_file(folder.path().string(), "path"); }, "not a regular file");
  expect_error([&] { user_directory((folder.path() / "model.onnx").string(), "path"); }, "not a folder");
  expect_error([] { user_directory("", "path"); }, "empty path");
}

// ---- Uploads --------------------------------------------------------------------------------------

TEST(WorkbenchUploads, FileTypesAndSignatures) {
  TemporaryFolder folder;
  EXPECT_EQ(dataset_file_type("a.PNG"), DatasetFileType::kPng);
  EXPECT_EQ(dataset_file_type("a.jpeg"), DatasetFileType::kJpeg);
  EXPECT_EQ(dataset_file_type("a.npy"), DatasetFileType::kNpy);
  EXPECT_EQ(dataset_file_type("labels.tsv"), DatasetFileType::kLabels);
  EXPECT_THROW(dataset_file_type("other.tsv"), Error);
  EXPECT_THROW(dataset_file_type("run.sh"), Error);
  write_file(folder.path() / "good.png", kPngBytes);
  write_file(folder.path() / "good.npy", kNpyBytes);
  write_file(folder.path() / "good.jpg", "\xff\xd8\xff\xe0 jpeg");
  write_file(folder.path() / "fake.png", "GIF89a");
  write_file(folder.path() / "labels.tsv", std::string("a.png\t0\n\0", 9));
  check_file_signature(folder.path() / "good.png", DatasetFileType::kPng, "good.png");
  check_file_signature(folder.path() / "good.npy", DatasetFileType::kNpy, "good.npy");
  check_file_signature(folder.path() / "good.jpg", DatasetFileType::kJpeg, "good.jpg");
  expect_error([&] { check_file_signature(folder.path() / "fake.png", DatasetFileType::kPng, "fake.png"); },
               "not a PNG");
  expect_error([&] { check_file_signature(folder.path() / "good.png", DatasetFileType::kNpy, "x.npy"); },
               "not a .npy");
  expect_error([&] { check_file_signature(folder.path() / "labels.tsv", DatasetFileType::kLabels, "labels.tsv"); },
               "not a text file");
}

TEST(WorkbenchUploads, CappedWriterRefusesOversizeAndCleansUp) {
  TemporaryFolder folder;
  const fs::path path = folder.path() / "upload.bin";
  {
    CappedFileWriter writer(path, 10, "upload 'x'");
    writer.write("12345", 5);
    EXPECT_THROW(writer.write("123456", 6), TooLargeError);
  }
  EXPECT_FALSE(fs::exists(path));  // not committed: removed
  {
    CappedFileWriter writer(path, 10, "upload 'x'");
    writer.write("1234567890", 10);
    writer.commit();
  }
  EXPECT_EQ(fs::file_size(path), 10u);
}

TEST(WorkbenchUploads, ZipExtractsFlatAndSkipsMetadata) {
  TemporaryFolder folder;
  write_file(folder.path() / "set.zip", make_zip({{"set/", ""},
                                                 {"set/0001.png", kPngBytes},
                                                 {"set/0002.npy", kNpyBytes},
                                                 {"set/labels.tsv", "0001.png\t0\n"},
                                                 {"__MACOSX/set/._0001.png", "junk"},
                                                 {"set/.DS_Store", "junk"}}));
  fs::create_directory(folder.path() / "out");
  const std::vector<std::string> names = extract_zip(folder.path() / "set.zip", folder.path() / "out", "archive");
  EXPECT_EQ(names, (std::vector<std::string>{"0001.png", "0002.npy", "labels.tsv"}));
  EXPECT_EQ(fs::file_size(folder.path() / "out" / "0001.png"), kPngBytes.size());
  EXPECT_FALSE(fs::exists(folder.path() / "out" / ".DS_Store"));
}

TEST(WorkbenchUploads, ZipRefusesHostileEntries) {
  TemporaryFolder folder;
  const fs::path out = folder.path() / "out";
  const struct {
    const char* name;
    std::vector<ZipEntry> entries;
    const char* message;
  } cases[] = {
      {"dot-dot", {{"0001.png", kPngBytes}, {"../escaped.png", kPngBytes}}, "'..' component"},
      {"nested dot-dot", {{"set/../../escaped.png", kPngBytes}}, "'..' component"},
      {"absolute", {{"/tmp/escaped.png", kPngBytes}}, "absolute path"},
      {"backslash absolute", {{"\\escaped.png", kPngBytes}}, "absolute path"},
      {"drive", {{"C:escaped.png", kPngBytes}}, "drive"},
      {"symlink", {{"link.png", "/etc/passwd", true}}, "symbolic link"},
      {"other type", {{"run.sh", "#!/bin/sh"}}, "not a data set file"},
      {"bad signature", {{"0001.png", "GIF89a"}}, "not a PNG"},
      {"duplicate", {{"a/0001.png", kPngBytes}, {"b/0001.png", kPngBytes}}, "a second file named"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    fs::remove_all(out);
    fs::create_directory(out);
    write_file(folder.path() / "evil.zip", make_zip(test.entries));
    expect_error([&] { extract_zip(folder.path() / "evil.zip", out, "archive 'evil.zip'"); }, test.message);
    EXPECT_FALSE(fs::exists(folder.path() / "escaped.png"));
    EXPECT_FALSE(fs::exists("/tmp/escaped.png"));
  }
  write_file(folder.path() / "fake.zip", "PK\x03\x04 not really a zip");
  expect_error([&] { extract_zip(folder.path() / "fake.zip", out, "archive 'fake.zip'"); }, "archive 'fake.zip'");
}

TEST(WorkbenchUploads, DatasetSummary) {
  TemporaryFolder folder;
  expect_error([&] { summarize_dataset(folder.path()); }, "holds no samples");
  write_file(folder.path() / "0001.png", kPngBytes);
  write_file(folder.path() / "0002.png", kPngBytes);
  DatasetSummary summary = summarize_dataset(folder.path());
  EXPECT_EQ(summary.kind, "images");
  EXPECT_EQ(summary.sample_count, 2);
  EXPECT_FALSE(summary.has_labels);
  write_file(folder.path() / "labels.tsv", "0001.png\t0\n");
  EXPECT_TRUE(summarize_dataset(folder.path()).has_labels);
  write_file(folder.path() / "0003.npy", kNpyBytes);
  expect_error([&] { summarize_dataset(folder.path()); }, "both images");
}

// ---- Database -------------------------------------------------------------------------------------

struct StoredProject {
  ModelRecord model;
  DatasetRecord dataset;
  ProjectRecord project;
};

StoredProject store_project(Database& database) {
  ModelRecord model;
  model.name = "cls";
  model.path = "/models/cls.onnx";
  model.precision = "fp32";
  model.size_bytes = 100;
  model = database.insert_model(model);
  DatasetRecord dataset;
  dataset.name = "set";
  dataset.path = "/data/set";
  dataset.kind = "images";
  dataset.sample_count = 3;
  dataset.has_labels = true;
  dataset = database.insert_dataset(dataset);
  ProjectRecord project;
  project.name = "project";
  project.model_id = model.id;
  project.dataset_id = dataset.id;
  project.preprocess = "ppocr-cls";
  project = database.insert_project(project);
  return {model, dataset, project};
}

JobRecord queue_job(Database& database, const ProjectRecord& project, const std::string& type) {
  JobRecord job;
  job.type = type;
  job.project_id = project.id;
  job.model_id = project.model_id;
  job.params = {{"time_s", 1}};
  return database.insert_job(job);
}

TEST(WorkbenchDatabase, JobsRunInOrderAndResultsPersist) {
  TemporaryFolder folder;
  const std::string path = (folder.path() / "workbench.db").string();
  int64_t quantize_id = 0;
  int64_t version_id = 0;
  {
    Database database(path);
    const StoredProject stored = store_project(database);
    EXPECT_EQ(database.find_model(stored.model.id)->project_id, stored.project.id);  // adopted by the project
    const JobRecord first = queue_job(database, stored.project, "quantize");
    const JobRecord second = queue_job(database, stored.project, "benchmark");
    quantize_id = first.id;
    EXPECT_EQ(database.count_jobs("queued"), 2);

    const auto started = database.start_next_job();
    ASSERT_TRUE(started.has_value());
    EXPECT_EQ(started->id, first.id);  // FIFO
    EXPECT_EQ(started->status, "running");
    EXPECT_FALSE(started->started_at.empty());
    EXPECT_FALSE(database.cancel_queued_job(first.id));  // running, not queued
    database.update_progress(first.id, {"calibration", 3, 10});
    EXPECT_EQ(database.find_job(first.id)->progress.done, 3);

    ModelRecord version;
    version.name = "cls INT8";
    version.path = "/ws/models/job1-int8.onnx";
    version.project_id = stored.project.id;
    version.parent_id = stored.model.id;
    version.precision = "int8";
    version.size_bytes = 40;
    version.config = "{}";
    const auto inserted = database.finish_job(first.id, {{"summary", "ok"}}, version);
    ASSERT_TRUE(inserted.has_value());
    version_id = inserted->id;
    EXPECT_EQ(inserted->job_id, first.id);

    EXPECT_TRUE(database.cancel_queued_job(second.id));
    EXPECT_FALSE(database.cancel_queued_job(second.id));
    EXPECT_EQ(database.find_job(second.id)->status, "cancelled");
    EXPECT_FALSE(database.start_next_job().has_value());
    queue_job(database, stored.project, "accuracy");  // left queued, as when a server dies
  }
  Database reopened(path);
  const auto job = reopened.find_job(quantize_id);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->status, "done");
  EXPECT_EQ(job->result["model_id"], version_id);
  EXPECT_EQ(job->params["time_s"], 1);
  const auto project = reopened.find_project(job->project_id);
  ASSERT_TRUE(project.has_value());
  const std::vector<ModelRecord> versions = reopened.project_models(*project);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].precision, "fp32");  // the original first
  EXPECT_EQ(versions[1].id, version_id);
  EXPECT_EQ(reopened.mark_unfinished_jobs_failed(JobQueue::kServerStopped), 1);
  EXPECT_EQ(reopened.count_jobs("queued"), 0);
  EXPECT_EQ(reopened.list_jobs(project->id).back().error, "server stopped");
}

// ---- Job queue ------------------------------------------------------------------------------------

// Polls the database until the job has `status` (or a few seconds pass).
bool wait_for_status(Database& database, int64_t job_id, const std::string& status) {
  for (int i = 0; i < 500; ++i) {
    if (database.find_job(job_id)->status == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(WorkbenchJobQueue, ProgressCancelFailureAndStop) {
  TemporaryFolder folder;
  Database database((folder.path() / "workbench.db").string());
  const StoredProject stored = store_project(database);
  // "benchmark" jobs report progress until cancelled, "accuracy" jobs fail, "quantize" jobs succeed.
  JobQueue queue(database, [](const JobRecord& job, JobContext& context) -> JobOutcome {
    if (job.type == "accuracy") throw Error("data set 1: bad sample 0003.png");
    if (job.type == "quantize") return {{{"value", 0.5}}, std::nullopt};
    for (int64_t step = 0;; ++step) {
      context.report("measuring", step % 100, 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const JobRecord looping = queue_job(database, stored.project, "benchmark");
  const JobRecord failing = queue_job(database, stored.project, "accuracy");
  const JobRecord passing = queue_job(database, stored.project, "quantize");
  queue.start();
  ASSERT_TRUE(wait_for_status(database, looping.id, "running"));
  EXPECT_EQ(database.find_job(failing.id)->status, "queued");  // one job at a time
  EXPECT_TRUE(queue.cancel(looping.id));
  ASSERT_TRUE(wait_for_status(database, looping.id, "cancelled"));
  EXPECT_EQ(database.find_job(looping.id)->progress.stage, "measuring");
  ASSERT_TRUE(wait_for_status(database, failing.id, "failed"));
  EXPECT_EQ(database.find_job(failing.id)->error, "data set 1: bad sample 0003.png");
  ASSERT_TRUE(wait_for_status(database, passing.id, "done"));
  EXPECT_EQ(database.find_job(passing.id)->result["value"], 0.5);
  EXPECT_FALSE(queue.cancel(passing.id));  // finished

  // Stopping the server fails the running job, as a crash would.
  const JobRecord running = queue_job(database, stored.project, "benchmark");
  queue.notify();
  ASSERT_TRUE(wait_for_status(database, running.id, "running"));
  queue.stop();
  EXPECT_EQ(database.find_job(running.id)->status, "failed");
  EXPECT_EQ(database.find_job(running.id)->error, JobQueue::kServerStopped);
}

// ---- POT configuration ----------------------------------------------------------------------------

TEST(WorkbenchPotConfig, ExportReadsBackAsTheSameOptions) {
  Model model;
  Node conv;
  conv.name = "Conv_0";
  conv.op_type = "Conv";
  Node add;
  add.name = "Add_1";
  add.op_type = "Add";
  model.graph.nodes = {conv, add};
  QuantizeOptions options;
  options.preset = QuantizationPreset::kMixed;
  options.ignored = {"Conv_0", "Add", "generated_name_7"};
  options.activation_estimator = RangeEstimator::kQuantile;
  options.fast_bias_correction = false;
  const Json config = default_quantization_config(options, 16, model);
  const Json& params = config["compression"]["algorithms"][0]["params"];
  EXPECT_EQ(config["compression"]["algorithms"][0]["name"], "DefaultQuantization");
  EXPECT_EQ(params["ignored"]["scope"], Json::array({"Conv_0", "generated_name_7"}));
  EXPECT_EQ(params["ignored"]["operations"], Json::array({{{"type", "Add"}}}));

  const QuantizeConfig parsed = parse_quantize_config(config.dump(), "exported config");
  EXPECT_EQ(parsed.preset, QuantizationPreset::kMixed);
  EXPECT_EQ(parsed.subset_size, 16);
  EXPECT_EQ(parsed.ignored, options.ignored);
  EXPECT_EQ(parsed.activation_estimator, RangeEstimator::kQuantile);
  EXPECT_EQ(parsed.fast_bias_correction, false);

  const QuantizeConfig defaults = parse_quantize_config(default_quantization_config({}, 300, model).dump(), "x");
  EXPECT_EQ(defaults.preset, QuantizationPreset::kPerformance);
  EXPECT_FALSE(defaults.activation_estimator.has_value());
  EXPECT_TRUE(defaults.ignored.empty());
}

TEST(WorkbenchInspection, Int8OpTypes) {
  for (const std::string op : {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "octet.QFusedConv", "QBinary",
                               "ConvInteger", "MatMulInteger"})
    EXPECT_TRUE(is_int8_op_type(op)) << op;
  for (const std::string op : {"Conv", "octet.FusedConv", "Relu", "MatMul", "octet.HardSwish"})
    EXPECT_FALSE(is_int8_op_type(op)) << op;
}

}  // namespace
}  // namespace octet::workbench
