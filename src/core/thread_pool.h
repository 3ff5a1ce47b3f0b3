// A fixed set of worker threads that runs parallel loops. The calling thread takes part, so a pool
// of N threads starts N - 1 workers. Sessions own one pool; kernels receive it through their context.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace octet {

class ThreadPool {
 public:
  // `threads` <= 0 means one per core.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int thread_count() const { return thread_count_; }

  // Splits [0, count) into contiguous chunks and calls body(begin, end) on each, in parallel.
  // Returns when all chunks are done. Exceptions from the body are rethrown on the caller.
  // `min_chunk` keeps tiny loops on one thread.
  void parallel_for(int64_t count, const std::function<void(int64_t begin, int64_t end)>& body,
                    int64_t min_chunk = 1);

  static int core_count();

 private:
  void worker_loop(int worker_index);

  int thread_count_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0;
  int64_t chunks_ = 0;
  int64_t next_chunk_ = 0;
  int64_t chunks_done_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::mutex call_mutex_;  // one parallel_for at a time per pool
};

}  // namespace octet
