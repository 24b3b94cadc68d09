// Strict YAML helpers with file:line:col error locations.
#include "yaml_util.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

namespace fusesim::yamlu {

namespace {

std::string mark_str(const YAML::Mark& m) {
  return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// Walks the parser's events (aliases are not expanded, so an alias bomb costs nothing) and
// remembers the keys of every open map with their marks.
class DuplicateKeyCheck : public YAML::EventHandler {
 public:
  explicit DuplicateKeyCheck(const std::string& file) : file_(file) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m, "~", true); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m, "", false); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string& v) override {
    node(m, v, true);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(m, false);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(m, true);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  struct Frame {
    bool is_map = false;
    bool at_key = true;     // maps: the next node is a key
    std::size_t index = 0;  // sequences: the next item's index
    std::string path, last_key;
    std::map<std::string, YAML::Mark> keys;
  };

  // The key path of the node that the top frame is about to receive as a value.
  std::string child_path() const {
    if (stack_.empty()) return "";
    const Frame& f = stack_.back();
    return f.is_map ? join(f.path, f.last_key) : f.path + "[" + std::to_string(f.index) + "]";
  }

  // A scalar, null or alias; `key_text` counts for duplicates only when `comparable`.
  void node(const YAML::Mark& m, const std::string& key_text, bool comparable) {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    if (!f.is_map) {
      ++f.index;
      return;
    }
    if (!f.at_key) {
      f.at_key = true;
      return;
    }
    f.at_key = false;
    f.last_key = comparable ? key_text : "?";
    if (!comparable) return;
    auto [it, fresh] = f.keys.emplace(key_text, m);
    if (!fresh)
      throw InputError(file_ + ":" + mark_str(m) + ": " + join(f.path, key_text) +
                       ": duplicate key (first at " + file_ + ":" + mark_str(it->second) + ")");
  }

  void open(const YAML::Mark& m, bool is_map) {
    Frame child;
    child.is_map = is_map;
    child.path = child_path();
    if (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.is_map && f.at_key) {
        f.at_key = false;  // a map or sequence used as a key: never compared
        f.last_key = "?";
        child.path = join(f.path, "?");
      } else {
        node(m, "", false);  // consumes the value slot (or the item index)
      }
    }
    stack_.push_back(std::move(child));
  }

  const std::string& file_;
  std::vector<Frame> stack_;
};

InputError syntax_error(const std::string& file, const YAML::Exception& e) {
  return InputError(file + ":" + mark_str(e.mark) + ": YAML syntax error: " + e.msg);
}

}  // namespace

YAML::Node load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read file");
  return load_text(text.str(), path);
}

void check_unique_keys(const std::string& text, const std::string& file) {
  std::istringstream events(text);
  YAML::Parser parser(events);
  DuplicateKeyCheck check(file);
  try {
    parser.HandleNextDocument(check);
  } catch (const YAML::Exception& e) {
    throw syntax_error(file, e);
  }
}

YAML::Node load_text(const std::string& text, const std::string& file) {
  check_unique_keys(text, file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw syntax_error(file, e);
  }
  // An empty document (nothing but blanks and comments) gives a null node without a mark; every
  // file fusesim reads is a map, so say so at the place the map should start.
  if (root.IsNull() && root.Mark().is_null())
    throw InputError(file + ":1:1: empty YAML document (only blanks or comments); expected a map");
  return root;
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

std::string key_text(const std::string& file, const YAML::Node& key, const std::string& key_path) {
  if (!key.IsScalar()) fail(file, key, key_path, "expected a plain key, got a sequence or map");
  return key.Scalar();
}

void expect_keys(const std::string& file, const YAML::Node& map, const std::string& key_path,
                 const std::vector<std::string>& allowed) {
  if (!map.IsMap()) fail(file, map, key_path, "expected a map");
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = key_text(file, it->first, key_path);
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
  if (i > 19) throw std::invalid_argument("size '" + text + "' does not fit 64 bits");
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
  if (v > UINT64_MAX / mul) throw std::invalid_argument("size '" + text + "' does not fit 64 bits");
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
  if (parts.empty() || std::find(parts.begin(), parts.end(), "") != parts.end())
    throw InputError(origin + ": '" + dotted + "' has an empty key");
  // Indexing a scalar or a sequence by name throws (or silently turns it into a map) in
  // yaml-cpp, so every step must be a map; a missing step is created only with allow_new.
  auto step_into_map = [&](const YAML::Node& n, std::size_t upto) {
    if (n.IsMap() || (allow_new && n.IsNull())) return;
    std::string prefix;
    for (std::size_t k = 0; k < upto; ++k) prefix = join(prefix, parts[k]);
    throw InputError(origin + ": " + dotted + ": '" + (prefix.empty() ? "(root)" : prefix) +
                     "' is a value, not a map of keys");
  };
  YAML::Node cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    step_into_map(cur, i);
    if (!cur[parts[i]]) {
      if (!allow_new) throw InputError(origin + ": " + dotted + ": no such key '" + parts[i] + "'");
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    }
    cur.reset(cur[parts[i]]);
  }
  step_into_map(cur, parts.size() - 1);
  if (!allow_new && !cur[parts.back()])
    throw InputError(origin + ": " + dotted + ": no such key '" + parts.back() + "'");
  check_unique_keys(value, origin);
  YAML::Node v;
  try {
    v = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ": " + dotted + ": bad value '" + value + "': " + e.msg);
  }
  // A scalar from the command line has no place in the file: drop its mark, so errors name
  // `origin` rather than line 1 of the file.
  if (v.IsScalar()) v = YAML::Node(v.Scalar());
  cur[parts.back()] = v;
}

}  // namespace fusesim::yamlu
