// The N-API class of the training step, `TrainSession` (typed in addon-types.ts as
// NativeTrainSession), over any backend's TrainSession (common/train.h). Included by addon.cpp, the
// addon's one N-API translation unit, which passes the function that prepares a backend's step
// (cpu/train.cpp, cuda/train.cu, metal/train.mm). Every native failure becomes a JavaScript Error
// with its message.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "common/train.h"
#include "napi-values.h"

namespace gpubench {

class TrainSessionWrap : public Napi::ObjectWrap<TrainSessionWrap> {
 public:
  /** Prepares backend's step with its options (the N-API value as given), or throws why not. */
  using Preparer = std::unique_ptr<TrainSession> (*)(const std::string& backend, const TrainConfig&,
                                                     const Napi::Value&);

  static Napi::Function Define(Napi::Env env, Preparer prepare) {
    prepare_ = prepare;
    return DefineClass(
        env, "TrainSession",
        {InstanceMethod<&TrainSessionWrap::Write>("write"), InstanceMethod<&TrainSessionWrap::Read>("read"),
         InstanceMethod<&TrainSessionWrap::SetTokens>("setTokens"),
         InstanceMethod<&TrainSessionWrap::Poison>("poisonGradients"),
         InstanceMethod<&TrainSessionWrap::ForwardBackward>("forwardBackward"),
         InstanceMethod<&TrainSessionWrap::OptimizerStep>("optimizerStep"),
         InstanceMethod<&TrainSessionWrap::Steps>("steps"), InstanceMethod<&TrainSessionWrap::Notes>("notes"),
         InstanceMethod<&TrainSessionWrap::PeakRss>("peakRssBytes"),
         InstanceMethod<&TrainSessionWrap::PeakDevice>("peakDeviceBytes"),
         InstanceMethod<&TrainSessionWrap::EnergySource>("energySource"),
         InstanceMethod<&TrainSessionWrap::Dispose>("dispose")});
  }

  /** new TrainSession(backend, workload, options, fault?) */
  explicit TrainSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainSessionWrap>(info) {
    guarded(info.Env(), [&] {
      if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
        throw NativeError("usage: new TrainSession(backend, workload, options, fault)");
      const std::string backend = info[0].As<Napi::String>().Utf8Value();
      Napi::Object w = info[1].As<Napi::Object>();
      if (!w.Get("model").IsObject()) throw NativeError("field 'model' must be an object");
      Napi::Object m = w.Get("model").As<Napi::Object>();
      TrainConfig c;
      c.layers = dim(m, "layers");
      c.dModel = dim(m, "dModel");
      c.heads = dim(m, "heads");
      c.mlp = dim(m, "mlp");
      c.vocab = dim(m, "vocab");
      c.positions = dim(m, "positions");
      c.batch = dim(w, "batch");
      c.seq = dim(w, "seq");
      c.f16 = text(w, "dtype", "f32") == "f16";
      c.learningRate = real(w, "learningRate");
      c.beta1 = real(w, "beta1");
      c.beta2 = real(w, "beta2");
      c.epsilon = real(w, "epsilon");
      c.weightDecay = real(w, "weightDecay");
      c.initialLossScale = real(w, "initialLossScale");
      if (info.Length() > 3 && info[3].IsString()) c.fault = info[3].As<Napi::String>().Utf8Value();
      impl_ = prepare_(backend, c, info.Length() > 2 ? info[2] : info.Env().Undefined());
      return 0;
    });
  }

 private:
  static inline Preparer prepare_ = nullptr;

  TrainSession& impl() {
    if (!impl_) throw NativeError("the training session was disposed");
    return *impl_;
  }

  /** The Float32Array argument i, checked to hold exactly the session's parameter count. */
  float* floats(const Napi::CallbackInfo& info, size_t i, size_t& count) {
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw NativeError("expected a Float32Array");
    Napi::Float32Array a = info[i].As<Napi::Float32Array>();
    count = a.ElementLength();
    if ((int64_t)count != impl().parameterCount())
      throw NativeError("expected " + std::to_string(impl().parameterCount()) +
                        " elements (the parameter count), got " + std::to_string(count));
    return a.Data();
  }

  /** write(name, Float32Array): 'parameters' (also zeroes AdamW's moments and the step count) or 'gradients'. */
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
      size_t count = 0;
      const float* data = floats(info, 1, count);
      if (name == "parameters")
        impl().setParameters(data, (int64_t)count);
      else if (name == "gradients")
        impl().setGradients(data, (int64_t)count);
      else
        throw NativeError("write: buffer must be 'parameters' or 'gradients', got '" + name + "'");
      return info.Env().Undefined();
    });
  }

  /** read(name, Float32Array): 'parameters', 'gradients', 'm' or 'v'. */
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
      size_t count = 0;
      float* out = floats(info, 1, count);
      impl().read(name, out, (int64_t)count);
      return info.Env().Undefined();
    });
  }

  Napi::Value SetTokens(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsTypedArray() ||
          info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw NativeError("setTokens: expected an Int32Array");
      Napi::Int32Array a = info[0].As<Napi::Int32Array>();
      impl().setTokens(a.Data(), (int64_t)a.ElementLength());
      return info.Env().Undefined();
    });
  }

  Napi::Value Poison(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      impl().poisonGradients();
      return info.Env().Undefined();
    });
  }

  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return Napi::Number::New(info.Env(), impl().forwardBackward()); });
  }

  Napi::Value OptimizerStep(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      impl().optimizerStep();
      return info.Env().Undefined();
    });
  }

  /**
   * steps(n): a Float64Array of n rows of 12: step, forward, backward, optimizer (ns), loss, RSS,
   * minor and major faults, loss scale, skipped (1 when the update was skipped for an overflow),
   * device memory in use (NaN without a device of its own), energy in J (NaN where not read per step).
   */
  Napi::Value Steps(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
      if (!(n >= 1) || n > 1e6 || n != (double)(int)n) throw NativeError("steps(n): n must be a positive integer");
      const auto steps = impl().steps((int)n);
      constexpr size_t kColumns = 12;
      Napi::Float64Array out = Napi::Float64Array::New(info.Env(), steps.size() * kColumns);
      for (size_t i = 0; i < steps.size(); i++) {
        const auto& s = steps[i];
        const double row[kColumns] = {s.stepNs,      s.forwardNs,   s.backwardNs,  s.optimizerNs, s.loss,
                                      s.rssBytes,    s.minorFaults, s.majorFaults, s.lossScale,   s.skipped ? 1.0 : 0.0,
                                      s.deviceBytes, s.energyJoules};
        for (size_t j = 0; j < kColumns; j++) out[i * kColumns + j] = row[j];
      }
      return out;
    });
  }

  Napi::Value Notes(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const auto notes = impl().notes();
      return strings(info.Env(), notes);
    });
  }

  Napi::Value PeakRss(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), peakRssBytes()); }

  Napi::Value EnergySource(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return Napi::String::New(info.Env(), impl().energySource()); });
  }

  Napi::Value PeakDevice(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return Napi::Number::New(info.Env(), impl().peakDeviceBytes()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    impl_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<TrainSession> impl_;
};

}  // namespace gpubench
