#include "thread_pool.h"

#include <cstdlib>

namespace gpubench::cpu {

namespace {
std::atomic<bool> started{false};

int configuredThreads() {
  if (const char* env = std::getenv("GPUBENCH_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n > 0 && n <= 1024) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : (int)hw;
}
}  // namespace

ThreadPool& ThreadPool::global() {
  // Started on first use, never destroyed: workers must outlive every runnable, and joining
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

ThreadPool::ThreadPool(int threads) {
  for (int i = 0; i < threads; i++) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallelFor(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> call(callMutex_);
  std::unique_lock<std::mutex> lock(mutex_);
  job_ = &fn;
  tasks_ = tasks;
  next_.store(0);
  busy_ = (int)workers_.size();
  error_ = nullptr;
  generation_++;
  wake_.notify_all();
  done_.wait(lock, [this] { return busy_ == 0; });
  job_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::workerLoop(int id) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(int, int)>* job;
    int tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      tasks = tasks_;
    }
    for (int t = next_.fetch_add(1); t < tasks; t = next_.fetch_add(1)) {
      try {
        (*job)(t, id);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0) done_.notify_one();
  }
}

}  // namespace gpubench::cpu
