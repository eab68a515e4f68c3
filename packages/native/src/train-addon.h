// The N-API class of the CPU training step, `TrainSession` (typed in addon-types.ts as
// NativeTrainSession). Included by addon.cpp, the addon's one N-API translation unit; the step
// itself is in cpu/train.cpp. Every native failure becomes a JavaScript Error with its message.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "cpu/train.h"

namespace gpubench {

class TrainSessionWrap : public Napi::ObjectWrap<TrainSessionWrap> {
 public:
  using OptionsParser = cpu::CpuOptions (*)(const Napi::Value&);

  static Napi::Function Define(Napi::Env env, OptionsParser parser) {
    parser_ = parser;
    return DefineClass(env, "TrainSession",
                       {InstanceMethod<&TrainSessionWrap::Write>("write"),
                        InstanceMethod<&TrainSessionWrap::Read>("read"),
                        InstanceMethod<&TrainSessionWrap::SetTokens>("setTokens"),
                        InstanceMethod<&TrainSessionWrap::Poison>("poisonGradients"),
                        InstanceMethod<&TrainSessionWrap::ForwardBackward>("forwardBackward"),
                        InstanceMethod<&TrainSessionWrap::OptimizerStep>("optimizerStep"),
                        InstanceMethod<&TrainSessionWrap::Steps>("steps"),
                        InstanceMethod<&TrainSessionWrap::Notes>("notes"),
                        InstanceMethod<&TrainSessionWrap::PeakRss>("peakRssBytes"),
                        InstanceMethod<&TrainSessionWrap::Dispose>("dispose")});
  }

  /** new TrainSession('cpu', workload, options, fault?) */
  explicit TrainSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainSessionWrap>(info) {
    run(info.Env(), [&] {
      if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
        throw NativeError("usage: new TrainSession(backend, workload, options, fault)");
      const std::string backend = info[0].As<Napi::String>().Utf8Value();
      if (backend != "cpu") throw NativeError("training is built for the cpu backend only, not '" + backend + "'");
      Napi::Object w = info[1].As<Napi::Object>();
      if (!w.Get("model").IsObject()) throw NativeError("field 'model' must be an object");
      Napi::Object m = w.Get("model").As<Napi::Object>();
      cpu::TrainConfig c;
      c.layers = dim(m, "layers");
      c.dModel = dim(m, "dModel");
      c.heads = dim(m, "heads");
      c.mlp = dim(m, "mlp");
      c.vocab = dim(m, "vocab");
      c.positions = dim(m, "positions");
      c.batch = dim(w, "batch");
      c.seq = dim(w, "seq");
      const Napi::Value dtype = w.Get("dtype");
      c.f16 = dtype.IsString() && dtype.As<Napi::String>().Utf8Value() == "f16";
      c.learningRate = real(w, "learningRate");
      c.beta1 = real(w, "beta1");
      c.beta2 = real(w, "beta2");
      c.epsilon = real(w, "epsilon");
      c.weightDecay = real(w, "weightDecay");
      c.initialLossScale = real(w, "initialLossScale");
      if (info.Length() > 3 && info[3].IsString()) c.fault = info[3].As<Napi::String>().Utf8Value();
      impl_ = cpu::prepareTraining(c, parser_(info.Length() > 2 ? info[2] : info.Env().Undefined()));
      return 0;
    });
  }

 private:
  static inline OptionsParser parser_ = nullptr;

  template <class F>
  static auto run(Napi::Env env, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  static int64_t dim(const Napi::Object& o, const char* field) {
    const Napi::Value v = o.Get(field);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 1) || d > 2147483647.0 || d != (double)(int64_t)d)
      throw NativeError(std::string("field '") + field + "' must be a positive integer below 2^31");
    return (int64_t)d;
  }

  static double real(const Napi::Object& o, const char* field) {
    const Napi::Value v = o.Get(field);
    if (!v.IsNumber()) throw NativeError(std::string("field '") + field + "' must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }

  cpu::TrainSession& impl() {
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
      throw NativeError("expected " + std::to_string(impl().parameterCount()) + " elements (the parameter count), got " +
                        std::to_string(count));
    return a.Data();
  }

  /** write(name, Float32Array): 'parameters' (also zeroes AdamW's moments and the step count) or 'gradients'. */
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
      size_t count = 0;
      const float* data = floats(info, 1, count);
      if (name == "parameters")
        impl().setParameters(data, (int64_t)count);
      else if (name == "gradients")
        std::copy(data, data + count, impl().buffer("gradients"));
      else
        throw NativeError("write: buffer must be 'parameters' or 'gradients', got '" + name + "'");
      return info.Env().Undefined();
    });
  }

  /** read(name, Float32Array): 'parameters', 'gradients', 'm' or 'v'. */
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
      size_t count = 0;
      float* out = floats(info, 1, count);
      const float* data = impl().buffer(name);
      std::copy(data, data + count, out);
      return info.Env().Undefined();
    });
  }

  Napi::Value SetTokens(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsTypedArray() ||
          info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw NativeError("setTokens: expected an Int32Array");
      Napi::Int32Array a = info[0].As<Napi::Int32Array>();
      impl().setTokens(a.Data(), (int64_t)a.ElementLength());
      return info.Env().Undefined();
    });
  }

  Napi::Value Poison(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      impl().poisonGradients();
      return info.Env().Undefined();
    });
  }

  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] { return Napi::Number::New(info.Env(), impl().forwardBackward()); });
  }

  Napi::Value OptimizerStep(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      impl().optimizerStep();
      return info.Env().Undefined();
    });
  }

  /**
   * steps(n): a Float64Array of n rows of 10: step, forward, backward, optimizer (ns), loss, RSS,
   * minor and major faults, loss scale, skipped (1 when the update was skipped for an overflow).
   */
  Napi::Value Steps(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
      if (!(n >= 1) || n > 1e6 || n != (double)(int)n) throw NativeError("steps(n): n must be a positive integer");
      const auto steps = impl().steps((int)n);
      Napi::Float64Array out = Napi::Float64Array::New(info.Env(), steps.size() * 10);
      for (size_t i = 0; i < steps.size(); i++) {
        const auto& s = steps[i];
        const double row[10] = {s.stepNs,   s.forwardNs,   s.backwardNs,  s.optimizerNs, s.loss,
                                s.rssBytes, s.minorFaults, s.majorFaults, s.lossScale,   s.skipped ? 1.0 : 0.0};
        for (size_t j = 0; j < 10; j++) out[i * 10 + j] = row[j];
      }
      return out;
    });
  }

  Napi::Value Notes(const Napi::CallbackInfo& info) {
    return run(info.Env(), [&] {
      const auto notes = impl().notes();
      Napi::Array out = Napi::Array::New(info.Env(), notes.size());
      for (size_t i = 0; i < notes.size(); i++) out.Set((uint32_t)i, notes[i]);
      return out;
    });
  }

  Napi::Value PeakRss(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), cpu::peakRssBytes());
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    impl_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<cpu::TrainSession> impl_;
};

}  // namespace gpubench
