#include "timer.h"

#include "check.h"

namespace gpubench::cuda {

EventTimer::~EventTimer() { release(); }

void EventTimer::reserve(size_t pairs) {
  while (starts_.size() < pairs) {
    cudaEvent_t a, b;
    check(cudaEventCreate(&a), "cudaEventCreate");
    if (cudaError_t e = cudaEventCreate(&b); e != cudaSuccess) {
      cudaEventDestroy(a);
      check(e, "cudaEventCreate");
    }
    starts_.push_back(a);
    stops_.push_back(b);
  }
}

void EventTimer::start(size_t pair, cudaStream_t stream) {
  check(cudaEventRecord(starts_[pair], stream), "cudaEventRecord");
}

void EventTimer::stop(size_t pair, cudaStream_t stream) {
  check(cudaEventRecord(stops_[pair], stream), "cudaEventRecord");
}

double EventTimer::elapsedNs(size_t pair) const {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, starts_[pair], stops_[pair]), "cudaEventElapsedTime");
  return (double)ms * 1e6;
}

void EventTimer::release() {
  for (auto e : starts_) cudaEventDestroy(e);
  for (auto e : stops_) cudaEventDestroy(e);
  starts_.clear();
  stops_.clear();
}

}  // namespace gpubench::cuda
