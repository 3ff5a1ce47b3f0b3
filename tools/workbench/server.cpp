#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "database.h"
#include "embedded_assets.h"
#include "eval/preprocess.h"
#include "inspection.h"
#include "job_queue.h"
#include "jobs.h"
#include "onnx/onnx_io.h"
#include "paths.h"
#include "report.h"
#include "uploads.h"

namespace octet::workbench {

namespace {

namespace fs = std::filesystem;
using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

constexpr size_t kMaxJsonBodyBytes = size_t{1} << 20;
constexpr size_t kMaxFormFieldBytes = 4096;
// The largest request: an archive at its cap plus the multipart framing and form fields.
constexpr size_t kMaxPayloadBytes = static_cast<size_t>(kMaxArchiveBytes) + (size_t{1} << 20);
constexpr size_t kDownloadChunkBytes = size_t{1} << 16;
constexpr const char* kTokenCookie = "octet_token";
constexpr int kTokenWords = 4;  // 4 x 32 random bits: 32 hex characters

// ---- HTTP helpers ---------------------------------------------------------------------------------

// An error with its HTTP status (Error alone is a 400).
class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

std::string single_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

void send_json(Response& response, int status, const Json& body) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(body.dump(), "application/json");
}

void send_error(Response& response, int status, const std::string& message) {
  send_json(response, status, {{"error", single_line(message)}});
}

// Runs a route's body, turning exceptions into JSON errors: HttpError with its status, other Errors
// (bad requests, bad models, bad data) 400, anything else 500.
template <typename Body>
void answer(Response& response, Body&& body) {
  try {
    body();
  } catch (const HttpError& error) {
    send_error(response, error.status(), error.what());
  } catch (const TooLargeError& error) {
    send_error(response, 413, error.what());
  } catch (const Error& error) {
    send_error(response, 400, error.what());
  } catch (const std::bad_alloc&) {
    send_error(response, 500, "out of memory");
  } catch (const std::exception& error) {
    send_error(response, 500, error.what());
  }
}

int64_t path_id(const Request& request, size_t index = 1) {
  const std::string text = request.matches[static_cast<int>(index)].str();
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    throw HttpError(404, concat("no such id '", text, "'"));
  }
}

Json parse_json_body(const std::string& body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  check(!json.is_discarded(), "the request body is not valid JSON");
  check(json.is_object(), "the request body must be a JSON object");
  return json;
}

// Reads a JSON request body through a content reader, refusing bodies above kMaxJsonBodyBytes.
Json read_json_body(const ContentReader& reader) {
  std::string body;
  bool too_large = false;
  reader([&](const char* data, size_t size) {
    if (body.size() + size > kMaxJsonBodyBytes) {
      too_large = true;  // keep reading: the client gets the answer instead of a reset connection
      return true;
    }
    body.append(data, size);
    return true;
  });
  if (too_large) throw HttpError(413, concat("the JSON body is larger than ", kMaxJsonBodyBytes, " bytes"));
  return parse_json_body(body);
}

std::string json_string(const Json& body, const std::string& key, const std::string& fallback = "") {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  check(body[key].is_string(), "\"", key, "\" must be a string");
  return body[key].get<std::string>();
}

std::optional<int64_t> json_id(const Json& body, const std::string& key) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  check(body[key].is_number_integer() && body[key].get<int64_t>() > 0, "\"", key, "\" must be a positive integer id");
  return body[key].get<int64_t>();
}

std::string random_token() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string token;
  for (int i = 0; i < kTokenWords; ++i) {
    uint32_t word = device();
    for (int nibble = 0; nibble < 8; ++nibble, word >>= 4) token += kHex[word & 0xf];
  }
  return token;
}

// Compares in time independent of where the strings differ.
bool same_secret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < given.size(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return difference == 0;
}

std::string cookie_value(const std::string& header, const std::string& name) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(start, end - start);
    const size_t first = pair.find_first_not_of(' ');
    pair = first == std::string::npos ? "" : pair.substr(first);
    if (pair.starts_with(name + "=")) return pair.substr(name.size() + 1);
    start = end + 1;
  }
  return "";
}

std::string content_type_for(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".map", "application/json"}, {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"}};
  const auto found = kTypes.find(fs::path(path).extension().string());
  return found == kTypes.end() ? "application/octet-stream" : found->second;
}

// Removes a temporary upload file or folder unless released.
class TemporaryPath {
 public:
  explicit TemporaryPath(fs::path path) : path_(std::move(path)) {}
  ~TemporaryPath() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryPath(const TemporaryPath&) = delete;
  TemporaryPath& operator=(const TemporaryPath&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// ---- JSON of records ------------------------------------------------------------------------------

Json optional_id_json(const std::optional<int64_t>& id) { return id ? Json(*id) : Json(nullptr); }
Json optional_text_json(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Json model_json(const ModelRecord& model) {
  return {{"id", model.id},
          {"name", model.name},
          {"project_id", optional_id_json(model.project_id)},
          {"parent_id", optional_id_json(model.parent_id)},
          {"precision", model.precision},
          {"size_bytes", model.size_bytes},
          {"created_at", model.created_at},
          {"job_id", optional_id_json(model.job_id)},
          {"path", model.path},
          {"source", model.job_id ? "quantized" : (model.owned ? "upload" : "path")}};
}

Json dataset_json(const DatasetRecord& dataset) {
  return {{"id", dataset.id},
          {"name", dataset.name},
          {"path", dataset.path},
          {"kind", dataset.kind},
          {"sample_count", dataset.sample_count},
          {"has_labels", dataset.has_labels},
          {"created_at", dataset.created_at},
          {"source", dataset.owned ? "upload" : "path"}};
}

Json job_json(const JobRecord& job) {
  return {{"id", job.id},
          {"type", job.type},
          {"project_id", job.project_id},
          {"model_id", job.model_id},
          {"params", job.params},
          {"status", job.status},
          {"progress", {{"stage", job.progress.stage}, {"done", job.progress.done}, {"total", job.progress.total}}},
          {"error", optional_text_json(job.error)},
          {"result", job.result},
          {"created_at", job.created_at},
          {"started_at", optional_text_json(job.started_at)},
          {"finished_at", optional_text_json(job.finished_at)}};
}

template <typename Record, typename ToJson>
Json list_json(const std::vector<Record>& records, ToJson&& to_json) {
  Json list = Json::array();
  for (const Record& record : records) list.push_back(to_json(record));
  return list;
}

bool model_is_int8(const Model& model) {
  for (const Node& node : model.graph.nodes)
    if (is_int8_op_type(node.domain.empty() ? node.op_type : node.domain + "." + node.op_type)) return true;
  return false;
}

// ---- Multipart uploads ----------------------------------------------------------------------------

// Receives a multipart/form-data request part by part (httplib's content reader): text fields into
// memory (capped), file parts streamed to disk through CappedFileWriter. The first error is kept and
// the rest of the body is read and dropped, so the client gets the answer rather than a reset.
class MultipartReceiver {
 public:
  // Decides where a file part goes: returns the path to write and the cap, or throws Error.
  using FilePlanner = std::function<std::pair<fs::path, int64_t>(const std::string& field, const std::string& filename)>;
  // Called when a file part is complete (written and closed).
  using FileDone = std::function<void(const std::string& field, const std::string& filename, const fs::path& path)>;

  MultipartReceiver(std::set<std::string> text_fields, std::set<std::string> file_fields, FilePlanner plan,
                    FileDone done)
      : text_fields_(std::move(text_fields)),
        file_fields_(std::move(file_fields)),
        plan_(std::move(plan)),
        done_(std::move(done)) {}

  // Reads the whole request. Throws the first error met (after the body is consumed).
  void receive(const ContentReader& reader) {
    const bool completed = reader(
        [this](const httplib::MultipartFormData& part) {
          guarded([&] { begin_part(part); });
          return true;
        },
        [this](const char* data, size_t size) {
          guarded([&] { write(data, size); });
          return true;
        });
    guarded([&] { end_part(); });
    if (error_) std::rethrow_exception(error_);
    check(completed, "the upload was interrupted or is not valid multipart/form-data");
  }

  // Text fields received: field -> values.
  const std::multimap<std::string, std::string>& fields() const { return fields_; }
  std::string field(const std::string& name) const {
    const auto found = fields_.find(name);
    return found == fields_.end() ? "" : found->second;
  }

 private:
  template <typename Body>
  void guarded(Body&& body) {
    if (error_) return;
    try {
      body();
    } catch (...) {
      error_ = std::current_exception();
      writer_.reset();  // removes the partial file
      field_name_.clear();
    }
  }

  void begin_part(const httplib::MultipartFormData& part) {
    end_part();
    field_name_ = part.name;
    if (text_fields_.count(part.name) && part.filename.empty()) {
      in_text_ = true;
      text_.clear();
      return;
    }
    check(file_fields_.count(part.name), "unexpected form field \"", part.name, "\"");
    check(!part.filename.empty(), "form field \"", part.name, "\" must be a file");
    filename_ = part.filename;
    const auto [path, cap] = plan_(part.name, part.filename);
    writer_ = std::make_unique<CappedFileWriter>(path, cap, concat("upload '", part.filename, "'"));
  }

  void write(const char* data, size_t size) {
    if (in_text_) {
      check(text_.size() + size <= kMaxFormFieldBytes, "form field \"", field_name_, "\" is longer than ",
            kMaxFormFieldBytes, " bytes");
      text_.append(data, size);
    } else if (writer_) {
      writer_->write(data, size);
    }
  }

  void end_part() {
    if (in_text_) {
      fields_.emplace(field_name_, text_);
      in_text_ = false;
    } else if (writer_) {
      writer_->commit();
      const fs::path path = writer_->path();
      writer_.reset();
      done_(field_name_, filename_, path);
    }
    field_name_.clear();
  }

  std::set<std::string> text_fields_;
  std::set<std::string> file_fields_;
  FilePlanner plan_;
  FileDone done_;
  std::exception_ptr error_;
  std::string field_name_;
  std::string filename_;
  bool in_text_ = false;
  std::string text_;
  std::unique_ptr<CappedFileWriter> writer_;
  std::multimap<std::string, std::string> fields_;
};

// ---- The server -----------------------------------------------------------------------------------

class WorkbenchServer {
 public:
  explicit WorkbenchServer(const WorkbenchOptions& options)
      : options_(options),
        workspace_(options.workspace),
        database_(workspace_.database_path().string()),
        queue_(database_, [this](const JobRecord& job, JobContext& context) {
          return run_job(job, context, database_, workspace_);
        }),
        token_(random_token()) {
    if (!options_.web_dir.empty()) web_dir_ = user_directory(options_.web_dir, "--web-dir");
    for (const EmbeddedAsset& asset : embedded_assets()) assets_[std::string(asset.path)] = asset.content;
    clear_uploads();
    const int64_t failed = database_.mark_unfinished_jobs_failed(JobQueue::kServerStopped);
    if (failed > 0)
      std::cerr << "octet workbench: " << failed << " job(s) left unfinished by the last run marked failed\n";
    routes();
  }

  const std::string& token() const { return token_; }
  const fs::path& workspace_root() const { return workspace_.root(); }

  // Binds the listening socket; returns the port.
  int bind() {
    if (options_.port == 0) {
      const int port = http_.bind_to_any_port(options_.host);
      check(port > 0, "cannot listen on ", options_.host, " (any port)");
      return port;
    }
    check(http_.bind_to_port(options_.host, options_.port), "cannot listen on ", options_.host, ":", options_.port,
          " (in use? try --port 0 for any free port)");
    return options_.port;
  }

  // Serves until stop(). The job worker runs meanwhile.
  void serve() {
    queue_.start();
    http_.listen_after_bind();
    queue_.stop();
  }

  void stop() { http_.stop(); }

 private:
  void clear_uploads() {
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(workspace_.uploads_dir(), error))
      fs::remove_all(entry.path(), error);
  }

  bool authorized(const Request& request) const {
    if (request.has_param("token")) return same_secret(request.get_param_value("token"), token_);
    const std::string authorization = request.get_header_value("Authorization");
    if (authorization.starts_with("Bearer ")) return same_secret(authorization.substr(7), token_);
    return same_secret(cookie_value(request.get_header_value("Cookie"), kTokenCookie), token_);
  }

  void routes() {
    http_.set_payload_max_length(kMaxPayloadBytes);
    http_.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                               {"Referrer-Policy", "no-referrer"},
                               {"X-Frame-Options", "DENY"}});
    http_.set_pre_routing_handler([this](const Request& request, Response& response) {
      if (!authorized(request)) {
        if (request.path.starts_with("/api/") || request.path == "/api") {
          send_error(response, 401, "missing or wrong access token");
        } else {
          response.status = 401;
          response.set_content(
              "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>octet workbench</title></head><body>"
              "<h1>401: missing or wrong access token</h1><p>Open the URL that <code>octet workbench</code> printed "
              "(it ends with <code>?token=...</code>).</p></body></html>",
              "text/html; charset=utf-8");
        }
        return httplib::Server::HandlerResponse::Handled;
      }
      if (request.has_param("token"))
        response.set_header("Set-Cookie", concat(kTokenCookie, "=", token_, "; HttpOnly; SameSite=Strict; Path=/"));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http_.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& request, Response& response) {
      if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      const std::string message = response.status == 404 ? concat("no such resource: ", request.method, " ", request.path)
                                                          : concat("HTTP error ", response.status);
      if (request.path.starts_with("/api/")) {
        response.set_content(Json({{"error", single_line(message)}}).dump(), "application/json");
      } else {
        response.set_content(message + "\n", "text/plain; charset=utf-8");
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    http_.set_exception_handler([](const Request&, Response& response, std::exception_ptr error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& exception) {
        send_error(response, 500, exception.what());
      } catch (...) {
        send_error(response, 500, "unexpected internal error");
      }
    });

    const auto get = [this](const std::string& pattern, auto handler) {
      http_.Get(pattern, [handler](const Request& request, Response& response) {
        answer(response, [&] { handler(request, response); });
      });
    };
    const auto post = [this](const std::string& pattern, auto handler) {
      http_.Post(pattern, [handler](const Request& request, Response& response, const ContentReader& reader) {
        answer(response, [&] { handler(request, response, reader); });
      });
    };

    get("/api/health", [this](const Request&, Response& response) {
      send_json(response, 200,
                {{"status", "ok"},
                 {"version", OCTET_VERSION},
                 {"jobs_queued", database_.count_jobs("queued")},
                 {"jobs_running", database_.count_jobs("running")}});
    });

    get("/api/models", [this](const Request&, Response& response) {
      send_json(response, 200, list_json(database_.list_models(), model_json));
    });
    get(R"(/api/models/(\d+))", [this](const Request& request, Response& response) {
      send_json(response, 200, model_json(model_record(path_id(request))));
    });
    get(R"(/api/models/(\d+)/inspect)", [this](const Request& request, Response& response) {
      send_json(response, 200, inspect(model_record(path_id(request)), request.get_param_value("shape")));
    });
    get(R"(/api/models/(\d+)/download)", [this](const Request& request, Response& response) {
      download(model_record(path_id(request)), response);
    });
    get(R"(/api/models/(\d+)/config)", [this](const Request& request, Response& response) {
      const ModelRecord model = model_record(path_id(request));
      if (model.config.empty())
        throw HttpError(404, concat("model ", model.id, " was not made by a quantization job here: it has no config"));
      response.set_header("Content-Disposition",
                          concat("attachment; filename=\"", download_file_name(model.name, ".config.json"), "\""));
      response.set_content(model.config, "application/json");
    });
    post("/api/models", [this](const Request& request, Response& response, const ContentReader& reader) {
      send_json(response, 201, model_json(create_model(request, reader)));
    });

    get("/api/datasets", [this](const Request&, Response& response) {
      send_json(response, 200, list_json(database_.list_datasets(), dataset_json));
    });
    get(R"(/api/datasets/(\d+))", [this](const Request& request, Response& response) {
      send_json(response, 200, dataset_json(dataset_record(path_id(request))));
    });
    post("/api/datasets", [this](const Request& request, Response& response, const ContentReader& reader) {
      send_json(response, 201, dataset_json(create_dataset(request, reader)));
    });

    get("/api/projects", [this](const Request&, Response& response) {
      Json list = Json::array();
      for (const ProjectRecord& project : database_.list_projects()) list.push_back(project_json(project));
      send_json(response, 200, list);
    });
    get(R"(/api/projects/(\d+))", [this](const Request& request, Response& response) {
      send_json(response, 200, project_json(project_record(path_id(request))));
    });
    get(R"(/api/projects/(\d+)/compare)", [this](const Request& request, Response& response) {
      send_json(response, 200, compare_project(database_, project_record(path_id(request))));
    });
    get(R"(/api/projects/(\d+)/report)", [this](const Request& request, Response& response) {
      const ProjectRecord project = project_record(path_id(request));
      response.set_header("Content-Disposition",
                          concat("attachment; filename=\"", download_file_name(project.name, "-report.html"), "\""));
      response.set_content(project_report_html(database_, project), "text/html; charset=utf-8");
    });
    post("/api/projects", [this](const Request&, Response& response, const ContentReader& reader) {
      send_json(response, 201, project_json(create_project(read_json_body(reader))));
    });

    get("/api/jobs", [this](const Request& request, Response& response) {
      std::optional<int64_t> project_id;
      if (request.has_param("project_id")) {
        const std::string text = request.get_param_value("project_id");
        check(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 19,
              "project_id '", text, "' is not an id");
        project_id = std::stoll(text);
      }
      send_json(response, 200, list_json(database_.list_jobs(project_id), job_json));
    });
    get(R"(/api/jobs/(\d+))", [this](const Request& request, Response& response) {
      send_json(response, 200, job_json(job_record(path_id(request))));
    });
    post("/api/jobs", [this](const Request&, Response& response, const ContentReader& reader) {
      send_json(response, 201, job_json(create_job(read_json_body(reader))));
    });
    post(R"(/api/jobs/(\d+)/cancel)", [this](const Request& request, Response& response, const ContentReader& reader) {
      reader([](const char*, size_t) { return true; });  // an optional body is ignored
      const JobRecord job = job_record(path_id(request));
      if (!queue_.cancel(job.id))
        throw HttpError(409, concat("job ", job.id, " has already ended (", job_record(job.id).status, ")"));
      send_json(response, 200, job_json(job_record(job.id)));
    });

    get(R"(/api(/.*)?)", [](const Request& request, Response&) {
      throw HttpError(404, concat("no such API route: GET ", request.path));
    });
    post(R"(/.*)", [](const Request& request, Response&, const ContentReader& reader) {
      reader([](const char*, size_t) { return true; });
      throw HttpError(404, concat("no such API route: POST ", request.path));
    });
    http_.Get(R"(/.*)", [this](const Request& request, Response& response) { serve_static(request, response); });
  }

  // ---- Records ------------------------------------------------------------------------------------

  ModelRecord model_record(int64_t id) {
    auto model = database_.find_model(id);
    if (!model) throw HttpError(404, concat("model ", id, " does not exist"));
    return *model;
  }
  DatasetRecord dataset_record(int64_t id) {
    auto dataset = database_.find_dataset(id);
    if (!dataset) throw HttpError(404, concat("data set ", id, " does not exist"));
    return *dataset;
  }
  ProjectRecord project_record(int64_t id) {
    auto project = database_.find_project(id);
    if (!project) throw HttpError(404, concat("project ", id, " does not exist"));
    return *project;
  }
  JobRecord job_record(int64_t id) {
    auto job = database_.find_job(id);
    if (!job) throw HttpError(404, concat("job ", id, " does not exist"));
    return *job;
  }

  Json project_json(const ProjectRecord& project) {
    return {{"id", project.id},
            {"name", project.name},
            {"model_id", project.model_id},
            {"dataset_id", project.dataset_id},
            {"preprocess", project.preprocess},
            {"created_at", project.created_at},
            {"models", list_json(database_.project_models(project), model_json)},
            {"jobs", list_json(database_.list_jobs(project.id), job_json)}};
  }

  // ---- Models -------------------------------------------------------------------------------------

  ModelRecord create_model(const Request& request, const ContentReader& reader) {
    if (!request.is_multipart_form_data()) {
      const Json body = read_json_body(reader);
      for (const auto& [key, value] : body.items())
        check(key == "path" || key == "name", "unknown key \"", key, "\" (expected path, name)");
      const fs::path path = user_file(json_string(body, "path"), "path");
      return register_model(path, json_string(body, "name", path.stem().string()), false);
    }
    const fs::path upload = workspace_.uploads_dir() / concat(random_name(), ".onnx");
    TemporaryPath temporary(upload);
    std::string filename;
    MultipartReceiver receiver(
        {"name"}, {"file"},
        [&](const std::string&, const std::string& name) {
          check(filename.empty(), "only one model file per upload");
          filename = name;
          std::string extension = fs::path(name).extension().string();
          for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          check(extension == ".onnx", "upload '", name, "': not an .onnx file");
          return std::make_pair(upload, kMaxModelUploadBytes);
        },
        [](const std::string&, const std::string&, const fs::path&) {});
    receiver.receive(reader);
    check(!filename.empty(), "no model file: send it in the form field \"file\"");
    const fs::path stored = workspace_.confine(workspace_.models_dir() / concat("upload-", random_name(), ".onnx"));
    std::string name = receiver.field("name");
    if (name.empty()) name = fs::path(filename).filename().stem().string();
    // Checked before it is kept: a file that does not parse as ONNX is refused.
    const Model model = [&] {
      try {
        return load_model(upload.string(), {.check = true, .infer_shapes = false});
      } catch (const Error& error) {
        throw Error(concat("upload '", filename, "': not a valid ONNX model: ", error.what()));
      }
    }();
    fs::rename(upload, stored);
    try {
      return insert_model(stored, name, model, true);
    } catch (...) {
      std::error_code ignored;
      fs::remove(stored, ignored);
      throw;
    }
  }

  ModelRecord register_model(const fs::path& path, const std::string& name, bool owned) {
    const Model model = [&] {
      try {
        return load_model(path.string(), {.check = true, .infer_shapes = false});
      } catch (const Error& error) {
        const std::string message = error.what();
        if (message.starts_with(path.string())) throw;
        throw Error(concat(path.string(), ": ", message));
      }
    }();
    return insert_model(path, name, model, owned);
  }

  ModelRecord insert_model(const fs::path& path, const std::string& name, const Model& model, bool owned) {
    check(!name.empty(), "model name is empty");
    ModelRecord record;
    record.name = name;
    record.path = path.string();
    record.precision = model_is_int8(model) ? "int8" : "fp32";
    record.size_bytes = static_cast<int64_t>(fs::file_size(path));
    record.owned = owned;
    return database_.insert_model(record);
  }

  Json inspect(const ModelRecord& model, const std::string& shape_text) {
    const auto key = std::make_pair(model.id, shape_text);
    {
      std::lock_guard lock(inspect_mutex_);
      const auto cached = inspect_cache_.find(key);
      if (cached != inspect_cache_.end()) return cached->second;
    }
    std::map<std::string, Shape> shapes;
    if (!shape_text.empty()) {
      shapes = parse_shape_parameter(Json(shape_text), "shape");
    } else if (model.project_id) {
      const auto project = database_.find_project(*model.project_id);
      const auto dataset = project ? database_.find_dataset(project->dataset_id) : std::nullopt;
      if (dataset) {
        const Model file = load_model(model.path, {.check = false, .infer_shapes = false});
        shapes = sample_input_shapes(file.graph.inputs, *dataset, project->preprocess);
      }
    }
    std::map<std::string, std::string> fp32_reasons;
    if (model.job_id) {
      const auto job = database_.find_job(*model.job_id);
      if (job && job->result.is_object() && job->result.contains("summary"))
        for (const Json& node : job->result["summary"].value("fp32", Json::array()))
          fp32_reasons[node.value("node", "")] = node.value("reason", "");
    }
    Json json = inspect_model(model.path, shapes, fp32_reasons);
    json["model_id"] = model.id;
    std::lock_guard lock(inspect_mutex_);
    inspect_cache_[key] = json;
    return json;
  }

  void download(const ModelRecord& model, Response& response) {
    auto file = std::make_shared<std::ifstream>(model.path, std::ios::binary);
    if (!file->good()) throw HttpError(404, concat("model ", model.id, ": its file '", model.path, "' is gone"));
    const auto size = static_cast<size_t>(fs::file_size(model.path));
    response.set_header("Content-Disposition",
                        concat("attachment; filename=\"", download_file_name(model.name, ".onnx"), "\""));
    response.set_content_provider(size, "application/octet-stream",
                                  [file](size_t offset, size_t length, httplib::DataSink& sink) {
                                    std::vector<char> chunk(std::min(length, kDownloadChunkBytes));
                                    file->seekg(static_cast<std::streamoff>(offset));
                                    file->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                                    const auto count = static_cast<size_t>(file->gcount());
                                    if (count == 0) return false;
                                    return sink.write(chunk.data(), count);
                                  });
  }

  // ---- Data sets ----------------------------------------------------------------------------------

  DatasetRecord create_dataset(const Request& request, const ContentReader& reader) {
    if (!request.is_multipart_form_data()) {
      const Json body = read_json_body(reader);
      for (const auto& [key, value] : body.items())
        check(key == "path" || key == "name", "unknown key \"", key, "\" (expected path, name)");
      const fs::path folder = user_directory(json_string(body, "path"), "path");
      return register_dataset(folder, json_string(body, "name", folder.filename().string()), false);
    }
    const std::string upload_name = random_name();
    const fs::path folder = workspace_.uploads_dir() / upload_name;
    const fs::path archive = workspace_.uploads_dir() / concat(upload_name, ".zip");
    TemporaryPath temporary_folder(folder);
    TemporaryPath temporary_archive(archive);
    fs::create_directory(folder);
    std::set<std::string> names;
    std::string archive_name;
    int64_t total_bytes = 0;
    MultipartReceiver receiver(
        {"name"}, {"files", "archive"},
        [&](const std::string& field, const std::string& filename) -> std::pair<fs::path, int64_t> {
          if (field == "archive") {
            check(archive_name.empty(), "only one archive per upload");
            check(names.empty(), "send either files or one archive, not both");
            std::string extension = fs::path(filename).extension().string();
            for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            check(extension == ".zip", "upload '", filename, "': the archive must be a .zip file");
            archive_name = filename;
            return {archive, kMaxArchiveBytes};
          }
          check(archive_name.empty(), "send either files or one archive, not both");
          const std::string name = flat_file_name(filename, "upload");
          dataset_file_type(name);
          check(names.insert(name).second, "upload: two files named '", name, "'");
          return {folder / name, kMaxDatasetFileBytes};
        },
        [&](const std::string& field, const std::string& filename, const fs::path& path) {
          total_bytes += static_cast<int64_t>(fs::file_size(path));
          if (total_bytes > kMaxArchiveBytes)
            throw TooLargeError(concat("upload: the files exceed the ", kMaxArchiveBytes / kMebibyte, " MiB limit"));
          if (field == "files")
            check_file_signature(path, dataset_file_type(path.filename().string()), concat("upload '", filename, "'"));
        });
    receiver.receive(reader);
    if (!archive_name.empty()) {
      extract_zip(archive, folder, concat("archive '", archive_name, "'"));
    } else {
      check(!names.empty(), "no files: send them in the form field \"files\" (repeated) or one .zip in \"archive\"");
    }
    std::string name = receiver.field("name");
    if (name.empty()) name = archive_name.empty() ? concat("upload of ", names.size(), " files")
                                                  : fs::path(archive_name).stem().string();
    const fs::path stored = workspace_.confine(workspace_.datasets_dir() / concat("upload-", upload_name));
    const DatasetSummary summary = summarize_dataset(folder);  // refuses an empty or mixed folder
    fs::rename(folder, stored);
    temporary_folder.release();
    try {
      return insert_dataset(stored, name, summary, true);
    } catch (...) {
      std::error_code ignored;
      fs::remove_all(stored, ignored);
      throw;
    }
  }

  DatasetRecord register_dataset(const fs::path& folder, const std::string& name, bool owned) {
    return insert_dataset(folder, name, summarize_dataset(folder), owned);
  }

  DatasetRecord insert_dataset(const fs::path& folder, const std::string& name, const DatasetSummary& summary,
                               bool owned) {
    check(!name.empty(), "data set name is empty");
    DatasetRecord record;
    record.name = name;
    record.path = folder.string();
    record.kind = summary.kind;
    record.sample_count = summary.sample_count;
    record.has_labels = summary.has_labels;
    record.owned = owned;
    return database_.insert_dataset(record);
  }

  // ---- Projects and jobs --------------------------------------------------------------------------

  ProjectRecord create_project(const Json& body) {
    for (const auto& [key, value] : body.items())
      check(key == "name" || key == "model_id" || key == "dataset_id" || key == "preprocess", "unknown key \"", key,
            "\" (expected name, model_id, dataset_id, preprocess)");
    const auto model_id = json_id(body, "model_id");
    const auto dataset_id = json_id(body, "dataset_id");
    check(model_id.has_value(), "\"model_id\" is required");
    check(dataset_id.has_value(), "\"dataset_id\" is required");
    const ModelRecord model = model_record(*model_id);
    const DatasetRecord dataset = dataset_record(*dataset_id);
    ProjectRecord project;
    project.name = json_string(body, "name", model.name);
    project.model_id = model.id;
    project.dataset_id = dataset.id;
    project.preprocess = json_string(body, "preprocess");
    if (dataset.kind == "images") {
      check(!project.preprocess.empty(), "data set ", dataset.id,
            " holds images: \"preprocess\" must say how to make them model inputs (e.g. ppocr-cls)");
      parse_preprocess_spec(project.preprocess);
    } else {
      check(project.preprocess.empty(), "data set ", dataset.id,
            " holds .npy tensors, which are fed as they are: \"preprocess\" must be empty");
    }
    check(!project.name.empty(), "project name is empty");
    return database_.insert_project(project);
  }

  JobRecord create_job(const Json& body) {
    for (const auto& [key, value] : body.items())
      check(key == "type" || key == "project_id" || key == "model_id" || key == "params", "unknown key \"", key,
            "\" (expected type, project_id, model_id, params)");
    const std::string type = json_string(body, "type");
    const auto project_id = json_id(body, "project_id");
    check(project_id.has_value(), "\"project_id\" is required");
    const ProjectRecord project = project_record(*project_id);
    const ModelRecord model = model_record(json_id(body, "model_id").value_or(project.model_id));
    check(model.id == project.model_id || model.project_id == project.id, "model ", model.id,
          " is not a version of project ", project.id);
    JobRecord job;
    job.type = type;
    job.project_id = project.id;
    job.model_id = model.id;
    job.params = body.contains("params") && !body["params"].is_null() ? body["params"] : Json::object();
    validate_job_params(type, job.params);
    job = database_.insert_job(job);
    queue_.notify();
    return job;
  }

  // ---- The page -----------------------------------------------------------------------------------

  void serve_static(const Request& request, Response& response) {
    std::string path = request.path.substr(1);
    if (path.empty()) path = "index.html";
    if (path.starts_with("api/")) {
      send_error(response, 404, concat("no such API route: GET ", request.path));
      return;
    }
    response.set_header("Cache-Control", "no-cache");
    if (web_dir_.empty() || path.starts_with("vendor/")) {
      const auto asset = assets_.find(path);
      if (asset == assets_.end()) {
        response.status = 404;
        response.set_content(concat("not found: /", path, path == "index.html" ? " (no page was built into this binary)" : "",
                                    "\n"),
                             "text/plain; charset=utf-8");
        return;
      }
      response.set_content(asset->second.data(), asset->second.size(), content_type_for(path));
      return;
    }
    // Served from disk (--web-dir): only regular files below that folder.
    const fs::path file = web_dir_ / path;
    std::error_code error;
    if (path.find('\0') != std::string::npos || !is_within(web_dir_, file) || !fs::is_regular_file(file, error)) {
      response.status = 404;
      response.set_content(concat("not found: /", path, "\n"), "text/plain; charset=utf-8");
      return;
    }
    std::ifstream stream(file, std::ios::binary);
    std::stringstream content;
    content << stream.rdbuf();
    response.set_content(content.str(), content_type_for(path));
  }

  WorkbenchOptions options_;
  Workspace workspace_;
  Database database_;
  JobQueue queue_;
  std::string token_;
  fs::path web_dir_;
  std::map<std::string, std::string_view> assets_;
  httplib::Server http_;
  std::mutex inspect_mutex_;
  std::map<std::pair<int64_t, std::string>, Json> inspect_cache_;
};

// Blocks SIGINT and SIGTERM in this thread (and the threads it starts) so that one thread receives
// them with sigwait(); restores the mask when destroyed.
class BlockedStopSignals {
 public:
  BlockedStopSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  }
  ~BlockedStopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockedStopSignals(const BlockedStopSignals&) = delete;
  BlockedStopSignals& operator=(const BlockedStopSignals&) = delete;
  const sigset_t& signals() const { return signals_; }

 private:
  sigset_t signals_;
  sigset_t previous_;
};

}  // namespace

void run_workbench(const WorkbenchOptions& options, std::ostream& out) {
  const BlockedStopSignals blocked;
  WorkbenchServer server(options);
  const int port = server.bind();

  // The first SIGINT/SIGTERM stops the server (the running job ends "failed: server stopped"); a
  // second one exits at once. The main thread wakes this thread with SIGTERM once it is done.
  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    int signal = 0;
    sigwait(&blocked.signals(), &signal);
    if (finished) return;
    std::cerr << "octet workbench: stopping (press Ctrl-C again to quit at once)\n";
    server.stop();
    sigwait(&blocked.signals(), &signal);
    if (!finished) std::_Exit(130);
  });

  const auto end_signal_thread = [&] {
    finished = true;
    kill(getpid(), SIGTERM);  // blocked everywhere: only the signal thread's sigwait takes it
    signal_thread.join();
  };
  try {
    const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    out << "octet workbench: workspace " << server.workspace_root().string() << "\n";
    out << "octet workbench: open http://" << host << ":" << port << "/?token=" << server.token() << std::endl;
    server.serve();
  } catch (...) {
    end_signal_thread();
    throw;
  }
  end_signal_thread();
}

}  // namespace octet::workbench
