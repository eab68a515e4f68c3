// Device-side timing with CUDA events: a pair recorded around the work on the stream, read after
// the stream has finished. Events are reused across samples so timing allocates nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <vector>

namespace gpubench::cuda {

class EventTimer {
 public:
  EventTimer() = default;
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  ~EventTimer();

  /** Makes sure `pairs` start/stop pairs exist. */
  void reserve(size_t pairs);
  void start(size_t pair, cudaStream_t stream);
  void stop(size_t pair, cudaStream_t stream);
  /** Elapsed time of a recorded pair in ns; call after the stream is synchronised. */
  double elapsedNs(size_t pair) const;
  void release();

 private:
  std::vector<cudaEvent_t> starts_, stops_;
};

}  // namespace gpubench::cuda
