// Energy per run from a coarse counter (NVML's total energy moves in steps of tens of ms, while
// one run(n) call lasts about 10 ms): readings before and after each run(n) call are summed over
// the whole measurement, and a figure is reported only once the calls add up to at least
// kMinWindowNs. Pure (no NVML here), so tests check it without a GPU.
#pragma once

#include <string>

namespace gpubench::cuda {

class EnergyWindow {
 public:
  static constexpr double kMinWindowNs = 1e9;

  /**
   * One run(n) call: the counter's change in millijoules (negative: no reading), the executions it
   * covered (runs, or launches for the launch workload) and its host duration in ns.
   */
  void add(double millijoules, double executions, double ns);
  /** Joules per execution over the window; negative while it is shorter than kMinWindowNs, after a missing reading, or
   * when the counter never moved. */
  double joulesPerExecution() const;
  /** The note saying what the figure covers, or why there is none. */
  std::string describe(const std::string& unit) const;

 private:
  double millijoules_ = 0, executions_ = 0, ns_ = 0;
  int calls_ = 0;
  bool missing_ = false;
};

}  // namespace gpubench::cuda
