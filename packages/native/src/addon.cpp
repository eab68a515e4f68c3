// The N-API surface of the addon (typed once, in addon-types.ts): build flags, device probes,
// and the Runnable class that wraps a backend's prepared workload. Host-side only; kernels live
// under cpu/, cuda/ and metal/. Every native failure becomes a JavaScript Error whose message is
// the native one; the TypeScript side adds the workload and the device.
#define NAPI_VERSION 8
#include <napi.h>

#include <memory>
#include <string>

#include "common/runnable.h"
#include "common/spec.h"
#include "cpu/runnable.h"
#include "cpu/train.h"
#include "napi-values.h"
#include "train-addon.h"
#if GPUBENCH_WITH_CUDA
#include "cuda/backend.h"
namespace gpubench::cuda {
Napi::Object hostBindings(Napi::Env env);  // cuda/host_bindings.cpp
}
#endif
#if GPUBENCH_WITH_METAL
#include "metal/backend.h"
#endif

namespace gpubench {
namespace {

/** Reads a core workload object; checks what memory safety depends on (core has validated the rest). */
WorkloadSpec parseWorkload(const Napi::Object& o) {
  WorkloadSpec w;
  const std::string kind = text(o, "kind", "");
  if (kind != "launch") {
    const std::string dtype = text(o, "dtype", "f32");
    if (dtype == "f32")
      w.dtype = Dtype::F32;
    else if (dtype == "f16")
      w.dtype = Dtype::F16;
    else
      throw NativeError("field 'dtype' must be 'f32' or 'f16', got '" + dtype + "'");
  }
  if (kind == "gemm") {
    w.kind = Kind::Gemm;
    w.batch = dim(o, "batch");
    w.m = dim(o, "m");
    w.n = dim(o, "n");
    w.k = dim(o, "k");
    w.transA = flag(o, "transA");
    w.transB = flag(o, "transB");
  } else if (kind == "gemv") {
    w.kind = Kind::Gemv;
    w.m = dim(o, "m");
    w.n = dim(o, "n");
    w.trans = flag(o, "trans");
  } else if (kind == "vjp") {
    const std::string mode = text(o, "mode", "");
    if (mode == "linear-map") {
      w.kind = Kind::VjpLinearMap;
      w.m = dim(o, "m");
      w.n = dim(o, "n");
    } else if (mode == "linear-layer") {
      w.kind = Kind::VjpLinearLayer;
      w.batch = dim(o, "batch");
      w.inFeatures = dim(o, "inFeatures");
      w.outFeatures = dim(o, "outFeatures");
    } else {
      throw NativeError("field 'mode' must be 'linear-map' or 'linear-layer', got '" + mode + "'");
    }
  } else if (kind == "launch") {
    w.kind = Kind::Launch;
    w.launchesPerSample = dim(o, "launchesPerSample");
  } else {
    throw NativeError("field 'kind' must be 'gemm', 'gemv', 'vjp' or 'launch', got '" + kind + "'");
  }
  for (const auto& b : w.buffers())
    if (b.length > 2147483647LL)
      throw NativeError("buffer '" + b.name + "' has " + std::to_string(b.length) + " elements, over 2^31 - 1");
  return w;
}

cpu::CpuOptions parseCpuOptions(const Napi::Value& v) {
  cpu::CpuOptions options;
  if (!v.IsObject()) return options;
  Napi::Object o = v.As<Napi::Object>();
  options.isa = text(o, "isa", "auto");
  options.blas = text(o, "blas", "auto");
  Napi::Value limit = o.Get("memoryLimitBytes");
  if (limit.IsNumber()) options.memoryLimitBytes = limit.As<Napi::Number>().DoubleValue();
  return options;
}

#if GPUBENCH_WITH_CUDA
cuda::CudaOptions parseCudaOptions(const Napi::Value& v) {
  cuda::CudaOptions o;
  if (!v.IsObject()) return o;
  Napi::Object object = v.As<Napi::Object>();
  o.gemm = text(object, "gemm", "auto");
  if (object.Get("runsPerSample").IsNumber())
    o.runsPerSample = object.Get("runsPerSample").As<Napi::Number>().Int32Value();
  return o;
}
#endif

/** The training step of a backend built into this addon (TrainSessionWrap's Preparer). */
std::unique_ptr<TrainSession> prepareTraining(const std::string& backend, const TrainConfig& c,
                                              const Napi::Value& options) {
  if (backend == "cpu") return cpu::prepareTraining(c, parseCpuOptions(options));
#if GPUBENCH_WITH_CUDA
  if (backend == "cuda") return cuda::prepareTraining(c, parseCudaOptions(options));
#endif
#if GPUBENCH_WITH_METAL
  if (backend == "metal") return metal::prepareTraining(c);
#endif
  throw NativeError("training on backend '" + backend + "' is not built into this addon");
}

/** A typed array's bytes, checked against the dtype the caller says it holds. */
std::pair<void*, size_t> bytesOf(const Napi::Value& v) {
  if (!v.IsTypedArray()) throw NativeError("expected a Float32Array or a Uint16Array");
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  const auto type = t.TypedArrayType();
  if (type != napi_float32_array && type != napi_uint16_array)
    throw NativeError("expected a Float32Array (f32) or a Uint16Array (f16 bits)");
  Napi::ArrayBuffer buffer = t.ArrayBuffer();
  return {static_cast<char*>(buffer.Data()) + t.ByteOffset(), t.ByteLength()};
}

class Runnable : public Napi::ObjectWrap<Runnable> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Runnable",
        {InstanceMethod<&Runnable::Write>("write"), InstanceMethod<&Runnable::Read>("read"),
         InstanceMethod<&Runnable::Cold>("cold"), InstanceMethod<&Runnable::Run>("run"),
         InstanceMethod<&Runnable::Notes>("notes"), InstanceMethod<&Runnable::Energy>("energyJoulesPerRun"),
         InstanceMethod<&Runnable::Dispose>("dispose")});
  }

  /** new Runnable(backend, workload, options) */
  explicit Runnable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Runnable>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&] {
      if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
        throw NativeError("usage: new Runnable(backend, workload, options)");
      const std::string backend = info[0].As<Napi::String>().Utf8Value();
      const WorkloadSpec w = parseWorkload(info[1].As<Napi::Object>());
      Napi::Value options = info.Length() > 2 ? info[2] : env.Undefined();
      if (backend == "cpu") {
        impl_ = cpu::prepare(w, parseCpuOptions(options));
#if GPUBENCH_WITH_CUDA
      } else if (backend == "cuda") {
        impl_ = cuda::prepare(w, parseCudaOptions(options));
#endif
#if GPUBENCH_WITH_METAL
      } else if (backend == "metal") {
        impl_ = metal::prepare(w);
#endif
      } else {
        throw NativeError("backend '" + backend + "' is not built into this addon");
      }
      return 0;
    });
  }

 private:
  DeviceRunnable& impl() {
    if (!impl_) throw NativeError("the runnable was disposed");
    return *impl_;
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      auto [data, bytes] = bytesOf(info[1]);
      impl().write(info[0].As<Napi::String>().Utf8Value(), data, bytes);
      return info.Env().Undefined();
    });
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      auto [data, bytes] = bytesOf(info[1]);
      impl().read(info[0].As<Napi::String>().Utf8Value(), data, bytes);
      return info.Env().Undefined();
    });
  }

  Napi::Value Cold(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return Napi::Number::New(info.Env(), impl().coldNs()); });
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
      if (!(n >= 1) || n > 1e7 || n != (double)(int)n) throw NativeError("run(n): n must be a positive integer");
      std::vector<double> ns = impl().runNs((int)n);
      Napi::Float64Array out = Napi::Float64Array::New(info.Env(), ns.size());
      for (size_t i = 0; i < ns.size(); i++) out[i] = ns[i];
      return out;
    });
  }

  Napi::Value Notes(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return strings(info.Env(), impl().notes()); });
  }

  Napi::Value Energy(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      const double j = impl().energyJoulesPerRun();
      return j < 0 ? info.Env().Null() : Napi::Number::New(info.Env(), j);
    });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (impl_) {
      impl_->dispose();
      impl_.reset();
    }
    return info.Env().Undefined();
  }

  std::unique_ptr<DeviceRunnable> impl_;
};

Napi::Value CpuDescribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const cpu::CpuDescription d = cpu::describe(parseCpuOptions(info.Length() > 0 ? info[0] : env.Undefined()));
    Napi::Object o = Napi::Object::New(env);
    o.Set("model", d.model);
    o.Set("threads", d.threads);
    o.Set("isa", d.isa);
    o.Set("features", strings(env, d.features));
    o.Set("gemm", d.gemm);
    o.Set("systemBlas", d.systemBlas);
    o.Set("systemBlasAvailable", d.systemBlasAvailable);
    o.Set("memoryBytes", d.memoryBytes);
    return o;
  });
}

/** A probe's answer: { available: false, reason }, or { available: true } with what `fill` sets. */
template <class Fill>
[[maybe_unused]] Napi::Object probeObject(Napi::Env env, bool available, const std::string& reason, Fill fill) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", available);
  if (available)
    fill(o);
  else
    o.Set("reason", reason);
  return o;
}

#if GPUBENCH_WITH_CUDA
Napi::Value CudaProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const cuda::CudaProbe p = cuda::probe();
    return probeObject(env, p.available, p.reason, [&](Napi::Object& o) {
      o.Set("name", p.name);
      o.Set("computeCapability", p.computeCapability);
      o.Set("smCount", p.smCount);
      o.Set("memoryBytes", p.memoryBytes);
      o.Set("clockKHz", p.clockKHz);
      o.Set("memoryClockKHz", p.memoryClockKHz);
      o.Set("memoryBusWidthBits", p.memoryBusWidthBits);
      o.Set("l2CacheBytes", p.l2CacheBytes);
      o.Set("driverApiVersion", p.driverApiVersion);
      o.Set("driverRelease", p.driverRelease);
      o.Set("runtimeVersion", p.runtimeVersion);
      o.Set("cublas", p.cublas);
      o.Set("nvml", p.nvml);
    });
  });
}
#endif

#if GPUBENCH_WITH_METAL
Napi::Value MetalProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const metal::MetalProbe p = metal::probe();
    return probeObject(env, p.available, p.reason, [&](Napi::Object& o) {
      o.Set("name", p.name);
      o.Set("memoryBytes", p.memoryBytes);
      o.Set("unifiedMemory", p.unifiedMemory);
    });
  });
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object build = Napi::Object::New(env);
  build.Set("cuda", (bool)GPUBENCH_WITH_CUDA);
  build.Set("metal", (bool)GPUBENCH_WITH_METAL);
  build.Set("napiVersion", NAPI_VERSION);
  exports.Set("build", build);
  exports.Set("Runnable", Runnable::Define(env));
  exports.Set("cpuDescribe", Napi::Function::New(env, CpuDescribe));
  exports.Set("TrainSession", TrainSessionWrap::Define(env, prepareTraining));
#if GPUBENCH_WITH_CUDA
  exports.Set("cudaProbe", Napi::Function::New(env, CudaProbe));
  exports.Set("cudaHost", cuda::hostBindings(env));
#endif
#if GPUBENCH_WITH_METAL
  exports.Set("metalProbe", Napi::Function::New(env, MetalProbe));
#endif
  return exports;
}

}  // namespace
}  // namespace gpubench

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return gpubench::Init(env, exports); }

NODE_API_MODULE(gpubench_native, InitModule)
