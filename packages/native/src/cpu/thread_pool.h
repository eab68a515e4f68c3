// The CPU backend's thread pool: a fixed set of workers started on first use and kept for the
// life of the process. parallelFor hands out task indices dynamically; the calling thread only
// waits, so "launching" on the CPU backend means waking a worker and waiting for it, the CPU's
// analogue of a kernel launch. One parallelFor runs at a time (calls are serialised).
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gpubench::cpu {

class ThreadPool {
 public:
  /** The process-wide pool; its size is GPUBENCH_CPU_THREADS when set, else the hardware threads. */
  static ThreadPool& global();
  /** True once global() has started the workers (for reporting whether a cold run paid the start). */
  static bool globalStarted();
  /** The size global() has or will have, without starting it. */
  static int configuredSize();

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return (int)workers_.size(); }

  /**
   * Runs fn(task, worker) for task in [0, tasks) on the workers and returns when all are done.
   * worker is in [0, size()) and identifies per-worker scratch memory. The first exception thrown
   * by a task is rethrown here after every worker has stopped.
   */
  void parallelFor(int tasks, const std::function<void(int task, int worker)>& fn);

 private:
  void workerLoop(int id);

  std::vector<std::thread> workers_;
  std::mutex callMutex_;  // serialises parallelFor callers
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int, int)>* job_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  int busy_ = 0;
  unsigned long generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace gpubench::cpu
