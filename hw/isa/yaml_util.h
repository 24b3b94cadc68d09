// Strict YAML reading with locations: every error names file:line:col and the key path, and
// unknown keys are errors. Used by the arch config, the model frontend and sweep specs.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "errors.h"

namespace fusesim::yamlu {

// Loads a file; a missing file, a syntax error or a duplicate key is an InputError with
// file:line:col (a duplicate names both places).
YAML::Node load_file(const std::string& path);
// The same for YAML text that came from `file` (e.g. a spec embedded elsewhere).
YAML::Node load_text(const std::string& text, const std::string& file);
// Throws an InputError naming both file:line:col when a map in the first document of `text`
// repeats a key (yaml-cpp keeps the first silently). Aliases are not expanded. load_file and
// load_text call it; a loader that parses YAML by other means calls it on the text first.
void check_unique_keys(const std::string& text, const std::string& file);

// Where a node is: "file:line:col" (1-based) or just "file" when the node has no mark.
std::string where(const std::string& file, const YAML::Node& n);

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& key_path,
                       const std::string& msg);

// The text of a map key; a sequence or map used as a key (`{[a]: 1}`) is an error at its place.
std::string key_text(const std::string& file, const YAML::Node& key, const std::string& key_path);

// Checks that `map` is a map whose keys are all in `allowed`.
void expect_keys(const std::string& file, const YAML::Node& map, const std::string& key_path,
                 const std::vector<std::string>& allowed);

std::string join(const std::string& path, const std::string& key);

// Typed scalar readers. Each fails with the location on a wrong type.
double as_double(const std::string& file, const YAML::Node& n, const std::string& key_path);
int64_t as_int(const std::string& file, const YAML::Node& n, const std::string& key_path);
bool as_bool(const std::string& file, const YAML::Node& n, const std::string& key_path);
std::string as_string(const std::string& file, const YAML::Node& n, const std::string& key_path);
// A byte size: an integer or a string such as 2KiB, 32KiB, 1MiB, 64KB.
uint64_t as_size(const std::string& file, const YAML::Node& n, const std::string& key_path);
uint64_t parse_size(const std::string& text);  // throws std::invalid_argument

// Applies "a.b.c=value" overrides to a loaded tree. The path must already exist unless
// `allow_new` is set; the value is parsed as YAML.
void apply_override(YAML::Node root, const std::string& dotted, const std::string& value,
                    const std::string& origin, bool allow_new = false);

}  // namespace fusesim::yamlu
