// Sweep spec parsing, validation and expansion. Every value is checked before any worker
// starts, so a typo in a spec costs an exit 2 with its location, not a sweep of failed points.
#include "sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "compiler/graph.h"
#include "isa/arch_params.h"
#include "isa/errors.h"
#include "isa/yaml_util.h"

namespace fs = std::filesystem;

namespace fusesim::sweep {

namespace {

using yamlu::fail;
using yamlu::where;

constexpr const char* kDefaultArch = "configs/arch/diannao.yaml";
// Base keys in the order they appear in every point and every results row.
const std::vector<std::string> kBaseKeys = {"model", "arch", "dtype", "mode",
                                            "compiler.fusion", "compiler.pipeline", "compiler.elimination",
                                            "compiler.overlap", "batch"};
constexpr std::size_t kMaxAxisValues = 10000;
constexpr std::size_t kMaxPoints = 1000000;

bool is_base_key(const std::string& k) {
  return std::find(kBaseKeys.begin(), kBaseKeys.end(), k) != kBaseKeys.end();
}
bool is_arch_key(const std::string& k) { return k.rfind("arch.", 0) == 0 && k.size() > 5; }

std::string arch_subkey(const std::string& k) { return k.substr(5); }

// Checks one value of a non-arch.* key; `n` locates it for the message.
void check_value(const SweepSpec& spec, const std::string& key, const std::string& v, const YAML::Node& n,
                 const std::string& key_path) {
  auto one_of = [&](std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    fail(spec.file, n, key_path, "'" + v + "' is not one of: " + list);
  };
  if (key == "model" || key == "arch") {
    std::string p = resolve_path(spec.file, v);
    if (p.empty())
      fail(spec.file, n, key_path, "no such file '" + v + "' (relative paths: spec directory, then working "
                                   "directory, then the fusesim source tree)");
    if (key == "arch") {
      try {
        load_arch(p);
      } catch (const InputError& e) {
        fail(spec.file, n, key_path, e.what());
      }
    }
  } else if (key == "dtype") {
    one_of({"int16", "fp32"});
  } else if (key == "mode") {
    one_of({"timing", "functional"});
  } else if (key == "compiler.fusion") {
    one_of({"none", "greedy", "optimal"});
  } else if (key == "compiler.pipeline") {
    one_of({"none", "fine", "coarse", "full"});
  } else if (key == "compiler.elimination") {
    one_of({"on", "off", "true", "false"});
  } else if (key == "compiler.overlap") {
    one_of({"auto", "recompute", "cache-rows", "cache-all"});
  } else if (key == "batch") {
    // the same rule as `fusesim run --batch` (a plain integer, 1..compiler::kMaxBatch)
    int64_t b = 0;
    if (const std::string why = compiler::batch_text_problem(v, b); !why.empty()) fail(spec.file, n, key_path, why);
  }
}

std::vector<std::string> expand_range(const SweepSpec& spec, const YAML::Node& r, const std::string& key_path) {
  yamlu::expect_keys(spec.file, r, key_path, {"from", "to", "step", "scale"});
  auto number = [&](const char* k) {
    YAML::Node n = r[k];
    if (!n) fail(spec.file, r, key_path, std::string("a range needs '") + k + "'");
    double v;
    if (!n.IsScalar() || !parse_number(n.Scalar(), v))
      fail(spec.file, n, yamlu::join(key_path, k), "expected a number or a size such as 2KiB");
    return v;
  };
  const double from = number("from"), to = number("to");
  if (from > to) fail(spec.file, r, key_path, "range 'from' (" + format_number(from) + ") exceeds 'to' (" +
                                                  format_number(to) + ")");
  std::string scale = "linear";
  if (r["scale"]) scale = yamlu::as_string(spec.file, r["scale"], yamlu::join(key_path, "scale"));
  std::vector<std::string> out;
  if (scale == "pow2") {
    if (r["step"]) fail(spec.file, r["step"], yamlu::join(key_path, "step"), "'step' does not apply to scale pow2");
    if (from <= 0) fail(spec.file, r["from"], yamlu::join(key_path, "from"), "scale pow2 needs 'from' > 0");
    for (double v = from; v <= to * (1 + 1e-12) && out.size() <= kMaxAxisValues; v *= 2) out.push_back(format_number(v));
  } else if (scale == "linear") {
    if (!r["step"]) fail(spec.file, r, key_path, "a linear range needs 'step' (or use scale: pow2)");
    const double step = number("step");
    if (step <= 0) fail(spec.file, r["step"], yamlu::join(key_path, "step"), "'step' must be > 0");
    const double count = std::floor((to - from) / step + 1e-9) + 1;
    if (count > static_cast<double>(kMaxAxisValues)) out.resize(kMaxAxisValues + 1);
    else
      for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) out.push_back(format_number(from + static_cast<double>(i) * step));
  } else {
    fail(spec.file, r["scale"], yamlu::join(key_path, "scale"), "'" + scale + "' is not one of: pow2, linear");
  }
  if (out.size() > kMaxAxisValues)
    fail(spec.file, r, key_path, "range has more than " + std::to_string(kMaxAxisValues) + " values");
  return out;
}

// Reads an axis (a list of scalars or a range) and validates each value.
Axis read_axis(const SweepSpec& spec, const YAML::Node& key_node, const YAML::Node& v) {
  Axis a;
  a.key = yamlu::key_text(spec.file, key_node, "axes");
  a.where = where(spec.file, key_node);
  const std::string key_path = "axes." + a.key;
  if (!is_base_key(a.key) && !is_arch_key(a.key))
    fail(spec.file, key_node, key_path,
         "unknown axis key (expected arch, arch.<key path>, model, dtype, mode, batch, compiler.fusion, "
         "compiler.pipeline, compiler.elimination or compiler.overlap)");
  std::vector<YAML::Node> nodes;  // one per value, for locations
  if (v.IsSequence()) {
    if (v.size() == 0) fail(spec.file, v, key_path, "an axis needs at least one value");
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) fail(spec.file, v[i], key_path + "[" + std::to_string(i) + "]", "expected a scalar value");
      a.values.push_back(v[i].Scalar());
      nodes.push_back(v[i]);
    }
  } else if (v.IsMap()) {
    if (!is_arch_key(a.key)) fail(spec.file, v, key_path, "ranges apply to numeric arch.* keys only; give a list");
    a.values = expand_range(spec, v, key_path);
    nodes.assign(a.values.size(), v);
  } else if (v.IsScalar()) {
    a.values.push_back(v.Scalar());
    nodes.push_back(v);
  } else {
    fail(spec.file, v, key_path, "expected a list of values or a range {from, to, scale|step}");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    if (!seen.insert(a.values[i]).second)
      fail(spec.file, nodes[i], key_path, "duplicate value '" + a.values[i] + "'");
    if (!is_arch_key(a.key)) check_value(spec, a.key, a.values[i], nodes[i], key_path);
  }
  a.values.shrink_to_fit();
  return a;
}

const std::string& base_value(const SweepSpec& spec, const std::string& key) {
  for (const auto& [k, v] : spec.base)
    if (k == key) return v;
  static const std::string empty;
  return empty;
}

// Every arch.* value must load on every arch file the sweep uses: unknown keys and bad values
// surface here with the spec's location.
void check_arch_axes(const SweepSpec& spec) {
  std::vector<std::string> arch_files;
  for (const auto& a : spec.axes)
    if (a.key == "arch") arch_files = a.values;
  if (arch_files.empty()) arch_files.push_back(base_value(spec, "arch"));
  for (const auto& a : spec.axes) {
    if (!is_arch_key(a.key)) continue;
    for (const auto& v : a.values) {
      for (const auto& f : arch_files) {
        try {
          load_arch(resolve_path(spec.file, f), {{arch_subkey(a.key), v}});
        } catch (const InputError& e) {
          throw InputError(a.where + ": axes." + a.key + ": value '" + v + "': " + e.what());
        }
      }
    }
  }
}

SweepSpec parse_node(const YAML::Node& root, const std::string& file) {
  SweepSpec spec;
  spec.file = file;
  spec.name = stem(file);
  if (!root.IsDefined() || root.IsNull()) yamlu::fail(file, root, "", "empty sweep spec (expected a map)");
  yamlu::expect_keys(file, root, "", {"name", "description", "base", "axes", "constraints"});
  if (root["name"]) spec.name = yamlu::as_string(file, root["name"], "name");

  std::map<std::string, std::string> base = {{"arch", kDefaultArch}, {"dtype", "int16"}, {"mode", "timing"},
                                             {"compiler.fusion", "none"}, {"compiler.pipeline", "full"},
                                             {"compiler.elimination", "on"}, {"compiler.overlap", "auto"},
                                             {"batch", "1"}};
  std::map<std::string, YAML::Node> base_nodes;
  if (YAML::Node b = root["base"]) {
    yamlu::expect_keys(file, b, "base", {"arch", "model", "dtype", "mode", "batch", "compiler"});
    for (const char* k : {"arch", "model", "dtype", "mode", "batch"}) {
      if (!b[k]) continue;
      base[k] = yamlu::as_string(file, b[k], std::string("base.") + k);
      base_nodes[k] = b[k];
    }
    if (YAML::Node c = b["compiler"]) {
      yamlu::expect_keys(file, c, "base.compiler", {"fusion", "pipeline", "elimination", "overlap"});
      for (const char* k : {"fusion", "pipeline", "elimination", "overlap"}) {
        if (!c[k]) continue;
        base[std::string("compiler.") + k] = yamlu::as_string(file, c[k], std::string("base.compiler.") + k);
        base_nodes[std::string("compiler.") + k] = c[k];
      }
    }
  }

  if (YAML::Node ax = root["axes"]) {
    if (!ax.IsMap()) fail(file, ax, "axes", "expected a map of key: [values] or key: {from, to, scale|step}");
    for (auto it = ax.begin(); it != ax.end(); ++it) {
      spec.axes.push_back(read_axis(spec, it->first, it->second));
      for (std::size_t i = 0; i + 1 < spec.axes.size(); ++i)
        if (spec.axes[i].key == spec.axes.back().key) fail(file, it->first, "axes." + spec.axes.back().key, "duplicate axis");
    }
  }
  auto has_axis = [&](const std::string& k) {
    return std::any_of(spec.axes.begin(), spec.axes.end(), [&](const Axis& a) { return a.key == k; });
  };
  if (!base.count("model") && !has_axis("model"))
    fail(file, root["base"] ? root["base"] : root, "base.model", "a model is required (in base or as an axis)");
  for (const auto& k : kBaseKeys) {
    if (!base.count(k)) continue;
    spec.base.emplace_back(k, base[k]);
    // Base values an axis replaces are not used, so they are not checked.
    if (!has_axis(k)) check_value(spec, k, base[k], base_nodes.count(k) ? base_nodes[k] : root, "base." + k);
  }
  check_arch_axes(spec);

  if (YAML::Node cs = root["constraints"]) {
    if (!cs.IsSequence()) fail(file, cs, "constraints", "expected a list of expressions");
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const std::string kp = "constraints[" + std::to_string(i) + "]";
      std::string text = yamlu::as_string(file, cs[i], kp);
      try {
        spec.constraints.push_back({Expr::parse(text), where(file, cs[i])});
      } catch (const ExprError& e) {
        fail(file, cs[i], kp, std::string(e.what()) + " at character " + std::to_string(e.offset + 1) + " of '" + text + "'");
      }
    }
  }
  return spec;
}

// Resolves the names a constraint uses for one point.
class PointResolver {
 public:
  explicit PointResolver(std::map<std::string, YAML::Node>& arch_cache) : arch_cache_(arch_cache) {}

  Value operator()(const Point& p, const std::string& name, const std::string& at) const {
    for (const auto& [k, v] : p.params)
      if (k == name) return (k == "model" || k == "arch") ? Value::str(stem(v)) : Value::from_scalar(v);
    if (!is_arch_key(name))
      throw InputError(at + ": constraints: unknown name '" + name +
                       "' (expected arch, arch.<key path>, model, dtype, mode, batch or compiler.*)");
    auto cached = arch_cache_.find(p.arch_path);
    if (cached == arch_cache_.end()) cached = arch_cache_.emplace(p.arch_path, yamlu::load_file(p.arch_path)).first;
    // Const lookups: operator[] on a mutable node would insert the missing keys.
    const YAML::Node root = cached->second;
    std::vector<YAML::Node> path = {root};
    const std::string sub = arch_subkey(name);
    for (std::size_t start = 0;;) {
      std::size_t dot = sub.find('.', start);
      std::string part = sub.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const YAML::Node& cur = path.back();
      if (!cur.IsMap() || !cur[part])
        throw InputError(at + ": constraints: '" + name + "' is neither an axis nor a key of " + p.arch_path);
      path.push_back(cur[part]);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    const YAML::Node& cur = path.back();
    if (!cur.IsScalar()) throw InputError(at + ": constraints: '" + name + "' is not a single value in " + p.arch_path);
    return Value::from_scalar(cur.Scalar());
  }

 private:
  std::map<std::string, YAML::Node>& arch_cache_;
};

}  // namespace

const std::string& Point::get(const std::string& key) const {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  static const std::string empty;
  return empty;
}

std::vector<std::string> Point::run_args() const {
  std::vector<std::string> a = {"run",    "--model",    model_path,          "--arch",     arch_path,
                                "--dtype", get("dtype"), "--mode",            get("mode"), "--fusion",
                                get("compiler.fusion"),  "--pipeline",        get("compiler.pipeline"),
                                "--elimination",         get("compiler.elimination"), "--fusion-overlap",
                                get("compiler.overlap"), "--batch", get("batch")};
  for (const auto& [k, v] : params)
    if (is_arch_key(k)) {
      a.push_back("--set");
      a.push_back(k + "=" + v);
    }
  return a;
}

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

std::string hash_id(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string format_number(double v) {
  char buf[64];
  if (std::fabs(v) < 9.007199254740992e15 && v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else
    std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string resolve_path(const std::string& spec_file, const std::string& path) {
  if (path.empty()) return "";
  fs::path p(path);
  std::error_code ec;
  if (p.is_absolute()) return fs::exists(p, ec) ? p.lexically_normal().string() : "";
  for (const fs::path& base : {fs::path(spec_file).parent_path(), fs::path(), fs::path(FUSESIM_SOURCE_DIR)}) {
    fs::path c = base / p;
    if (fs::is_regular_file(c, ec)) return c.lexically_normal().string();
  }
  return "";
}

SweepSpec load_spec(const std::string& path) { return parse_node(yamlu::load_file(path), path); }

SweepSpec parse_spec(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": YAML syntax error: " + e.msg);
  }
  return parse_node(root, file);
}

Expansion expand(const SweepSpec& spec) {
  Expansion ex;
  ex.total = 1;
  for (const auto& a : spec.axes) {
    ex.total *= a.values.size();
    if (ex.total > kMaxPoints)
      throw InputError(a.where + ": axes: the cartesian product exceeds " + std::to_string(kMaxPoints) + " points");
  }
  std::map<std::string, YAML::Node> arch_cache;
  PointResolver resolver(arch_cache);
  // A few distinct paths across up to a million points: look each up on the filesystem once.
  std::map<std::string, std::string> paths;
  auto resolved = [&](const std::string& path) -> const std::string& {
    auto it = paths.find(path);
    if (it == paths.end()) it = paths.emplace(path, resolve_path(spec.file, path)).first;
    return it->second;
  };
  std::vector<std::size_t> digit(spec.axes.size(), 0);  // odometer, last axis fastest
  std::string canon;                                     // a point's parameters, hashed into its id
  ex.points.reserve(spec.constraints.empty() ? ex.total : 0);
  for (std::size_t index = 0; index < ex.total; ++index) {
    Point p;
    p.index = index;
    p.params.reserve(kBaseKeys.size() + spec.axes.size());
    for (const auto& key : kBaseKeys) {
      std::string v = base_value(spec, key);
      for (std::size_t i = 0; i < spec.axes.size(); ++i)
        if (spec.axes[i].key == key) v = spec.axes[i].values[digit[i]];
      p.params.emplace_back(key, v);
    }
    for (std::size_t i = 0; i < spec.axes.size(); ++i)
      if (is_arch_key(spec.axes[i].key)) p.params.emplace_back(spec.axes[i].key, spec.axes[i].values[digit[i]]);
    p.model_path = resolved(p.get("model"));
    p.arch_path = resolved(p.get("arch"));
    canon.clear();
    for (const auto& [k, v] : p.params) canon.append(k).append("=").append(v).append("\n");
    p.id = hash_id(canon);

    bool keep = true;
    for (const auto& c : spec.constraints) {
      try {
        if (!c.expr.holds([&](const std::string& n) { return resolver(p, n, c.where); })) {
          keep = false;
          break;
        }
      } catch (const ExprError& e) {
        throw InputError(c.where + ": constraints: " + e.what() + " in '" + c.expr.text() + "'");
      }
    }
    if (keep) ex.points.push_back(std::move(p));
    else ++ex.rejected;

    for (std::size_t i = spec.axes.size(); i-- > 0;) {
      if (++digit[i] < spec.axes[i].values.size()) break;
      digit[i] = 0;
    }
  }
  return ex;
}

}  // namespace fusesim::sweep
