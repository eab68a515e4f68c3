#include "energy.h"

#include <cstdio>

namespace gpubench::cuda {

void EnergyWindow::add(double millijoules, double executions, double ns) {
  calls_++;
  if (!(millijoules >= 0)) {
    missing_ = true;
    return;
  }
  millijoules_ += millijoules;
  executions_ += executions;
  ns_ += ns;
}

double EnergyWindow::joulesPerExecution() const {
  if (missing_ || ns_ < kMinWindowNs || executions_ <= 0 || millijoules_ <= 0) return -1;
  return millijoules_ / 1000.0 / executions_;
}

std::string EnergyWindow::describe(const std::string& unit) const {
  char text[200];
  if (calls_ == 0) return "energy: no runs yet";
  if (missing_) return "energy: not reported (a counter reading failed during the measurement)";
  if (ns_ < kMinWindowNs) {
    snprintf(text, sizeof text,
             "energy: not reported (runs so far span %.0f ms; the counter needs a window of at least %.0f ms)",
             ns_ / 1e6, kMinWindowNs / 1e6);
    return text;
  }
  if (millijoules_ <= 0) return "energy: not reported (the counter did not move)";
  snprintf(text, sizeof text,
           "energy: %.4g J per %s, summed over %d run() calls (%.0f %ss in %.2f s, %.0f W on average)",
           joulesPerExecution(), unit.c_str(), calls_, executions_, unit.c_str(), ns_ / 1e9, millijoules_ / ns_ * 1e6);
  return text;
}

}  // namespace gpubench::cuda
