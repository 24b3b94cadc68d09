// Results store: flat JSON rows, CSV rows, crash-safe appends and the resume logic.
#include "sweep_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "isa/errors.h"
#include "json_writer.h"

namespace fs = std::filesystem;

namespace fusesim::sweep {

namespace {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view s) : s_(s) {}

  Row object() {
    Row row;
    row.reserve(32);  // a results row has about 30 cells
    expect('{');
    ws();
    if (peek() == '}') {
      ++pos_;
      return end(row);
    }
    for (;;) {
      ws();
      std::string key = string();
      ws();
      expect(':');
      ws();
      char c = peek();
      if (c == '{' || c == '[') skip_nested();
      else if (c == '"') row.emplace_back(key, Cell::str(string()));
      else row.emplace_back(key, Cell::raw(bare()));
      ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return end(row);
    }
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;

  [[noreturn]] void bad(const std::string& msg) const {
    throw std::runtime_error("JSON: " + msg + " at character " + std::to_string(pos_ + 1));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void ws() {
    while (pos_ < s_.size() && std::strchr(" \t\r\n", s_[pos_])) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  Row end(Row& row) {
    ws();
    if (pos_ != s_.size()) bad("trailing characters");
    return std::move(row);
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      // The plain run up to the next quote or escape in one append (shards hold 100,000s of rows).
      const std::size_t run = s_.find_first_of("\"\\", pos_);
      if (run == std::string::npos) bad("unterminated string");
      out.append(s_, pos_, run - pos_);
      pos_ = run;
      char c = s_[pos_++];
      if (c == '"') return out;
      if (pos_ >= s_.size()) bad("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (pos_ + 4 > s_.size()) bad("short \\u escape");
          char* endp = nullptr;
          std::string hex(s_.substr(pos_, 4));
          unsigned cp = static_cast<unsigned>(std::strtoul(hex.c_str(), &endp, 16));
          if (endp != hex.c_str() + 4) bad("bad \\u escape");
          utf8(out, cp);
          pos_ += 4;
          break;
        }
        default: bad(std::string("bad escape \\") + e);
      }
    }
  }
  std::string bare() {  // number, true, false, null
    std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || std::strchr("+-.", s_[pos_])))
      ++pos_;
    std::string tok(s_.substr(start, pos_ - start));
    if (tok == "true" || tok == "false" || tok == "null") return tok;
    char* endp = nullptr;
    std::strtod(tok.c_str(), &endp);
    if (tok.empty() || endp != tok.c_str() + tok.size()) bad("bad value '" + tok + "'");
    return tok;
  }
  void skip_nested() {
    int depth = 0;
    do {
      char c = peek();
      if (c == '\0') bad("unterminated object or array");
      if (c == '"') {
        string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++pos_;
    } while (depth > 0);
  }
};

void write_all(int fd, const std::string& data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write " + what + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

// Appends `s` as JSON string content; most values need no escaping and are copied as they are.
void append_json_escaped(std::string& out, const std::string& s) {
  const bool plain = std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  out += plain ? s : JsonWriter::escape(s);
}

void append_csv_field(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  out += '"';
}

void append_json_line(std::string& out, const Row& row) {
  out += '{';
  for (std::size_t i = 0; i < row.size(); ++i) {
    const auto& [k, c] = row[i];
    if (i) out += ',';
    out += '"';
    append_json_escaped(out, k);
    out += "\":";
    if (c.quoted) {
      out += '"';
      append_json_escaped(out, c.text);
      out += '"';
    } else {
      out += c.text.empty() ? "null" : c.text;
    }
  }
  out += "}\n";
}

void append_csv_line(std::string& out, const Row& row, const std::vector<std::string>& columns) {
  std::size_t next = 0;  // rows mostly hold the columns in order: try the next cell first
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const Cell* c = nullptr;
    if (next < row.size() && row[next].first == columns[i]) c = &row[next++].second;
    else c = find(row, columns[i]);
    if (i) out += ',';
    if (c && !(!c->quoted && c->text == "null")) append_csv_field(out, c->text);
  }
  out += '\n';
}

std::string header_line(const std::vector<std::string>& columns) {
  std::string h;
  for (std::size_t i = 0; i < columns.size(); ++i) h += (i ? "," : "") + csv_field(columns[i]);
  return h + "\n";
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(tmp_ + ": cannot create: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AtomicFile::append(std::string_view text) {
  buf_ += text;
  written_ += text.size();
  if (buf_.size() >= kFlushBytes) flush();
}

void AtomicFile::flush() {
  write_all(fd_, buf_, tmp_);
  buf_.clear();
}

void AtomicFile::commit() {
  flush();
  ::fsync(fd_);
  ::close(fd_);
  fd_ = -1;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) throw InputError(path_ + ": cannot replace: " + std::strerror(errno));
}

const Cell* find(const Row& row, const std::string& key) {
  for (const auto& [k, c] : row)
    if (k == key) return &c;
  return nullptr;
}

double number(const Row& row, const std::string& key) {
  const Cell* c = find(row, key);
  if (!c || c->quoted || c->text.empty()) return NAN;
  char* end = nullptr;
  double v = std::strtod(c->text.c_str(), &end);
  return end == c->text.c_str() + c->text.size() ? v : NAN;
}

Row parse_flat_json(std::string_view text) { return JsonScanner(text).object(); }

std::string to_json_line(const Row& row) {
  std::string s;
  append_json_line(s, row);
  return s;
}

std::string csv_field(const std::string& s) {
  std::string out;
  append_csv_field(out, s);
  return out;
}

std::string to_csv_line(const Row& row, const std::vector<std::string>& columns) {
  std::string s;
  append_csv_line(s, row, columns);
  return s;
}

std::vector<std::string> complete_lines(const std::string& content, std::size_t& complete_bytes) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = content.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(content.substr(start, nl - start));
  complete_bytes = start;
  return lines;
}

std::vector<Row> read_rows(const std::string& path, std::set<std::string>& ids, std::size_t& dropped) {
  std::vector<Row> rows;
  std::error_code ec;
  if (!fs::exists(path, ec)) return rows;
  const std::string content = read_whole_file(path);
  const std::string_view text(content);
  std::size_t complete = 0;
  for (std::size_t nl; (nl = text.find('\n', complete)) != std::string_view::npos; complete = nl + 1) {
    const std::string_view line = text.substr(complete, nl - complete);
    if (line.empty()) continue;
    try {
      Row r = parse_flat_json(line);
      const Cell* id = find(r, "id");
      if (!id || id->text.empty() || !ids.insert(id->text).second) {
        ++dropped;
        continue;
      }
      rows.push_back(std::move(r));
    } catch (const std::runtime_error&) {
      ++dropped;
    }
  }
  if (complete < content.size()) ++dropped;  // a row cut short by a kill
  return rows;
}

void write_rows(const std::string& jsonl_path, const std::string& csv_path, const std::vector<Row>& rows,
                const std::vector<std::string>& columns) {
  AtomicFile jsonl(jsonl_path);
  std::string line;
  for (const auto& r : rows) {
    line.clear();
    append_json_line(line, r);
    jsonl.append(line);
  }
  jsonl.commit();
  if (csv_path.empty()) return;
  AtomicFile csv(csv_path);
  csv.append(header_line(columns));
  for (const auto& r : rows) {
    line.clear();
    append_csv_line(line, r, columns);
    csv.append(line);
  }
  csv.commit();
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read");
  std::error_code ec;
  std::string text(static_cast<std::size_t>(fs::file_size(path, ec)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));  // a file that shrank meanwhile
  return text;
}

FileLock::FileLock(const std::string& path, const std::string& what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw InputError(what + ": another sweep is writing into this directory");
  }
}

FileLock::~FileLock() { ::close(fd_); }

StoreFiles StoreFiles::in_dir(const std::string& dir) {
  return {dir + "/results.jsonl", dir + "/results.csv", dir + "/.lock", "--out " + dir};
}

StoreFiles StoreFiles::shard(const std::string& jsonl_path) {
  const fs::path p(jsonl_path);
  return {jsonl_path, "", (p.parent_path() / ("." + p.stem().string() + ".lock")).string(), jsonl_path};
}

ResultStore::ResultStore(StoreFiles files, std::vector<std::string> csv_columns, bool resume, bool overwrite)
    : files_(std::move(files)), columns_(std::move(csv_columns)) {
  try {
    open(resume, overwrite);
  } catch (...) {
    close_all();  // no destructor runs for a throwing constructor: release the lock here
    throw;
  }
}

void ResultStore::open(bool resume, bool overwrite) {
  std::error_code ec;
  const fs::path dir = fs::path(files_.jsonl).parent_path();
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw InputError(files_.what + ": cannot create the directory");
  lock_ = std::make_unique<FileLock>(files_.lock, files_.what);
  if (resume) {
    rows_ = read_rows(files_.jsonl, ids_, dropped_);
  } else if (!overwrite && fs::exists(files_.jsonl) && fs::file_size(files_.jsonl, ec) > 0) {
    throw InputError(files_.what + ": " + fs::path(files_.jsonl).filename().string() +
                     " already holds results; add --resume to complete that sweep or --overwrite to start over");
  }
  // Rewritten from what remains, so a CSV row whose JSON row was lost goes too.
  write_rows(files_.jsonl, files_.csv, rows_, columns_);
  open_for_append();
}

ResultStore::~ResultStore() { close_all(); }

void ResultStore::close_all() {
  for (int* fd : {&jsonl_fd_, &csv_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  lock_.reset();
}

void ResultStore::open_for_append() {
  for (auto [fd, path] : {std::pair<int*, const std::string*>{&jsonl_fd_, &files_.jsonl}, {&csv_fd_, &files_.csv}}) {
    if (path->empty()) continue;
    *fd = ::open(path->c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (*fd < 0) throw InputError(*path + ": cannot open for appending: " + std::strerror(errno));
  }
}

void ResultStore::append(const Row& row) {
  const Cell* id = find(row, "id");
  if (!id) throw std::logic_error("result row without an id");
  // The JSONL file first: it is what --resume trusts; the CSV is rebuilt from it on resume.
  write_all(jsonl_fd_, to_json_line(row), files_.jsonl);
  ::fdatasync(jsonl_fd_);
  if (csv_fd_ >= 0) write_all(csv_fd_, to_csv_line(row, columns_), files_.csv);
  ids_.insert(id->text);
  rows_.push_back(row);
}

}  // namespace fusesim::sweep
