#include "core/thread_pool.h"

#include <algorithm>

namespace octet {

int ThreadPool::core_count() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

ThreadPool::ThreadPool(int threads) : thread_count_(threads > 0 ? threads : core_count()) {
  for (int i = 1; i < thread_count_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& body,
                              int64_t min_chunk) {
  if (count <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, count / std::max<int64_t>(1, min_chunk));
  const int64_t chunks = std::min<int64_t>(thread_count_, max_chunks);
  if (chunks <= 1) {
    body(0, count);
    return;
  }
  std::lock_guard call_lock(call_mutex_);
  auto run_chunk = [&](int64_t chunk) {
    const int64_t begin = count * chunk / chunks;
    const int64_t end = count * (chunk + 1) / chunks;
    body(begin, end);
  };
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    count_ = count;
    chunks_ = chunks;
    next_chunk_ = 0;
    chunks_done_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  work_ready_.notify_all();
  // The caller works too.
  for (;;) {
    int64_t chunk;
    {
      std::lock_guard lock(mutex_);
      if (next_chunk_ >= chunks_) break;
      chunk = next_chunk_++;
    }
    try {
      run_chunk(chunk);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    ++chunks_done_;
  }
  std::unique_lock lock(mutex_);
  work_done_.wait(lock, [&] { return chunks_done_ == chunks_; });
  body_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker_loop(int /*worker_index*/) {
  uint64_t seen_generation = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || (generation_ != seen_generation && body_); });
    if (stopping_) return;
    seen_generation = generation_;
    while (body_ && next_chunk_ < chunks_) {
      const int64_t chunk = next_chunk_++;
      const auto* body = body_;
      const int64_t count = count_;
      const int64_t chunks = chunks_;
      lock.unlock();
      try {
        (*body)(count * chunk / chunks, count * (chunk + 1) / chunks);
      } catch (...) {
        lock.lock();
        if (!error_) error_ = std::current_exception();
        lock.unlock();
      }
      lock.lock();
      if (++chunks_done_ == chunks_) work_done_.notify_all();
    }
  }
}

}  // namespace octet
