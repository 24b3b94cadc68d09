// Sweep specs (configs/sweeps/*.yaml, format in docs/sweeps.md): parsing and validation, axis
// expansion into the cartesian product of points, constraints, and stable point ids.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sweep_expr.h"

namespace fusesim::sweep {

// One sweepable setting of a point. Keys: arch, model, dtype, mode, compiler.fusion,
// compiler.pipeline, compiler.elimination, arch.<key path>.
using Param = std::pair<std::string, std::string>;

struct Axis {
  std::string key;
  std::vector<std::string> values;  // as passed to the worker (ranges are expanded to numbers)
  std::string where;                // file:line:col of the key, for messages
};

struct Constraint {
  Expr expr;
  std::string where;
};

struct SweepSpec {
  std::string file;                 // the spec's path as given
  std::string name;                 // `name:` or the file's stem
  std::vector<Param> base;          // arch, model, dtype, mode, compiler.* (as written)
  std::vector<Axis> axes;           // in file order; the last axis varies fastest
  std::vector<Constraint> constraints;
};

struct Point {
  std::size_t index = 0;            // position in the full cartesian product
  std::string id;                   // 16 hex digits, a hash of every parameter
  std::vector<Param> params;        // base keys in fixed order, then arch.* axis keys
  std::string arch_path, model_path;  // resolved file paths

  const std::string& get(const std::string& key) const;  // "" when absent
  // `fusesim run` arguments for this point, without the program name.
  std::vector<std::string> run_args() const;
};

struct Expansion {
  std::vector<Point> points;        // those that pass every constraint
  std::size_t total = 0;            // size of the cartesian product
  std::size_t rejected = 0;         // skipped by a constraint
};

// Reads and validates a spec; every error is an InputError naming file:line:col and key path.
SweepSpec load_spec(const std::string& path);
// The same from YAML text (tests); `file` is used in messages and to resolve relative paths.
SweepSpec parse_spec(const std::string& yaml_text, const std::string& file);

// Cartesian product of the axes, filtered by the constraints. Throws InputError when a
// constraint names an unknown key or compares a number with a string.
Expansion expand(const SweepSpec& spec);

// Resolves a path written in a spec: relative to the spec file's directory, then to the
// working directory, then to the fusesim source tree. Returns "" when none exists.
std::string resolve_path(const std::string& spec_file, const std::string& path);

// "models/vgg16.yaml" -> "vgg16".
std::string stem(const std::string& path);

// 64-bit FNV-1a of `text` as 16 hex digits.
std::string hash_id(const std::string& text);

// Formats a number as the worker and results receive it: integers without a decimal point.
std::string format_number(double v);

}  // namespace fusesim::sweep
