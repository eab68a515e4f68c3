// The CUDA part's host-side decisions, exposed to JavaScript as `cudaHost` so tests check them
// without a GPU (test/cuda-host.test.ts): launch geometry, timing plan, cuBLAS search order and
// choice, energy windowing, driver requirement. Each binding calls the very function the backend
// uses; nothing here touches a device.
#define NAPI_VERSION 8
#include <napi.h>

#include <map>

#include "../common/geometry.h"
#include "../common/timing_plan.h"
#include "cublas.h"
#include "driver.h"
#include "energy.h"

namespace gpubench::cuda {

namespace {

int64_t integer(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  return (int64_t)v.As<Napi::Number>().DoubleValue();
}

double number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string text(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> texts(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(text(a.Get(i), what));
  return out;
}

Napi::Array toArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) out.Set((uint32_t)i, values[i]);
  return out;
}

/** gemvRowsGeometry(m, smCount) */
Napi::Value GemvRows(const Napi::CallbackInfo& info) {
  const GemvRowsGeometry g = gemvRowsGeometry(integer(info[0], "m"), (int)integer(info[1], "smCount"));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blocks", (double)g.blocks);
  o.Set("warpsPerBlock", g.warpsPerBlock);
  return o;
}

/** gemvColsGeometry(m, n, smCount) */
Napi::Value GemvCols(const Napi::CallbackInfo& info) {
  const GemvColsGeometry g =
      gemvColsGeometry(integer(info[0], "m"), integer(info[1], "n"), (int)integer(info[2], "smCount"));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("colBlocks", (double)g.colBlocks);
  o.Set("rowSplits", (double)g.rowSplits);
  o.Set("rowsPerSplit", (double)g.rowsPerSplit);
  o.Set("workspaceFloats", (double)g.workspaceFloats);
  o.Set("colsPerBlock", GemvColsGeometry::kColsPerBlock);
  o.Set("rowLanes", GemvColsGeometry::kRowLanes);
  return o;
}

/** gemmGrid(m, n, batch, tileM, tileN) */
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const GemmGrid g = gemmGrid(integer(info[0], "m"), integer(info[1], "n"), integer(info[2], "batch"),
                              (int)integer(info[3], "tileM"), (int)integer(info[4], "tileN"));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("x", (double)g.x);
  o.Set("y", (double)g.y);
  o.Set("z", (double)g.z);
  o.Set("rowTiles", (double)g.rowTiles);
  return o;
}

/** planTiming(estimatedNsPerRun, workingSetBytes, cacheBytes, canFlush) */
Napi::Value Timing(const Napi::CallbackInfo& info) {
  const TimingPlan p = planTiming(number(info[0], "estimatedNsPerRun"), number(info[1], "workingSetBytes"),
                                  number(info[2], "cacheBytes"), info[3].ToBoolean().Value());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("runsPerSample", (double)p.runsPerSample);
  o.Set("flushL2", p.flushL2);
  o.Set("cache", p.cache);
  return o;
}

/** needsWarmup(lastRunEndNs, nowNs) */
Napi::Value Warmup(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), needsWarmup(number(info[0], "lastRunEndNs"), number(info[1], "nowNs")));
}

/** cublasCandidates(env: Record<string, string>, runtimeMajor): the search order, with real globbing. */
Napi::Value Candidates(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "env must be an object");
  Napi::Object envObject = info[0].As<Napi::Object>();
  std::map<std::string, std::string> env;
  Napi::Array keys = envObject.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    env[key] = text(envObject.Get(key), "env values");
  }
  const auto candidates = cublasCandidates(
      [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      (int)integer(info[1], "runtimeMajor"), globMatches);
  return toArray(info.Env(), candidates);
}

/** chooseCublas(candidates, failures: Record<file, why>): files missing from `failures` succeed. */
Napi::Value Choose(const Napi::CallbackInfo& info) {
  const auto candidates = texts(info[0], "candidates");
  if (!info[1].IsObject()) throw Napi::TypeError::New(info.Env(), "failures must be an object");
  Napi::Object failures = info[1].As<Napi::Object>();
  const CublasChoice c = chooseCublas(candidates, [&](const std::string& file) {
    return failures.Has(file) ? text(failures.Get(file), "failure") : std::string();
  });
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("index", c.index);
  o.Set("failures", toArray(info.Env(), c.failures));
  return o;
}

/** energyWindow(calls: [millijoules, executions, ns][], unit) */
Napi::Value Energy(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "calls must be an array");
  Napi::Array calls = info[0].As<Napi::Array>();
  EnergyWindow w;
  for (uint32_t i = 0; i < calls.Length(); i++) {
    Napi::Array c = calls.Get(i).As<Napi::Array>();
    w.add(number(c.Get(0u), "millijoules"), number(c.Get(1u), "executions"), number(c.Get(2u), "ns"));
  }
  Napi::Object o = Napi::Object::New(info.Env());
  const double j = w.joulesPerExecution();
  o.Set("joulesPerExecution", j < 0 ? info.Env().Null() : Napi::Number::New(info.Env(), j));
  o.Set("note", w.describe(text(info[1], "unit")));
  return o;
}

/** driver: { minimumBranch(runtimeVersion), releaseFromProcText(text), insufficientReason(words, runtimeVersion,
 * installed) } */
Napi::Value MinimumBranch(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), minimumDriverBranch((int)integer(info[0], "runtimeVersion")));
}
Napi::Value ReleaseFromProc(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), driverReleaseFromProcText(text(info[0], "text")));
}
Napi::Value InsufficientReason(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(),
                           insufficientDriverReason(text(info[0], "words"), (int)integer(info[1], "runtimeVersion"),
                                                    text(info[2], "installed")));
}

}  // namespace

Napi::Object hostBindings(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemvRowsGeometry", Napi::Function::New(env, GemvRows));
  o.Set("gemvColsGeometry", Napi::Function::New(env, GemvCols));
  o.Set("gemmGrid", Napi::Function::New(env, Gemm));
  o.Set("planTiming", Napi::Function::New(env, Timing));
  o.Set("needsWarmup", Napi::Function::New(env, Warmup));
  o.Set("cublasCandidates", Napi::Function::New(env, Candidates));
  o.Set("chooseCublas", Napi::Function::New(env, Choose));
  o.Set("energyWindow", Napi::Function::New(env, Energy));
  o.Set("minimumDriverBranch", Napi::Function::New(env, MinimumBranch));
  o.Set("driverReleaseFromProcText", Napi::Function::New(env, ReleaseFromProc));
  o.Set("insufficientDriverReason", Napi::Function::New(env, InsufficientReason));
  return o;
}

}  // namespace gpubench::cuda
