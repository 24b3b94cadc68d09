// Strict YAML helpers with file:line:col error locations.
#include "yaml_util.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace fusesim::yamlu {

YAML::Node load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file");
  try {
    return YAML::Load(in);
  } catch (const YAML::Exception& e) {
    throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
}

std::string where(const std::string& file, const YAML::Node& n) {
  if (!n.IsDefined() || n.Mark().is_null()) return file;
  return file + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}

void fail(const std::string& file, const YAML::Node& n, const std::string& key_path,
          const std::string& msg) {
  std::string loc = where(file, n);
  throw InputError(loc + ": " + (key_path.empty() ? "" : key_path + ": ") + msg);
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void expect_keys(const std::string& file, const YAML::Node& map, const std::string& key_path,
                 const std::vector<std::string>& allowed) {
  if (!map.IsMap()) fail(file, map, key_path, "expected a map");
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(file, it->first, join(key_path, key), "unknown key (expected one of: " + list + ")");
    }
  }
}

namespace {
template <typename T>
T as_scalar(const std::string& file, const YAML::Node& n, const std::string& key_path,
            const char* what) {
  if (!n.IsScalar()) fail(file, n, key_path, std::string("expected ") + what);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(file, n, key_path, std::string("expected ") + what + ", got '" + n.Scalar() + "'");
  }
}
}  // namespace

double as_double(const std::string& file, const YAML::Node& n, const std::string& key_path) {
  return as_scalar<double>(file, n, key_path, "a number");
}
int64_t as_int(const std::string& file, const YAML::Node& n, const std::string& key_path) {
  return as_scalar<int64_t>(file, n, key_path, "an integer");
}
bool as_bool(const std::string& file, const YAML::Node& n, const std::string& key_path) {
  return as_scalar<bool>(file, n, key_path, "true or false");
}
std::string as_string(const std::string& file, const YAML::Node& n, const std::string& key_path) {
  return as_scalar<std::string>(file, n, key_path, "a string");
}

uint64_t parse_size(const std::string& text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) throw std::invalid_argument("not a size: '" + text + "'");
  uint64_t v = std::stoull(s.substr(0, i));
  std::string unit = s.substr(i);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  uint64_t mul = 0;
  if (unit.empty() || unit == "b") mul = 1;
  else if (unit == "kib" || unit == "k") mul = 1024;
  else if (unit == "mib" || unit == "m") mul = 1024 * 1024;
  else if (unit == "gib" || unit == "g") mul = 1024ull * 1024 * 1024;
  else if (unit == "kb") mul = 1000;
  else if (unit == "mb") mul = 1000 * 1000;
  else throw std::invalid_argument("unknown size unit '" + unit + "' in '" + text +
                                   "' (use B, KiB, MiB, GiB, KB or MB)");
  return v * mul;
}

uint64_t as_size(const std::string& file, const YAML::Node& n, const std::string& key_path) {
  if (!n.IsScalar()) fail(file, n, key_path, "expected a size such as 2KiB");
  try {
    return parse_size(n.Scalar());
  } catch (const std::exception& e) {
    fail(file, n, key_path, e.what());
  }
}

void apply_override(YAML::Node root, const std::string& dotted, const std::string& value,
                    const std::string& origin, bool allow_new) {
  std::vector<std::string> parts;
  std::stringstream ss(dotted);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  if (parts.empty()) throw InputError(origin + ": empty key");
  YAML::Node cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur.IsMap() || !cur[parts[i]]) {
      if (!allow_new) throw InputError(origin + ": " + dotted + ": no such key '" + parts[i] + "'");
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    }
    cur.reset(cur[parts[i]]);
  }
  if (!allow_new && (!cur.IsMap() || !cur[parts.back()]))
    throw InputError(origin + ": " + dotted + ": no such key '" + parts.back() + "'");
  YAML::Node v;
  try {
    v = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ": " + dotted + ": bad value '" + value + "': " + e.msg);
  }
  cur[parts.back()] = v;
}

}  // namespace fusesim::yamlu
