#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace gpubench::cpu {

namespace {
std::atomic<bool> started{false};

/**
 * How long a helper waits busily for the next job, and the caller for the helpers, before sleeping.
 * Longer than the gap between two back-to-back runs or two barriers of a split GEMM (a few µs),
 * short enough that an idle pool gives its cores back at once.
 */
constexpr int64_t kSpinNs = 50'000;
/** The first part of that wait, polled without giving up the core. */
constexpr int64_t kPauseNs = 3'000;

int configuredThreads() {
  if (const char* env = std::getenv("GPUBENCH_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n > 0 && n <= 1024) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : (int)hw;
}

inline void cpuRelax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/**
 * Waits busily until done() or kSpinNs have passed; true when done() held. The first few µs poll
 * with the CPU's pause hint; after that each poll yields the core, because when the thread being
 * waited for shares this core (other processes hold the rest) a pure spin would keep it off the
 * core for the whole budget: measured as a stable 6x slower GEMV on a loaded 2-core machine.
 */
template <class Done>
bool spinUntil(Done done) {
  const int64_t start = monoNs();
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (done()) return true;
      cpuRelax();
    }
    const int64_t elapsed = monoNs() - start;
    if (elapsed >= kSpinNs) return done();
    if (elapsed >= kPauseNs) std::this_thread::yield();
  }
}
}  // namespace

ThreadPool& ThreadPool::global() {
  // Started on first use, never destroyed: helpers must outlive every runnable, and joining
  // threads from a static destructor at process exit can deadlock.
  static ThreadPool* pool = [] {
    auto* p = new ThreadPool(configuredThreads());
    started.store(true);
    return p;
  }();
  return *pool;
}

bool ThreadPool::globalStarted() { return started.load(); }

int ThreadPool::configuredSize() { return configuredThreads(); }

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  const int helpers = threads_ > 1 ? threads_ - 1 : 1;
  for (int i = 0; i < helpers; i++) helpers_.emplace_back([this, i] { helperLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : helpers_) t.join();
}

void ThreadPool::parallelFor(int tasks, const std::function<void(int, int)>& fn) { dispatch(tasks, fn, true); }

void ThreadPool::runOnHelper(const std::function<void(int, int)>& fn) { dispatch(1, fn, false); }

void ThreadPool::record(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_) error_ = error;
}

/** The tasks of one participant: p, p + participants, ... */
void ThreadPool::runShare(int participant, int participants) {
  for (int t = participant; t < tasks_; t += participants) {
    try {
      (*job_)(t, participant);
    } catch (...) {
      record(std::current_exception());
    }
  }
}

void ThreadPool::dispatch(int tasks, const std::function<void(int, int)>& fn, bool callerRuns) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> call(callMutex_);
  const int helpers = (int)helpers_.size();
  // A single task for the caller, or a pool of one, runs inline: nothing to hand over.
  if (callerRuns && (tasks == 1 || threads_ == 1)) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  const int participants = callerRuns ? threads_ : helpers;
  error_ = nullptr;
  job_ = &fn;
  tasks_ = tasks;
  callerRuns_ = callerRuns;
  // Every helper acknowledges every job, those without a task too: the job's fields then stay put
  // until the last helper has read them, and no helper can skip a generation.
  pending_.store(helpers, std::memory_order_relaxed);
  {
    // Under the mutex so a helper between its check and its sleep cannot miss the new generation.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  if (callerRuns) runShare(0, participants);
  auto finished = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spinUntil(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, finished);
  }
  job_ = nullptr;
  if (error_) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
}

void ThreadPool::helperLoop(int helper) {
  uint64_t seen = 0;
  for (;;) {
    auto fresh = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spinUntil(fresh)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, fresh);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_relaxed)) return;
    const int participants = callerRuns_ ? threads_ : (int)helpers_.size();
    const int participant = callerRuns_ ? helper + 1 : helper;
    runShare(participant, participants);  // nothing when this job has no task for this participant
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Last one out: wake the caller in case it stopped spinning. Taking the mutex orders this
      // after the caller's check of its predicate, so the notification cannot be lost.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace gpubench::cpu
