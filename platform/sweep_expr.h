// A tiny expression language for sweep constraints: arithmetic (+ - * /), comparisons,
// && || !, sizes with units (2KiB, 1MiB), quoted strings and dotted names (arch.buffers.sb.bytes).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fusesim::sweep {

// A number or a string. Strings that look like numbers or sizes are read as numbers.
struct Value {
  bool is_number = true;
  double number = 0;
  std::string text;

  static Value num(double v) { return {true, v, {}}; }
  static Value str(std::string s) { return {false, 0, std::move(s)}; }
  // "2KiB" -> 2048, "12.8" -> 12.8, "greedy" -> string.
  static Value from_scalar(const std::string& s);
};

// A parse or evaluation error; `offset` is the 0-based character offset in the expression.
struct ExprError : std::runtime_error {
  ExprError(std::size_t offset, const std::string& msg) : std::runtime_error(msg), offset(offset) {}
  std::size_t offset;
};

// Looks a name up; throws (any exception) when the name is unknown.
using Resolver = std::function<Value(const std::string& name)>;

class Expr {
 public:
  static Expr parse(const std::string& text);  // throws ExprError
  Value eval(const Resolver& resolve) const;   // throws ExprError on a type error
  bool holds(const Resolver& resolve) const;   // eval, and the result must be a boolean (0/1)
  const std::vector<std::string>& names() const { return names_; }
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::vector<std::string> names_;
};

// Parses a number with an optional size unit (B, KiB, MiB, GiB, KB, MB, GB; k, m, g as
// binary). Returns false when `s` is not entirely such a number.
bool parse_number(const std::string& s, double& out);

}  // namespace fusesim::sweep
