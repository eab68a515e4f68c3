// The CPU backend's thread pool: the calling thread plus a fixed set of helper threads, started
// on first use and kept for the life of the process. One parallelFor runs at a time (calls are
// serialised).
//
// Why it looks the way it does (each point measured on a 2-core machine, where a second mode of
// 1.2-2x between two prepares of the same GEMV was the problem):
//  - Tasks are assigned statically (participant p runs tasks p, p + size, ...), never taken from
//    a shared counter: with a counter, whichever thread woke first took both halves when the
//    other was late, so a run was either split or serial depending on wake-up timing.
//  - The caller is participant 0 and works instead of sleeping, so `threads` threads share
//    `threads` cores; a sleeping caller plus `threads` workers meant one thread too many and a
//    futex wake-up on both sides of every call.
//  - Helpers spin briefly (kSpinNs) for the next job before sleeping on a condition variable, and
//    the caller spins briefly for them to finish: back-to-back runs and the several barriers of a
//    split GEMM then cost no futex round trips. The spin is short so an idle pool costs nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
  /** True once global() has started the helpers (for reporting whether a cold run paid the start). */
  static bool globalStarted();
  /** The size global() has or will have, without starting it. */
  static int configuredSize();

  /** A pool of `threads` participants: the caller and threads - 1 helpers (at least one helper, for runOnHelper). */
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /** Participants in parallelFor: the caller and the helpers it uses. */
  int size() const { return threads_; }

  /**
   * Runs fn(task, worker) for task in [0, tasks) and returns when all are done. Task t runs on
   * participant t % size() (0 is the calling thread), and worker is that participant's index, in
   * [0, size()), for per-worker scratch memory. The first exception thrown by a task is rethrown
   * here after every participant has stopped.
   */
  void parallelFor(int tasks, const std::function<void(int task, int worker)>& fn);

  /** Runs fn(0, 0) on the first helper thread and waits for it: what a "launch" on the CPU costs. */
  void runOnHelper(const std::function<void(int task, int worker)>& fn);

 private:
  void dispatch(int tasks, const std::function<void(int, int)>& fn, bool callerRuns);
  void runShare(int participant, int participants);
  void record(std::exception_ptr error);
  void helperLoop(int helper);

  int threads_;
  std::vector<std::thread> helpers_;
  std::mutex callMutex_;  // serialises parallelFor callers
  std::mutex mutex_;      // guards sleeping on wake_ / done_ and error_
  std::condition_variable wake_;
  std::condition_variable done_;
  // The job, written by the caller before generation_ is bumped (release) and read by helpers after
  // they see the new generation (acquire).
  const std::function<void(int, int)>* job_ = nullptr;
  int tasks_ = 0;
  bool callerRuns_ = true;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // helpers that have not yet finished (or acknowledged) this generation
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

}  // namespace gpubench::cpu
