#include "database.h"

#include <sqlite3.h>

#include <ctime>

#include "octet/status.h"

namespace octet::workbench {

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  project_id INTEGER,
  parent_id INTEGER REFERENCES models(id),
  precision TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  job_id INTEGER,
  config TEXT NOT NULL DEFAULT '',
  owned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS datasets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  sample_count INTEGER NOT NULL,
  has_labels INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  owned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models(id),
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  preprocess TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  model_id INTEGER NOT NULL REFERENCES models(id),
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  progress_stage TEXT NOT NULL DEFAULT '',
  progress_done INTEGER NOT NULL DEFAULT 0,
  progress_total INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, id);
CREATE INDEX IF NOT EXISTS jobs_by_project ON jobs(project_id, id);
CREATE INDEX IF NOT EXISTS models_by_project ON models(project_id, id);
)sql";

constexpr const char* kModelColumns =
    "id, name, path, project_id, parent_id, precision, size_bytes, created_at, job_id, config, owned";
constexpr const char* kDatasetColumns = "id, name, path, kind, sample_count, has_labels, created_at, owned";
constexpr const char* kProjectColumns = "id, name, model_id, dataset_id, preprocess, created_at";
constexpr const char* kJobColumns =
    "id, type, project_id, model_id, params, status, progress_stage, progress_done, progress_total, error, result, "
    "created_at, started_at, finished_at";

}  // namespace

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// A prepared statement: bind by position (from 1), step, read columns (from 0). Finalized on
// destruction. Errors throw Error naming the database file and SQLite's message.
class Database::Statement {
 public:
  Statement(Database& database, const std::string& sql) : database_(database) {
    const int code = sqlite3_prepare_v2(database.connection_, sql.c_str(), -1, &statement_, nullptr);
    database.check_code(code, "prepare");
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value) {
    database_.check_code(sqlite3_bind_int64(statement_, index, value), "bind");
    return *this;
  }
  Statement& bind(int index, const std::string& value) {
    database_.check_code(sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                                           SQLITE_TRANSIENT),
                         "bind");
    return *this;
  }
  Statement& bind(int index, const std::optional<int64_t>& value) {
    if (value) return bind(index, *value);
    database_.check_code(sqlite3_bind_null(statement_, index), "bind");
    return *this;
  }
  // Returns whether a row is available.
  bool step() {
    const int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    database_.check_code(code, "step");
    return false;
  }
  void run() {
    while (step()) {
    }
  }

  int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::optional<int64_t> optional_integer(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) return std::nullopt;
    return integer(column);
  }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, static_cast<size_t>(sqlite3_column_bytes(statement_, column))) : std::string();
  }

 private:
  Database& database_;
  sqlite3_stmt* statement_ = nullptr;
};

namespace {

// BEGIN IMMEDIATE ... COMMIT, rolled back when the scope is left by an exception.
class Transaction {
 public:
  explicit Transaction(sqlite3* connection) : connection_(connection) {
    check(sqlite3_exec(connection_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK,
          "database: cannot begin a transaction: ", sqlite3_errmsg(connection_));
  }
  ~Transaction() {
    if (!committed_) sqlite3_exec(connection_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    check(sqlite3_exec(connection_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK,
          "database: cannot commit: ", sqlite3_errmsg(connection_));
    committed_ = true;
  }

 private:
  sqlite3* connection_;
  bool committed_ = false;
};

template <typename Row>
ModelRecord read_model(const Row& row) {
  ModelRecord model;
  model.id = row.integer(0);
  model.name = row.text(1);
  model.path = row.text(2);
  model.project_id = row.optional_integer(3);
  model.parent_id = row.optional_integer(4);
  model.precision = row.text(5);
  model.size_bytes = row.integer(6);
  model.created_at = row.text(7);
  model.job_id = row.optional_integer(8);
  model.config = row.text(9);
  model.owned = row.integer(10) != 0;
  return model;
}

template <typename Row>
DatasetRecord read_dataset(const Row& row) {
  DatasetRecord dataset;
  dataset.id = row.integer(0);
  dataset.name = row.text(1);
  dataset.path = row.text(2);
  dataset.kind = row.text(3);
  dataset.sample_count = row.integer(4);
  dataset.has_labels = row.integer(5) != 0;
  dataset.created_at = row.text(6);
  dataset.owned = row.integer(7) != 0;
  return dataset;
}

template <typename Row>
ProjectRecord read_project(const Row& row) {
  ProjectRecord project;
  project.id = row.integer(0);
  project.name = row.text(1);
  project.model_id = row.integer(2);
  project.dataset_id = row.integer(3);
  project.preprocess = row.text(4);
  project.created_at = row.text(5);
  return project;
}

Json parse_stored_json(const std::string& text) {
  if (text.empty()) return nullptr;
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

template <typename Row>
JobRecord read_job(const Row& row) {
  JobRecord job;
  job.id = row.integer(0);
  job.type = row.text(1);
  job.project_id = row.integer(2);
  job.model_id = row.integer(3);
  job.params = parse_stored_json(row.text(4));
  if (job.params.is_null()) job.params = Json::object();
  job.status = row.text(5);
  job.progress = {row.text(6), row.integer(7), row.integer(8)};
  job.error = row.text(9);
  job.result = parse_stored_json(row.text(10));
  job.created_at = row.text(11);
  job.started_at = row.text(12);
  job.finished_at = row.text(13);
  return job;
}

}  // namespace

Database::Database(const std::string& path) : path_(path) {
  const int code = sqlite3_open_v2(path.c_str(), &connection_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (code != SQLITE_OK) {
    const std::string message = connection_ ? sqlite3_errmsg(connection_) : sqlite3_errstr(code);
    sqlite3_close(connection_);
    connection_ = nullptr;
    throw Error(concat("database '", path, "': cannot open: ", message));
  }
  sqlite3_busy_timeout(connection_, kBusyTimeoutMs);
  // WAL: readers never block the writer; synchronous=FULL: a commit is on disk when it returns.
  execute("PRAGMA journal_mode=WAL");
  execute("PRAGMA synchronous=FULL");
  execute("PRAGMA foreign_keys=ON");
  execute(kSchema);
  execute(concat("PRAGMA user_version=", kSchemaVersion));
}

Database::~Database() { sqlite3_close(connection_); }

void Database::check_code(int code, const char* what) {
  if (code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE) return;
  throw Error(concat("database '", path_, "': ", what, " failed: ", sqlite3_errmsg(connection_)));
}

void Database::execute(const std::string& sql) {
  char* message = nullptr;
  const int code = sqlite3_exec(connection_, sql.c_str(), nullptr, nullptr, &message);
  if (code != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(code);
    sqlite3_free(message);
    throw Error(concat("database '", path_, "': ", text));
  }
}

// ---- Models ---------------------------------------------------------------------------------------

ModelRecord Database::insert_model(ModelRecord model) {
  std::lock_guard lock(mutex_);
  model.created_at = utc_now();
  Statement statement(*this,
                      "INSERT INTO models (name, path, project_id, parent_id, precision, size_bytes, created_at, "
                      "job_id, config, owned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  statement.bind(1, model.name).bind(2, model.path).bind(3, model.project_id).bind(4, model.parent_id);
  statement.bind(5, model.precision).bind(6, model.size_bytes).bind(7, model.created_at).bind(8, model.job_id);
  statement.bind(9, model.config).bind(10, int64_t{model.owned});
  statement.run();
  model.id = sqlite3_last_insert_rowid(connection_);
  return model;
}

std::optional<ModelRecord> Database::find_model(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kModelColumns, " FROM models WHERE id = ?"));
  statement.bind(1, id);
  if (!statement.step()) return std::nullopt;
  return read_model(statement);
}

std::vector<ModelRecord> Database::list_models() {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kModelColumns, " FROM models ORDER BY id"));
  std::vector<ModelRecord> models;
  while (statement.step()) models.push_back(read_model(statement));
  return models;
}

std::vector<ModelRecord> Database::project_models(const ProjectRecord& project) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kModelColumns,
                                    " FROM models WHERE id = ? OR project_id = ? ORDER BY id = ? DESC, id"));
  statement.bind(1, project.model_id).bind(2, project.id).bind(3, project.model_id);
  std::vector<ModelRecord> models;
  while (statement.step()) models.push_back(read_model(statement));
  return models;
}

// ---- Data sets ------------------------------------------------------------------------------------

DatasetRecord Database::insert_dataset(DatasetRecord dataset) {
  std::lock_guard lock(mutex_);
  dataset.created_at = utc_now();
  Statement statement(*this,
                      "INSERT INTO datasets (name, path, kind, sample_count, has_labels, created_at, owned) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  statement.bind(1, dataset.name).bind(2, dataset.path).bind(3, dataset.kind).bind(4, dataset.sample_count);
  statement.bind(5, int64_t{dataset.has_labels}).bind(6, dataset.created_at).bind(7, int64_t{dataset.owned});
  statement.run();
  dataset.id = sqlite3_last_insert_rowid(connection_);
  return dataset;
}

std::optional<DatasetRecord> Database::find_dataset(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kDatasetColumns, " FROM datasets WHERE id = ?"));
  statement.bind(1, id);
  if (!statement.step()) return std::nullopt;
  return read_dataset(statement);
}

std::vector<DatasetRecord> Database::list_datasets() {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kDatasetColumns, " FROM datasets ORDER BY id"));
  std::vector<DatasetRecord> datasets;
  while (statement.step()) datasets.push_back(read_dataset(statement));
  return datasets;
}

// ---- Projects -------------------------------------------------------------------------------------

ProjectRecord Database::insert_project(ProjectRecord project) {
  std::lock_guard lock(mutex_);
  Transaction transaction(connection_);
  project.created_at = utc_now();
  Statement insert(*this,
                   "INSERT INTO projects (name, model_id, dataset_id, preprocess, created_at) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, project.name).bind(2, project.model_id).bind(3, project.dataset_id).bind(4, project.preprocess);
  insert.bind(5, project.created_at);
  insert.run();
  project.id = sqlite3_last_insert_rowid(connection_);
  Statement adopt(*this, "UPDATE models SET project_id = ? WHERE id = ? AND project_id IS NULL");
  adopt.bind(1, project.id).bind(2, project.model_id);
  adopt.run();
  transaction.commit();
  return project;
}

std::optional<ProjectRecord> Database::find_project(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kProjectColumns, " FROM projects WHERE id = ?"));
  statement.bind(1, id);
  if (!statement.step()) return std::nullopt;
  return read_project(statement);
}

std::vector<ProjectRecord> Database::list_projects() {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kProjectColumns, " FROM projects ORDER BY id"));
  std::vector<ProjectRecord> projects;
  while (statement.step()) projects.push_back(read_project(statement));
  return projects;
}

// ---- Jobs -----------------------------------------------------------------------------------------

JobRecord Database::insert_job(JobRecord job) {
  std::lock_guard lock(mutex_);
  job.status = "queued";
  job.created_at = utc_now();
  Statement statement(*this,
                      "INSERT INTO jobs (type, project_id, model_id, params, status, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  statement.bind(1, job.type).bind(2, job.project_id).bind(3, job.model_id).bind(4, job.params.dump());
  statement.bind(5, job.status).bind(6, job.created_at);
  statement.run();
  job.id = sqlite3_last_insert_rowid(connection_);
  return job;
}

std::vector<JobRecord> Database::select_jobs(const std::string& where, std::optional<int64_t> parameter) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, concat("SELECT ", kJobColumns, " FROM jobs ", where, " ORDER BY id"));
  if (parameter) statement.bind(1, *parameter);
  std::vector<JobRecord> jobs;
  while (statement.step()) jobs.push_back(read_job(statement));
  return jobs;
}

std::optional<JobRecord> Database::find_job(int64_t id) {
  std::vector<JobRecord> jobs = select_jobs("WHERE id = ?", id);
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs.front());
}

std::vector<JobRecord> Database::list_jobs(std::optional<int64_t> project_id) {
  return project_id ? select_jobs("WHERE project_id = ?", project_id) : select_jobs("", std::nullopt);
}

std::vector<JobRecord> Database::finished_jobs(int64_t project_id) {
  return select_jobs("WHERE project_id = ? AND status = 'done'", project_id);
}

std::optional<JobRecord> Database::start_next_job() {
  std::lock_guard lock(mutex_);
  Transaction transaction(connection_);
  std::optional<int64_t> id;
  {
    Statement next(*this, "SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1");
    if (next.step()) id = next.integer(0);
  }
  if (!id) return std::nullopt;
  Statement start(*this, "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?");
  start.bind(1, utc_now()).bind(2, *id);
  start.run();
  transaction.commit();
  return find_job(*id);
}

void Database::update_progress(int64_t job_id, const JobProgress& progress) {
  std::lock_guard lock(mutex_);
  Statement statement(*this,
                      "UPDATE jobs SET progress_stage = ?, progress_done = ?, progress_total = ? WHERE id = ?");
  statement.bind(1, progress.stage).bind(2, progress.done).bind(3, progress.total).bind(4, job_id);
  statement.run();
}

std::optional<ModelRecord> Database::finish_job(int64_t job_id, Json result, std::optional<ModelRecord> new_model) {
  std::lock_guard lock(mutex_);
  Transaction transaction(connection_);
  if (new_model) {
    new_model->job_id = job_id;
    *new_model = insert_model(*new_model);
    result["model_id"] = new_model->id;
  }
  Statement statement(*this, "UPDATE jobs SET status = 'done', result = ?, finished_at = ? WHERE id = ?");
  statement.bind(1, result.dump()).bind(2, utc_now()).bind(3, job_id);
  statement.run();
  transaction.commit();
  return new_model;
}

void Database::end_job(int64_t job_id, const std::string& status, const std::string& error) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?");
  statement.bind(1, status).bind(2, error).bind(3, utc_now()).bind(4, job_id);
  statement.run();
}

bool Database::cancel_queued_job(int64_t job_id) {
  std::lock_guard lock(mutex_);
  Statement statement(*this,
                      "UPDATE jobs SET status = 'cancelled', error = 'cancelled before it started', finished_at = ? "
                      "WHERE id = ? AND status = 'queued'");
  statement.bind(1, utc_now()).bind(2, job_id);
  statement.run();
  return sqlite3_changes(connection_) == 1;
}

int64_t Database::mark_unfinished_jobs_failed(const std::string& error) {
  std::lock_guard lock(mutex_);
  Statement statement(*this,
                      "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE status IN ('queued', 'running')");
  statement.bind(1, error).bind(2, utc_now());
  statement.run();
  return sqlite3_changes(connection_);
}

int64_t Database::count_jobs(const std::string& status) {
  std::lock_guard lock(mutex_);
  Statement statement(*this, "SELECT COUNT(*) FROM jobs WHERE status = ?");
  statement.bind(1, status);
  statement.step();
  return statement.integer(0);
}

}  // namespace octet::workbench
