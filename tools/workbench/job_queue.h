// The workbench's background worker: one thread running the queued jobs one at a time, oldest
// first (the jobs table is the queue, so a queue survives nothing but its results: see
// Database::mark_unfinished_jobs_failed). A job reports progress through its JobContext, which is
// also where a cancel request takes effect: report() throws JobCancelled, the job's code unwinds,
// and the job ends "cancelled". A job that throws anything else ends "failed" with the message; the
// worker goes on with the next one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "database.h"

namespace octet::workbench {

// Thrown by JobContext::report() / check_cancelled() once the job is to stop.
class JobCancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "job cancelled"; }
};

// What a running job sees of the queue. Not thread-safe: the job's own thread only.
class JobContext {
 public:
  JobContext(Database& database, int64_t job_id, const std::atomic<bool>& cancel_requested)
      : database_(database), job_id_(job_id), cancel_requested_(cancel_requested) {}

  int64_t job_id() const { return job_id_; }
  // Records progress (written to the database at most every kProgressInterval, and always at a new
  // stage or when done == total), then throws JobCancelled when the job is to stop.
  void report(const std::string& stage, int64_t done, int64_t total);
  // Records progress only: for callbacks that must not throw (the library offers another way to stop).
  void record(const std::string& stage, int64_t done, int64_t total);
  // Whether the job is to stop (cancelled, or the server is stopping).
  bool cancel_requested() const { return cancel_requested_.load(); }
  // Throws JobCancelled when the job is to stop.
  void check_cancelled() const;

  static constexpr std::chrono::milliseconds kProgressInterval{250};

 private:
  Database& database_;
  int64_t job_id_;
  const std::atomic<bool>& cancel_requested_;
  JobProgress last_written_;
  std::chrono::steady_clock::time_point last_write_time_{};
};

// A finished job: its result JSON and, for a quantize job, the model version it made (inserted with
// the result in one transaction).
struct JobOutcome {
  Json result = Json::object();
  std::optional<ModelRecord> new_model;
};

// Runs one job (started: status running). Throws for a failure (the message becomes the job's error).
using JobRunner = std::function<JobOutcome(const JobRecord& job, JobContext& context)>;

class JobQueue {
 public:
  JobQueue(Database& database, JobRunner runner);
  ~JobQueue();  // stop()
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Starts the worker thread.
  void start();
  // Wakes the worker after a job was queued.
  void notify();
  // A queued job is cancelled at once; a running one is asked to stop (it ends "cancelled" at its
  // next progress report). Returns false when the job had already finished (or does not exist).
  bool cancel(int64_t job_id);
  // Asks the running job to stop (it ends "failed: server stopped", as after a crash) and joins the
  // worker. Queued jobs stay queued, and are failed at the next start.
  void stop();

  static constexpr const char* kServerStopped = "server stopped";

 private:
  void work();
  void run_one(const JobRecord& job);

  Database& database_;
  JobRunner runner_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool pending_ = true;  // look at the table at start: jobs may have been queued before start()
  std::optional<int64_t> running_job_;
  std::atomic<bool> cancel_running_{false};
};

}  // namespace octet::workbench
