// JSON writer: indentation keeps reports readable and diffable.
#include "json_writer.h"

#include <cstdio>

namespace fusesim {

std::string JsonWriter::escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void JsonWriter::prefix(const char* key) {
  if (!first_.back()) os_ << ',';
  first_.back() = false;
  if (first_.size() > 1) os_ << '\n' << std::string(2 * (first_.size() - 1), ' ');
  if (key) {
    quote(key);
    os_ << ": ";
  }
}

void JsonWriter::number(double v) {
  if (!std::isfinite(v)) {
    os_ << "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  os_ << buf;
}

JsonWriter& JsonWriter::open(const char* key, char c) {
  prefix(key);
  os_ << c;
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) os_ << '\n' << std::string(2 * (first_.size() - 1), ' ');
  os_ << c;
  if (first_.size() == 1) os_ << '\n';
  return *this;
}

}  // namespace fusesim
