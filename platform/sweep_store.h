// The sweep results store: DIR/results.jsonl (the source of truth) and DIR/results.csv, one row
// per point, each row appended with a single write() so a killed sweep never leaves half a row
// behind that --resume would keep. A Slurm array task's shard is the same store without a CSV.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fusesim::sweep {

// A JSON scalar kept as text: numbers, true/false/null verbatim; strings unescaped.
struct Cell {
  bool quoted = false;
  std::string text;
  static Cell str(std::string s) { return {true, std::move(s)}; }
  static Cell raw(std::string s) { return {false, std::move(s)}; }
};
using Row = std::vector<std::pair<std::string, Cell>>;

const Cell* find(const Row& row, const std::string& key);
// The number in `key`, or NaN when absent, empty or not a number.
double number(const Row& row, const std::string& key);

// Parses one JSON object; nested objects and arrays are skipped (not returned).
// Throws std::runtime_error on malformed input.
Row parse_flat_json(std::string_view text);
std::string to_json_line(const Row& row);  // one line, ending in '\n'
std::string csv_field(const std::string& s);
std::string to_csv_line(const Row& row, const std::vector<std::string>& columns);

// Splits `content` into complete lines; reports the byte length of the complete part.
std::vector<std::string> complete_lines(const std::string& content, std::size_t& complete_bytes);

// The rows of a JSONL results file (none if it does not exist), as --resume trusts them: a
// trailing partial line (a row cut short by a kill), unreadable lines, rows without an id and
// ids already in `ids` are dropped and counted in `dropped`; kept ids are added to `ids`.
std::vector<Row> read_rows(const std::string& path, std::set<std::string>& ids, std::size_t& dropped);

// Writes `rows` to a JSONL file and, unless `csv_path` is empty, to a CSV file with `columns`;
// each file atomically (temporary file, fsync, rename), JSONL first.
void write_rows(const std::string& jsonl_path, const std::string& csv_path, const std::vector<Row>& rows,
                const std::vector<std::string>& columns);

// A file written atomically: into PATH.tmp through a buffer, then fsync and rename on commit(),
// so a reader (or a crash) sees the old file or the whole new one. Without commit() the old file
// stays.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws InputError
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void append(std::string_view text);
  std::size_t bytes() const { return written_; }  // appended so far
  void commit();

 private:
  static constexpr std::size_t kFlushBytes = 1 << 20;
  std::string path_, tmp_, buf_;
  std::size_t written_ = 0;
  int fd_ = -1;
  void flush();
};

// The whole content of a file; throws InputError when it cannot be read.
std::string read_whole_file(const std::string& path);

// An exclusive flock on a lock file, held for the object's life. Throws InputError naming
// `what` when another process holds it.
class FileLock {
 public:
  FileLock(const std::string& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Where a store keeps its rows: a sweep's DIR/results.{jsonl,csv}, or a Slurm array task's
// shard (JSONL only). `what` names the store in errors.
struct StoreFiles {
  std::string jsonl, csv, lock, what;
  static StoreFiles in_dir(const std::string& dir);
  static StoreFiles shard(const std::string& jsonl_path);
};

class ResultStore {
 public:
  // Opens DIR (created if needed) and takes an exclusive lock on it. Without `resume`,
  // existing results are an error unless `overwrite`. With `resume`, results.jsonl is read:
  // a trailing partial line and unreadable or duplicate rows are dropped, and both files are
  // rewritten from what remains so they agree. Throws InputError.
  ResultStore(const std::string& dir, std::vector<std::string> csv_columns, bool resume, bool overwrite)
      : ResultStore(StoreFiles::in_dir(dir), std::move(csv_columns), resume, overwrite) {}
  ResultStore(StoreFiles files, std::vector<std::string> csv_columns, bool resume, bool overwrite);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  bool has(const std::string& id) const { return ids_.count(id) != 0; }
  const std::vector<Row>& rows() const { return rows_; }
  std::size_t dropped() const { return dropped_; }  // rows discarded while resuming

  // Appends one row (which must have an "id") to both files and syncs results.jsonl.
  void append(const Row& row);

 private:
  StoreFiles files_;
  std::vector<std::string> columns_;
  std::vector<Row> rows_;
  std::set<std::string> ids_;
  std::size_t dropped_ = 0;
  std::unique_ptr<FileLock> lock_;
  int jsonl_fd_ = -1, csv_fd_ = -1;

  void open(bool resume, bool overwrite);
  void close_all();
  void open_for_append();
};

}  // namespace fusesim::sweep
