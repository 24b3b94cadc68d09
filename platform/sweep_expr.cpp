// Recursive-descent parser and evaluator for sweep constraint expressions.
#include "sweep_expr.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace fusesim::sweep {

struct Expr::Node {
  enum Kind { Number, String, Name, Unary, Binary } kind;
  std::size_t offset = 0;
  double number = 0;
  std::string text;  // string literal, name, or operator
  std::shared_ptr<const Node> lhs, rhs;
};

namespace {

using NodeP = std::shared_ptr<const Expr::Node>;

bool unit_multiplier(std::string unit, double& mul) {
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::pair<const char*, double> units[] = {
      {"", 1},           {"b", 1},           {"k", 1024.0},          {"kib", 1024.0},
      {"m", 1048576.0},  {"mib", 1048576.0}, {"g", 1073741824.0},    {"gib", 1073741824.0},
      {"kb", 1e3},       {"mb", 1e6},        {"gb", 1e9}};
  for (const auto& [name, m] : units)
    if (unit == name) {
      mul = m;
      return true;
    }
  return false;
}

class Parser {
 public:
  Parser(const std::string& s, std::vector<std::string>& names) : s_(s), names_(names) {}

  NodeP parse() {
    NodeP n = parse_or();
    skip_ws();
    if (pos_ != s_.size()) throw ExprError(pos_, "unexpected '" + s_.substr(pos_, 1) + "'");
    return n;
  }

 private:
  const std::string& s_;
  std::vector<std::string>& names_;
  std::size_t pos_ = 0;

  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool accept(const char* op) {
    skip_ws();
    std::size_t n = std::char_traits<char>::length(op);
    if (s_.compare(pos_, n, op) != 0) return false;
    // '<' must not swallow the first half of '<='; '!' must not be the start of '!='.
    if (n == 1 && pos_ + 1 < s_.size() && s_[pos_ + 1] == '=' && std::string("<>!=").find(op[0]) != std::string::npos)
      return false;
    pos_ += n;
    return true;
  }
  static NodeP binary(const std::string& op, std::size_t at, NodeP l, NodeP r) {
    auto n = std::make_shared<Expr::Node>();
    n->kind = Expr::Node::Binary;
    n->text = op;
    n->offset = at;
    n->lhs = std::move(l);
    n->rhs = std::move(r);
    return n;
  }
  template <typename Next>
  NodeP left_assoc(Next next, std::initializer_list<const char*> ops) {
    NodeP l = (this->*next)();
    for (;;) {
      bool matched = false;
      for (const char* op : ops) {
        skip_ws();
        std::size_t at = pos_;
        if (accept(op)) {
          l = binary(op, at, l, (this->*next)());
          matched = true;
          break;
        }
      }
      if (!matched) return l;
    }
  }
  NodeP parse_or() { return left_assoc(&Parser::parse_and, {"||"}); }
  NodeP parse_and() { return left_assoc(&Parser::parse_cmp, {"&&"}); }
  NodeP parse_cmp() {
    NodeP l = parse_sum();
    for (const char* op : {"<=", ">=", "==", "!=", "<", ">"}) {
      skip_ws();
      std::size_t at = pos_;
      if (accept(op)) {
        NodeP n = binary(op, at, l, parse_sum());
        skip_ws();
        for (const char* op2 : {"<", ">", "==", "!="})
          if (s_.compare(pos_, std::char_traits<char>::length(op2), op2) == 0)
            throw ExprError(pos_, "comparisons do not chain; use &&");
        return n;
      }
    }
    return l;
  }
  NodeP parse_sum() { return left_assoc(&Parser::parse_product, {"+", "-"}); }
  NodeP parse_product() { return left_assoc(&Parser::parse_unary, {"*", "/"}); }
  NodeP parse_unary() {
    skip_ws();
    std::size_t at = pos_;
    for (const char* op : {"-", "!"}) {
      if (accept(op)) {
        auto n = std::make_shared<Expr::Node>();
        n->kind = Expr::Node::Unary;
        n->text = op;
        n->offset = at;
        n->lhs = parse_unary();
        return n;
      }
    }
    return parse_primary();
  }
  NodeP parse_primary() {
    skip_ws();
    if (pos_ >= s_.size()) throw ExprError(pos_, "unexpected end of expression");
    auto n = std::make_shared<Expr::Node>();
    n->offset = pos_;
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      NodeP inner = parse_or();
      if (!accept(")")) throw ExprError(pos_, "expected ')'");
      return inner;
    }
    if (c == '\'' || c == '"') {
      std::size_t end = s_.find(c, pos_ + 1);
      if (end == std::string::npos) throw ExprError(pos_, "unterminated string");
      n->kind = Expr::Node::String;
      n->text = s_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      std::size_t end = pos_;
      while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '.')) ++end;
      std::string tok = s_.substr(pos_, end - pos_);
      if (!parse_number(tok, n->number)) throw ExprError(pos_, "bad number or size '" + tok + "'");
      n->kind = Expr::Node::Number;
      pos_ = end;
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = pos_;
      while (end < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_' || s_[end] == '.'))
        ++end;
      n->kind = Expr::Node::Name;
      n->text = s_.substr(pos_, end - pos_);
      if (n->text.back() == '.') throw ExprError(end - 1, "name '" + n->text + "' ends with '.'");
      if (std::find(names_.begin(), names_.end(), n->text) == names_.end()) names_.push_back(n->text);
      pos_ = end;
      return n;
    }
    throw ExprError(pos_, std::string("unexpected '") + c + "'");
  }
};

double as_number(const Value& v, const Expr::Node& at, const char* what) {
  if (!v.is_number) throw ExprError(at.offset, std::string(what) + " needs numbers, got '" + v.text + "'");
  return v.number;
}

Value eval_node(const Expr::Node& n, const Resolver& resolve) {
  switch (n.kind) {
    case Expr::Node::Number: return Value::num(n.number);
    case Expr::Node::String: return Value::str(n.text);
    case Expr::Node::Name: return resolve(n.text);
    case Expr::Node::Unary: {
      double v = as_number(eval_node(*n.lhs, resolve), n, n.text == "-" ? "'-'" : "'!'");
      return Value::num(n.text == "-" ? -v : (v == 0 ? 1.0 : 0.0));
    }
    case Expr::Node::Binary: break;
  }
  const std::string& op = n.text;
  Value l = eval_node(*n.lhs, resolve);
  if (op == "&&" || op == "||") {  // short-circuit
    bool lv = as_number(l, n, op.c_str()) != 0;
    if (op == "&&" ? !lv : lv) return Value::num(lv ? 1 : 0);
    return Value::num(as_number(eval_node(*n.rhs, resolve), n, op.c_str()) != 0 ? 1 : 0);
  }
  Value r = eval_node(*n.rhs, resolve);
  if ((op == "==" || op == "!=") && !l.is_number && !r.is_number) {
    bool eq = l.text == r.text;
    return Value::num((op == "==") == eq ? 1 : 0);
  }
  if (l.is_number != r.is_number)
    throw ExprError(n.offset, "'" + op + "' compares a number with the string '" + (l.is_number ? r.text : l.text) + "'");
  double a = as_number(l, n, op.c_str()), b = as_number(r, n, op.c_str());
  if (op == "+") return Value::num(a + b);
  if (op == "-") return Value::num(a - b);
  if (op == "*") return Value::num(a * b);
  if (op == "/") {
    if (b == 0) throw ExprError(n.offset, "division by zero");
    return Value::num(a / b);
  }
  if (op == "<") return Value::num(a < b);
  if (op == "<=") return Value::num(a <= b);
  if (op == ">") return Value::num(a > b);
  if (op == ">=") return Value::num(a >= b);
  if (op == "==") return Value::num(a == b);
  return Value::num(a != b);  // "!="
}

}  // namespace

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin || std::isnan(v) || std::isinf(v)) return false;
  // strtod accepts "0x..", "inf", exponents; only plain decimals are sizes or numbers here.
  for (const char* p = begin; p < end; ++p)
    if (!std::isdigit(static_cast<unsigned char>(*p)) && *p != '.' && *p != '-' && *p != '+' && *p != 'e' &&
        *p != 'E')
      return false;
  double mul = 1;
  std::string unit(end);
  if (!unit_multiplier(unit, mul)) return false;
  out = v * mul;
  return true;
}

Value Value::from_scalar(const std::string& s) {
  double v;
  if (parse_number(s, v)) return num(v);
  return str(s);
}

Expr Expr::parse(const std::string& text) {
  Expr e;
  e.text_ = text;
  Parser p(text, e.names_);
  e.root_ = p.parse();
  return e;
}

Value Expr::eval(const Resolver& resolve) const { return eval_node(*root_, resolve); }

bool Expr::holds(const Resolver& resolve) const {
  Value v = eval(resolve);
  if (!v.is_number || (v.number != 0 && v.number != 1))
    throw ExprError(0, "the constraint is not a comparison (its value is " +
                           (v.is_number ? std::to_string(v.number) : "'" + v.text + "'") + ")");
  return v.number != 0;
}

}  // namespace fusesim::sweep
