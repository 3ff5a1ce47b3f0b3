// The workbench's persistent store: models, data sets, projects and jobs in one SQLite file
// (sqlite3 C API, WAL journal) under the workspace. One connection, guarded by a mutex: the HTTP
// threads and the job worker share it, and every call is a short statement or transaction.
//
// Durability: a finished job's results (its result JSON and a new model version) are written in one
// transaction, committed before the call returns, so killing the server (even SIGKILL) loses no
// finished result; mark_unfinished_jobs_failed() at start fails the jobs that were still queued or
// running.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace octet::workbench {

using Json = nlohmann::ordered_json;

// Current time as ISO 8601 UTC with seconds: "2025-11-25T21:58:03Z".
std::string utc_now();

struct ModelRecord {
  int64_t id = 0;
  std::string name;
  std::string path;  // absolute: under the workspace (uploads, INT8 versions) or the user's file
  std::optional<int64_t> project_id;
  std::optional<int64_t> parent_id;  // the FP32 model an INT8 version was made from
  std::string precision;             // "fp32" | "int8"
  int64_t size_bytes = 0;
  std::string created_at;
  std::optional<int64_t> job_id;  // the quantize job that made it
  std::string config;             // POT JSON text that made it; "" for models not made here
  bool owned = false;             // the file belongs to the workspace (uploaded or made here)
};

struct DatasetRecord {
  int64_t id = 0;
  std::string name;
  std::string path;  // absolute folder
  std::string kind;  // "images" | "npy"
  int64_t sample_count = 0;
  bool has_labels = false;
  std::string created_at;
  bool owned = false;
};

struct ProjectRecord {
  int64_t id = 0;
  std::string name;
  int64_t model_id = 0;  // the FP32 original
  int64_t dataset_id = 0;
  std::string preprocess;  // eval/preprocess.h spec; "" for .npy data
  std::string created_at;
};

struct JobProgress {
  std::string stage;
  int64_t done = 0;
  int64_t total = 0;
};

struct JobRecord {
  int64_t id = 0;
  std::string type;  // "benchmark" | "accuracy" | "quantize"
  int64_t project_id = 0;
  int64_t model_id = 0;
  Json params = Json::object();
  std::string status;  // "queued" | "running" | "done" | "failed" | "cancelled"
  JobProgress progress;
  std::string error;
  Json result;  // null until done
  std::string created_at;
  std::string started_at;  // "" until started
  std::string finished_at;
};

class Database {
 public:
  // Opens (creating when missing) the database file and its schema. Throws Error naming the file.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Models. insert_* fill id and created_at and return the record as stored.
  ModelRecord insert_model(ModelRecord model);
  std::optional<ModelRecord> find_model(int64_t id);
  std::vector<ModelRecord> list_models();
  // Versions of a project: its FP32 original first, then the models made in it, by id.
  std::vector<ModelRecord> project_models(const ProjectRecord& project);

  DatasetRecord insert_dataset(DatasetRecord dataset);
  std::optional<DatasetRecord> find_dataset(int64_t id);
  std::vector<DatasetRecord> list_datasets();

  // Also makes the project's model belong to it when it belongs to none yet.
  ProjectRecord insert_project(ProjectRecord project);
  std::optional<ProjectRecord> find_project(int64_t id);
  std::vector<ProjectRecord> list_projects();

  // Jobs. insert_job stores a queued job.
  JobRecord insert_job(JobRecord job);
  std::optional<JobRecord> find_job(int64_t id);
  // All jobs (project_id unset) or a project's, by id.
  std::vector<JobRecord> list_jobs(std::optional<int64_t> project_id = std::nullopt);
  // The finished ("done") jobs of a project, by id.
  std::vector<JobRecord> finished_jobs(int64_t project_id);
  // Moves the oldest queued job to running and returns it; nullopt when none is queued.
  std::optional<JobRecord> start_next_job();
  void update_progress(int64_t job_id, const JobProgress& progress);
  // Ends a running job as done with `result`. When `new_model` is given it is inserted in the same
  // transaction and its id is written into the result as "model_id" (and into the model's job_id).
  // Returns the stored new model, if any.
  std::optional<ModelRecord> finish_job(int64_t job_id, Json result, std::optional<ModelRecord> new_model = std::nullopt);
  // Ends a running job as "failed" or "cancelled" with a message.
  void end_job(int64_t job_id, const std::string& status, const std::string& error);
  // Cancels a job when it is still queued; returns whether it was.
  bool cancel_queued_job(int64_t job_id);
  // Marks every queued or running job failed with `error`; returns how many.
  int64_t mark_unfinished_jobs_failed(const std::string& error);
  int64_t count_jobs(const std::string& status);

 private:
  class Statement;
  void execute(const std::string& sql);
  // Throws Error naming the file and SQLite's message unless `code` is a success code.
  void check_code(int code, const char* what);
  std::vector<JobRecord> select_jobs(const std::string& where, std::optional<int64_t> parameter);

  sqlite3* connection_ = nullptr;
  std::string path_;
  std::recursive_mutex mutex_;
};

}  // namespace octet::workbench
