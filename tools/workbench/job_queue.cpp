#include "job_queue.h"

#include <iostream>

namespace octet::workbench {

void JobContext::report(const std::string& stage, int64_t done, int64_t total) {
  record(stage, done, total);
  check_cancelled();
}

void JobContext::record(const std::string& stage, int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  const bool new_stage = stage != last_written_.stage || total != last_written_.total;
  if (new_stage || done == total || now - last_write_time_ >= kProgressInterval) {
    last_written_ = {stage, done, total};
    last_write_time_ = now;
    database_.update_progress(job_id_, last_written_);
  }
}

void JobContext::check_cancelled() const {
  if (cancel_requested_.load()) throw JobCancelled();
}

JobQueue::JobQueue(Database& database, JobRunner runner) : database_(database), runner_(std::move(runner)) {}

JobQueue::~JobQueue() { stop(); }

void JobQueue::start() {
  std::lock_guard lock(mutex_);
  if (worker_.joinable() || stopping_) return;
  worker_ = std::thread([this] { work(); });
}

void JobQueue::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

bool JobQueue::cancel(int64_t job_id) {
  if (database_.cancel_queued_job(job_id)) return true;
  std::lock_guard lock(mutex_);
  // start_next_job() and the running_job_ assignment happen under this mutex, so a job that was
  // not queued above is either this running one or finished. The worker records a job's end before
  // it clears running_job_: a job already recorded as ended is finished.
  if (running_job_ == job_id && database_.find_job(job_id)->status == "running") {
    cancel_running_ = true;
    return true;
  }
  return false;
}

void JobQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cancel_running_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void JobQueue::work() {
  while (true) {
    std::optional<JobRecord> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || pending_; });
      if (stopping_) return;
      try {
        job = database_.start_next_job();
      } catch (const std::exception& error) {
        std::cerr << "octet workbench: " << error.what() << "\n";
      }
      if (!job) {
        pending_ = false;
        continue;
      }
      running_job_ = job->id;
      cancel_running_ = false;
    }
    run_one(*job);
    std::lock_guard lock(mutex_);
    running_job_.reset();
  }
}

void JobQueue::run_one(const JobRecord& job) {
  JobContext context(database_, job.id, cancel_running_);
  // Every outcome is written; a failure to write one is logged (the job is then failed at the next
  // start, as after a crash).
  try {
    try {
      JobOutcome outcome = runner_(job, context);
      database_.finish_job(job.id, std::move(outcome.result), std::move(outcome.new_model));
    } catch (const JobCancelled&) {
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        stopping = stopping_;
      }
      if (stopping) {
        database_.end_job(job.id, "failed", kServerStopped);
      } else {
        database_.end_job(job.id, "cancelled", "cancelled while running");
      }
    } catch (const std::bad_alloc&) {
      database_.end_job(job.id, "failed", "out of memory");
    } catch (const std::exception& error) {
      database_.end_job(job.id, "failed", error.what());
    } catch (...) {
      database_.end_job(job.id, "failed", "unexpected internal error");
    }
  } catch (const std::exception& error) {
    std::cerr << "octet workbench: job " << job.id << ": cannot record its end: " << error.what() << "\n";
  }
}

}  // namespace octet::workbench
