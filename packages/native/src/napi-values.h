// Reading and writing N-API values for the addon's classes and functions (addon.cpp,
// train-addon.h): fields of the objects core passes, checked and named in the error, and the one
// place a native exception becomes a JavaScript Error.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/spec.h"

namespace gpubench {

/** A positive integer field below 2^31 (a size), or an error naming the field. */
inline int64_t dim(const Napi::Object& o, const char* field) {
  Napi::Value v = o.Get(field);
  if (!v.IsNumber()) throw NativeError(std::string("field '") + field + "' must be a positive integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d > 2147483647.0 || d != (double)(int64_t)d)
    throw NativeError(std::string("field '") + field + "' must be a positive integer below 2^31, got " +
                      std::to_string(d));
  return (int64_t)d;
}

/** A number field, or an error naming it. */
inline double real(const Napi::Object& o, const char* field) {
  const Napi::Value v = o.Get(field);
  if (!v.IsNumber()) throw NativeError(std::string("field '") + field + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

/** A boolean field; false when absent. */
inline bool flag(const Napi::Object& o, const char* field) {
  Napi::Value v = o.Get(field);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

/** A string field, or `fallback` when absent. */
inline std::string text(const Napi::Object& o, const char* field, const std::string& fallback) {
  Napi::Value v = o.Get(field);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

inline Napi::Array strings(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) out.Set((uint32_t)i, values[i]);
  return out;
}

/** Runs f, turning native exceptions into JavaScript errors with their message. */
template <class F>
auto guarded(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace gpubench
