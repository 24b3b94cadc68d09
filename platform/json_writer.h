// A small streaming JSON writer (objects, arrays, numbers, strings) for reports.
#pragma once

#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace fusesim {

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& os) : os_(os) {}

  JsonWriter& begin_object(const char* key = nullptr) { return open(key, '{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array(const char* key = nullptr) { return open(key, '['); }
  JsonWriter& end_array() { return close(']'); }

  JsonWriter& kv(const char* key, const std::string& v) { prefix(key); quote(v); return *this; }
  JsonWriter& kv(const char* key, const char* v) { return kv(key, std::string(v)); }
  JsonWriter& kv(const char* key, bool v) { prefix(key); os_ << (v ? "true" : "false"); return *this; }
  JsonWriter& kv(const char* key, double v) { prefix(key); number(v); return *this; }
  JsonWriter& kv(const char* key, uint64_t v) { prefix(key); os_ << v; return *this; }
  JsonWriter& kv(const char* key, int64_t v) { prefix(key); os_ << v; return *this; }
  JsonWriter& kv(const char* key, int v) { return kv(key, static_cast<int64_t>(v)); }
  JsonWriter& kv(const char* key, unsigned v) { return kv(key, static_cast<uint64_t>(v)); }
  template <typename T>
  JsonWriter& value(const T& v) { return kv(nullptr, v); }

  static std::string escape(const std::string& s);

 private:
  std::ostream& os_;
  std::vector<bool> first_{true};  // per nesting level: nothing written yet

  void prefix(const char* key);
  void quote(const std::string& s) { os_ << '"' << escape(s) << '"'; }
  void number(double v);
  JsonWriter& open(const char* key, char c);
  JsonWriter& close(char c);
};

}  // namespace fusesim
