// The Slurm executor: plan and task table files, the batch script, sbatch/squeue/sacct calls,
// the array-task worker, shard scanning, status, --wait and the merge.
#include "sweep_slurm.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "isa/errors.h"
#include "sweep.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace fusesim::sweep {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kIdxWidth = 17;    // 16 hex digits and a newline per offset
constexpr std::size_t kMaxTasks = 1000;  // Slurm's default MaxArraySize is 1001 (indices 0..1000)

void write_text(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.append(text);
  f.commit();
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return "";
}

// The last non-blank line: Slurm's commands end a chain of errors with the conclusion
// ("fatal: Could not establish a configuration source").
std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string last;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

// ---- Running the Slurm commands ------------------------------------------------------------

struct Captured {
  int exit_code = -1;  // 127 when the program could not be started
  std::string out, err;
};

Captured capture(const std::vector<std::string>& args) {
  int out_p[2], err_p[2];
  if (::pipe2(out_p, O_CLOEXEC) != 0 || ::pipe2(err_p, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(out_p[1], 1);
    ::dup2(err_p[1], 2);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_p[1]);
  ::close(err_p[1]);
  Captured c;
  pollfd fds[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
  std::string* sink[2] = {&c.out, &c.err};
  for (int open_fds = 2; open_fds > 0;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sink[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return c;
}

// One reason line from a failed command: its stderr's conclusion, else its stdout.
std::string reason(const Captured& c) {
  return last_line(c.err).empty() ? first_line(c.out) : last_line(c.err);
}

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((d + "/" + prog).c_str(), X_OK) == 0) return true;
  return false;
}

// Throws the one-line reason when sbatch cannot reach a Slurm controller.
void require_slurm() {
  for (const char* prog : {"sbatch", "squeue", "scontrol"})
    if (!on_path(prog))
      throw InputError(std::string("--executor slurm: Slurm is not reachable: ") + prog +
                       " not found on PATH");
  const Captured ping = capture({"scontrol", "ping"});
  if (ping.exit_code != 0 || ping.out.find("UP") == std::string::npos)
    throw InputError(
        "--executor slurm: Slurm is not reachable: the controller does not respond (scontrol ping: " +
        reason(ping) + ")");
}

// MaxArraySize - 1 of the cluster (the largest array index), or kMaxTasks when unknown.
std::size_t max_array_index() {
  const Captured c = capture({"scontrol", "show", "config"});
  std::istringstream in(c.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MaxArraySize", 0) == 0) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) {
        const long v = std::strtol(line.c_str() + eq + 1, nullptr, 10);
        if (v > 0) return static_cast<std::size_t>(v - 1);
      }
    }
  return kMaxTasks;
}

struct Submission {
  std::size_t round = 0;
  std::string job;
  std::size_t tasks = 0, points = 0;
  std::string spec;
};

std::vector<Submission> read_submissions(const std::string& dir) {
  std::vector<Submission> subs;
  std::ifstream in(dir + "/submissions.tsv");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    Submission s;
    std::string round, tasks, points;
    std::getline(f, round, '\t');
    std::getline(f, s.job, '\t');
    std::getline(f, tasks, '\t');
    std::getline(f, points, '\t');
    std::getline(f, s.spec, '\t');
    s.round = std::stoul(round);
    s.tasks = std::stoul(tasks);
    s.points = std::stoul(points);
    subs.push_back(s);
  }
  return subs;
}

std::string job_list(const std::vector<Submission>& subs) {
  std::string ids;
  for (const auto& s : subs) ids += (ids.empty() ? "" : ",") + s.job;
  return ids;
}

// Array tasks of our jobs still in the queue, by state (PENDING, RUNNING, ...).
struct QueueState {
  bool reachable = false;
  std::string error;
  std::map<std::string, std::size_t> by_state;
  std::size_t active() const {
    std::size_t n = 0;
    for (const auto& [s, c] : by_state) n += c;
    return n;
  }
  std::string describe() const {
    if (!reachable) return "not reachable (" + error + ")";
    if (by_state.empty()) return "no array task queued or running";
    std::string d;
    for (const auto& [s, c] : by_state) d += (d.empty() ? "" : ", ") + std::to_string(c) + " " + s;
    return d;
  }
};

QueueState queue_state(const std::vector<Submission>& subs) {
  QueueState q;
  if (subs.empty() || !on_path("squeue")) {
    q.error = subs.empty() ? "nothing submitted" : "squeue not found";
    return q;
  }
  const Captured c = capture({"squeue", "-h", "-r", "-j", job_list(subs), "-o", "%i %T"});
  // A job that left the controller's memory (MinJobAge after it ended) is an invalid id.
  if (c.exit_code != 0 && c.err.find("Invalid job id") == std::string::npos) {
    q.error = reason(c);
    return q;
  }
  q.reachable = true;
  std::istringstream in(c.out);
  for (std::string id, state; in >> id >> state;) ++q.by_state[state];
  return q;
}

// sacct's view of our array tasks ("COMPLETED 3, CANCELLED 1"), or why there is none.
std::string accounting(const std::vector<Submission>& subs) {
  if (subs.empty()) return "nothing submitted";
  if (!on_path("sacct")) return "unavailable (sacct not found)";
  const Captured c = capture({"sacct", "-n", "-X", "-P", "-j", job_list(subs), "-o", "JobID,State"});
  if (c.exit_code != 0) return "unavailable (" + reason(c) + ")";
  std::map<std::string, std::size_t> by_state;
  std::istringstream in(c.out);
  for (std::string line; std::getline(in, line);) {
    const auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    std::string state = line.substr(bar + 1);
    state = state.substr(0, state.find(' '));  // "CANCELLED by 0" -> CANCELLED
    ++by_state[state];
  }
  std::string d;
  for (const auto& [s, n] : by_state) d += (d.empty() ? "" : ", ") + std::to_string(n) + " " + s;
  return d.empty() ? "no records yet" : d;
}

// ---- Shards -----------------------------------------------------------------------------------

// shards/R_T.jsonl -> (R, T); false for any other name.
bool shard_key(const fs::path& p, std::pair<std::size_t, std::size_t>& key) {
  if (p.extension() != ".jsonl") return false;
  const std::string stem = p.stem().string();
  const auto us = stem.find('_');
  if (us == std::string::npos || us == 0 || us + 1 == stem.size()) return false;
  if (stem.find_first_not_of("0123456789_") != std::string::npos ||
      stem.find('_', us + 1) != std::string::npos)
    return false;
  key = {std::stoul(stem.substr(0, us)), std::stoul(stem.substr(us + 1))};
  return true;
}

std::string shard_path(const std::string& dir, std::size_t round, std::size_t task) {
  return dir + "/shards/" + std::to_string(round) + "_" + std::to_string(task) + ".jsonl";
}

// The complete rows of every shard, in (round, task, line) order. Re-reads only shards whose
// size changed since the last scan, so --wait polls a large sweep cheaply.
class ShardScan {
 public:
  explicit ShardScan(std::string dir) : dir_(std::move(dir)) {}

  void rescan() {
    std::error_code ec;
    for (fs::directory_iterator it(dir_ + "/shards", ec), end; !ec && it != end; it.increment(ec)) {
      std::pair<std::size_t, std::size_t> key;
      if (!shard_key(it->path(), key)) continue;
      const auto size = fs::file_size(it->path(), ec);
      if (ec) continue;
      Shard& s = shards_[key];
      if (s.size == size && !s.rows.empty()) continue;
      std::set<std::string> ids;
      std::size_t dropped = 0;
      s.rows = read_rows(it->path().string(), ids, dropped);
      s.size = size;
    }
  }

  // The first row of each id, in shard order.
  std::vector<Row*> rows() {
    std::vector<Row*> out;
    std::unordered_set<std::string> seen;
    for (auto& [key, s] : shards_)
      for (auto& r : s.rows)
        if (seen.insert(find(r, "id")->text).second) out.push_back(&r);
    return out;
  }

  // The rows of `plan`'s points, the first of each id, in plan order; moved out of the scan.
  std::vector<Row> take_plan_rows(const std::unordered_map<std::string, std::size_t>& ordinal) {
    std::vector<std::pair<std::size_t, Row*>> keep;
    for (Row* r : rows()) {
      auto it = ordinal.find(find(*r, "id")->text);
      if (it != ordinal.end()) keep.emplace_back(it->second, r);
    }
    std::sort(keep.begin(), keep.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Row> out;
    out.reserve(keep.size());
    for (auto& [ord, r] : keep) out.push_back(std::move(*r));
    shards_.clear();
    return out;
  }

 private:
  struct Shard {
    std::uintmax_t size = 0;
    std::vector<Row> rows;
  };
  std::string dir_;
  std::map<std::pair<std::size_t, std::size_t>, Shard> shards_;
};

struct Counts {
  std::size_t total = 0, ok = 0, failed = 0;
  std::size_t done() const { return ok + failed; }
  std::size_t pending() const { return total - done(); }
};

// Rows of the plan's points by status; `ordinal` is null when every row is one of them.
template <class RowPtrs>
Counts count(const RowPtrs& rows, std::size_t total,
             const std::unordered_map<std::string, std::size_t>* ordinal = nullptr) {
  Counts c;
  c.total = total;
  for (const auto& r : rows) {
    const Row& row = *r;
    if (ordinal && !ordinal->count(find(row, "id")->text)) continue;
    const Cell* s = find(row, "status");
    (s && s->text == "ok" ? c.ok : c.failed)++;
  }
  return c;
}

std::unordered_map<std::string, std::size_t> ordinals_by_id(const PlanIndex& plan) {
  std::unordered_map<std::string, std::size_t> m;
  m.reserve(plan.ids.size());
  for (std::size_t i = 0; i < plan.ids.size(); ++i) m.emplace(plan.ids[i], i);
  return m;
}

// Parameter columns whose value differs between items (the model always), for progress lines
// and the summary; get(item, key) is an item's value of a parameter.
template <class Items, class Get>
std::vector<std::string> varying_columns(const std::vector<Param>& params, const Items& items, Get get) {
  std::vector<std::string> cols;
  if (items.empty()) return cols;
  for (const auto& param : params) {
    const std::string& k = param.first;
    bool varies = k == "model";
    for (auto it = items.begin(); !varies && it != items.end(); ++it)
      varies = get(*it, k) != get(items.front(), k);
    if (varies) cols.push_back(column_of(k));
  }
  return cols;
}

std::string resume_hint(const std::string& dir, const std::vector<Submission>& subs) {
  return "fusesim sweep " + shell_word(subs.empty() ? "SPEC" : subs.back().spec) +
         " --executor slurm --out " + shell_word(dir) + " --resume";
}

// ---- Submitting -------------------------------------------------------------------------------

std::string sbatch_script(const std::string& name, const std::string& dir, const std::string& cwd,
                          const SlurmOptions& opt) {
  std::string job_name = name;  // #SBATCH values end at white space
  for (char& c : job_name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# fusesim sweep '" << name << "' on Slurm, written by `fusesim sweep --executor slurm`.\n"
    << "# Submitted as: sbatch --array=0-(TASKS-1)[%MAX_RUNNING] " << dir << "/sweep.sbatch ROUND\n"
    << "# Array task T runs the points on line T of " << dir << "/tasks/ROUND.txt into " << dir
    << "/shards/ROUND_T.jsonl.\n"
    << "#SBATCH --job-name=fusesim-" << job_name << "\n"
    << "#SBATCH --output=" << dir << "/logs/%A_%a.out\n"
    << "#SBATCH --chdir=" << cwd << "\n";
  if (!opt.partition.empty()) s << "#SBATCH --partition=" << opt.partition << "\n";
  if (!opt.time_limit.empty()) s << "#SBATCH --time=" << opt.time_limit << "\n";
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  s << "set -eu\n"
    << "exec " << shell_quote(exe) << " sweep-task " << shell_quote(dir)
    << " --round \"$1\" --task \"$SLURM_ARRAY_TASK_ID\"";
  if (opt.timeout_s > 0) s << " --timeout " << format_number(opt.timeout_s);
  s << "\n";
  return s.str();
}

// Submits round `round` (its task table already written); returns the job id.
std::string submit(const std::string& dir, std::size_t round, std::size_t tasks, std::size_t points,
                   const std::string& spec_path, const SlurmOptions& opt) {
  std::string array = "0-" + std::to_string(tasks - 1);
  if (opt.max_running) array += "%" + std::to_string(opt.max_running);
  std::vector<std::string> cmd = {"sbatch", "--parsable", "--array=" + array};
  cmd.insert(cmd.end(), opt.sbatch_args.begin(), opt.sbatch_args.end());
  cmd.push_back(dir + "/sweep.sbatch");
  cmd.push_back(std::to_string(round));
  std::string shown;
  for (const auto& a : cmd) shown += (shown.empty() ? "" : " ") + shell_word(a);
  std::cerr << "submitting: " << shown << "\n";
  const Captured c = capture(cmd);
  const std::string job = first_line(c.out).substr(0, first_line(c.out).find(';'));  // "ID" or "ID;cluster"
  if (c.exit_code != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw InputError("sbatch failed: " + reason(c));
  std::ofstream log(dir + "/submissions.tsv", std::ios::app);
  if (fs::file_size(dir + "/submissions.tsv") == 0) log << "#round\tjob\ttasks\tpoints\tspec\tcommand\n";
  log << round << "\t" << job << "\t" << tasks << "\t" << points << "\t" << spec_path << "\t" << shown
      << "\n";
  return job;
}

int wait_and_merge(const std::string& dir, bool wait);

// The merge of what `scan` read (see merge_shards), under DIR's lock.
std::vector<Row> merge_scanned(const std::string& dir, const PlanIndex& plan, ShardScan& scan) {
  FileLock lock(dir + "/.lock", dir);
  scan.rescan();  // under the lock: what was complete when the merge began
  std::vector<Row> rows = scan.take_plan_rows(ordinals_by_id(plan));
  write_rows(dir + "/results.jsonl", dir + "/results.csv", rows, result_columns(plan.params));
  return rows;
}

}  // namespace

// ---- Public helpers ----------------------------------------------------------------------------

std::string encode_ranges(const std::vector<std::size_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    s += (s.empty() ? "" : " ") + std::to_string(v[i]) + (j > i ? "-" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return s;
}

std::vector<std::size_t> decode_ranges(const std::string& text) {
  std::vector<std::size_t> v;
  std::istringstream in(text);
  for (std::string tok; in >> tok;) {
    const auto dash = tok.find('-');
    std::size_t used_a = 0, used_b = 0;
    const std::string a = tok.substr(0, dash), b = dash == std::string::npos ? a : tok.substr(dash + 1);
    const bool digits = !a.empty() && !b.empty() && a.find_first_not_of("0123456789") == std::string::npos &&
                        b.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) throw std::runtime_error("bad range '" + tok + "'");
    const std::size_t lo = std::stoul(a, &used_a), hi = std::stoul(b, &used_b);
    if (hi < lo || (!v.empty() && lo <= v.back()))
      throw std::runtime_error("range '" + tok + "' out of order");
    for (std::size_t i = lo; i <= hi; ++i) v.push_back(i);
  }
  return v;
}

Row point_row(const Point& p) {
  Row r = {{"id", Cell::str(p.id)},
           {"index", Cell::raw(std::to_string(p.index))},
           {"model_path", Cell::str(p.model_path)},
           {"arch_path", Cell::str(p.arch_path)}};
  for (const auto& [k, v] : p.params) r.emplace_back(k, Cell::str(v));
  return r;
}

Point point_from_row(const Row& row) {
  Point p;
  p.params.reserve(row.size());
  for (const auto& [k, c] : row) {
    if (k == "id")
      p.id = c.text;
    else if (k == "index")
      p.index = std::stoul(c.text);
    else if (k == "model_path")
      p.model_path = c.text;
    else if (k == "arch_path")
      p.arch_path = c.text;
    else
      p.params.emplace_back(k, c.text);
  }
  if (p.id.empty()) throw std::runtime_error("plan line without an id");
  return p;
}

std::string task_table(const std::vector<std::size_t>& ordinals, std::size_t chunk) {
  std::string t;
  for (std::size_t i = 0; i < ordinals.size(); i += chunk) {
    const auto end = ordinals.begin() + static_cast<std::ptrdiff_t>(std::min(ordinals.size(), i + chunk));
    t += encode_ranges(std::vector<std::size_t>(ordinals.begin() + static_cast<std::ptrdiff_t>(i), end)) +
         "\n";
  }
  return t;
}

void write_plan(const std::string& dir, const std::vector<Point>& points) {
  AtomicFile jsonl(dir + "/points.jsonl"), idx(dir + "/points.idx");
  char off[kIdxWidth + 1];
  for (const auto& p : points) {
    std::snprintf(off, sizeof off, "%016zx\n", jsonl.bytes());
    idx.append(off);
    jsonl.append(to_json_line(point_row(p)));
  }
  std::snprintf(off, sizeof off, "%016zx\n", jsonl.bytes());  // the end of the last line
  idx.append(off);
  jsonl.commit();
  idx.commit();
}

std::vector<Point> read_plan_points(const std::string& dir, const std::vector<std::size_t>& ordinals) {
  std::ifstream idx(dir + "/points.idx", std::ios::binary), jsonl(dir + "/points.jsonl", std::ios::binary);
  if (!idx || !jsonl) throw InputError(dir + ": no sweep plan (points.jsonl, points.idx)");
  std::vector<Point> points;
  for (std::size_t ord : ordinals) {
    char buf[2 * kIdxWidth + 1] = {};
    idx.seekg(static_cast<std::streamoff>(ord * kIdxWidth));
    if (!idx.read(buf, 2 * kIdxWidth)) throw InputError(dir + "/points.idx: no point " + std::to_string(ord));
    const std::size_t from = std::strtoull(buf, nullptr, 16),
                      to = std::strtoull(buf + kIdxWidth, nullptr, 16);
    std::string line(to - from, '\0');
    jsonl.seekg(static_cast<std::streamoff>(from));
    if (to <= from || !jsonl.read(line.data(), static_cast<std::streamsize>(line.size())))
      throw InputError(dir + "/points.jsonl: cannot read point " + std::to_string(ord));
    try {
      points.push_back(point_from_row(parse_flat_json(line)));
    } catch (const std::exception& e) {
      throw InputError(dir + "/points.jsonl: point " + std::to_string(ord) + ": " + e.what());
    }
  }
  return points;
}

PlanIndex read_plan_index(const std::string& dir) {
  const std::string path = dir + "/points.jsonl";
  if (!fs::exists(path)) throw InputError(dir + ": no sweep plan (points.jsonl)");
  const std::string content = read_whole_file(path);
  const std::string_view text(content);
  PlanIndex plan;
  const std::string_view prefix = "{\"id\":\"";  // point_row writes the id first
  for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    const std::string_view line = text.substr(start, nl - start);
    const auto quote = line.find('"', prefix.size());
    if (start > 0 && line.substr(0, prefix.size()) == prefix && quote != std::string_view::npos) {
      plan.ids.emplace_back(line.substr(prefix.size(), quote - prefix.size()));
      continue;
    }
    try {
      const Point p = point_from_row(parse_flat_json(line));
      plan.ids.push_back(p.id);
      if (start == 0) plan.params = p.params;
    } catch (const std::exception& e) {
      throw InputError(path + ":" + std::to_string(plan.ids.size() + 1) + ": " + e.what());
    }
  }
  return plan;
}

std::vector<Row> merge_shards(const std::string& dir) {
  ShardScan scan(dir);
  return merge_scanned(dir, read_plan_index(dir), scan);
}

// ---- Commands ----------------------------------------------------------------------------------

namespace {

std::string absolute_dir(const std::string& dir) { return fs::absolute(dir).lexically_normal().string(); }

// Status lines of DIR; with `wait`, first a progress bar until no array task is queued.
// Returns 0 when every point has a row and not all failed, 1 otherwise (points missing or all
// failed), or 3 when tasks are still queued (status without --wait).
int wait_and_merge(const std::string& dir, bool wait) {
  const auto subs = read_submissions(dir);
  const auto plan = read_plan_index(dir);
  const auto ordinal = ordinals_by_id(plan);
  const std::size_t total = plan.ids.size();
  ShardScan scan(dir);
  scan.rescan();
  QueueState q = queue_state(subs);
  if (wait) {
    const bool tty = ::isatty(2);
    const auto start = Clock::now();
    std::size_t last_done = SIZE_MAX;
    const std::size_t done_at_start = count(scan.rows(), total, &ordinal).done();
    for (;;) {
      const Counts c = count(scan.rows(), total, &ordinal);
      const bool over =
          (q.reachable && q.active() == 0) || (!q.reachable && c.pending() == 0) || subs.empty();
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const std::size_t progressed = c.done() - std::min(c.done(), done_at_start);
      const double eta =
          progressed ? elapsed / static_cast<double>(progressed) * static_cast<double>(c.pending()) : NAN;
      const std::string bar =
          progress_bar(c.done(), c.total, c.ok, c.failed, "slurm: " + q.describe(), elapsed, eta);
      if (tty)
        std::cerr << "\r\033[K" << bar << std::flush;
      else if (c.done() != last_done || over)
        std::cerr << bar << "\n";
      last_done = c.done();
      if (over) break;
      // Poll gently: every second at first, at most every 10 s on a long sweep.
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(10.0, 1.0 + elapsed / 60.0)));
      scan.rescan();
      q = queue_state(subs);
    }
    if (tty) std::cerr << "\n";
  }
  const auto rows = merge_scanned(dir, plan, scan);
  std::vector<const Row*> merged;
  for (const auto& r : rows) merged.push_back(&r);
  const Counts c = count(merged, total);
  std::cout << "sweep in " << dir << ": " << total << " points, ";
  if (subs.empty())
    std::cout << "not submitted (a --dry-run plan)\n";
  else
    std::cout << subs.size() << " submission" << (subs.size() == 1 ? "" : "s") << " (job"
              << (subs.size() == 1 ? " " : "s ") << job_list(subs) << ")\n";
  std::cout << "  points: " << rows.size() << " done (" << c.ok << " ok, " << c.failed << " failed), "
            << total - rows.size() << " pending\n"
            << "  queue: " << q.describe() << "\n"
            << "  accounting: " << accounting(subs) << "\n"
            << "  merged " << rows.size() << " rows into " << dir << "/results.jsonl and results.csv\n";
  const std::size_t missing = total - rows.size();
  if (q.reachable && q.active() == 0 && missing > 0)
    std::cout
        << "  " << missing << " point" << (missing == 1 ? " has" : "s have")
        << " no row and no array task is queued: their tasks were cancelled, hit the time limit or lost "
           "their node. Resubmit only those with:\n    "
        << resume_hint(dir, subs) << "\n";
  if (missing == 0) {
    std::cout << "\n";
    const auto shown =
        varying_columns(plan.params, rows, [](const Row& r, const std::string& key) -> const std::string& {
          return find(r, column_of(key))->text;
        });
    return report_summary(dir, rows, shown);
  }
  return !subs.empty() && (!q.reachable || q.active() > 0) ? 3 : 1;
}

}  // namespace

int slurm_sweep(const std::string& spec_path, const SweepSpec& spec, const Expansion& ex,
                const std::string& out, const SlurmOptions& opt) {
  const std::string dir = absolute_dir(out);
  for (const std::string& path : {dir, fs::current_path().string()})
    if (path.find_first_of(" \t\n") != std::string::npos)
      throw InputError("--executor slurm: '" + path +
                       "' has white space, which #SBATCH lines cannot carry: use a path without it");
  const auto previous = read_submissions(dir);
  if (!opt.resume && !previous.empty())
    throw InputError("--out " + dir + ": already holds a Slurm sweep (job " + previous.back().job +
                     "); add --resume to submit its missing points, or choose another --out");
  if (opt.resume && previous.empty())
    throw InputError("--out " + dir + ": --resume: no Slurm sweep was submitted from this directory");
  if (!opt.resume && fs::exists(dir + "/results.jsonl") && fs::file_size(dir + "/results.jsonl") > 0)
    throw InputError("--out " + dir +
                     ": results.jsonl already holds results of another sweep; choose another --out");
  if (ex.points.empty()) throw InputError(spec.file + ": no point passes the constraints: nothing to submit");
  if (!opt.dry_run) require_slurm();  // before anything is written into DIR
  if (opt.resume) {
    const QueueState q = queue_state(previous);
    if (!q.reachable) throw InputError("--resume: cannot read the queue: " + q.error);
    if (q.active() > 0)
      throw InputError("--resume: job " + job_list(previous) + " still has " + std::to_string(q.active()) +
                       " array tasks queued or running (" + q.describe() +
                       "): wait for them (fusesim sweep-status " + dir + " --wait) or scancel them first");
  }

  // The points to run: all of them, or on --resume those without a row in any shard.
  std::vector<std::size_t> todo;
  if (opt.resume) {
    const auto plan = read_plan_index(dir);
    bool same = plan.ids.size() == ex.points.size();
    for (std::size_t i = 0; same && i < plan.ids.size(); ++i) same = plan.ids[i] == ex.points[i].id;
    if (!same)
      throw InputError("--resume: " + spec_path + " does not give the points " + dir +
                       " was planned with (its spec: " + previous.back().spec + ")");
    ShardScan scan(dir);
    scan.rescan();
    std::set<std::string> done;
    for (const Row* r : scan.rows()) done.insert(find(*r, "id")->text);
    for (std::size_t i = 0; i < plan.ids.size(); ++i)
      if (!done.count(plan.ids[i])) todo.push_back(i);
    if (todo.empty()) {
      std::cerr << "--resume: every point of " << dir << " already has a row; nothing to submit\n";
      return wait_and_merge(dir, false);
    }
  } else {
    for (std::size_t i = 0; i < ex.points.size(); ++i) todo.push_back(i);
  }
  const std::size_t max_tasks = opt.dry_run ? kMaxTasks : std::min(kMaxTasks, max_array_index() + 1);
  const std::size_t chunk = opt.chunk ? opt.chunk : (todo.size() + max_tasks - 1) / max_tasks;
  const std::size_t tasks = (todo.size() + chunk - 1) / chunk;
  if (!opt.dry_run && tasks > max_array_index() + 1)
    throw InputError("--chunk " + std::to_string(chunk) + " gives " + std::to_string(tasks) +
                     " array tasks, more than this cluster's MaxArraySize allows (" +
                     std::to_string(max_array_index() + 1) + "): raise --chunk");

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw InputError("--out " + dir + ": cannot create the directory");
  const std::size_t round = previous.size();
  {
    FileLock lock(dir + "/.lock", "--out " + dir);
    for (const char* sub : {"/tasks", "/shards", "/logs"}) fs::create_directories(dir + sub);
    if (!opt.resume) write_plan(dir, ex.points);
    write_text(dir + "/tasks/" + std::to_string(round) + ".txt", task_table(todo, chunk));
    write_text(dir + "/sweep.sbatch", sbatch_script(spec.name, dir, fs::current_path().string(), opt));
    fs::permissions(dir + "/sweep.sbatch", fs::perms::owner_exec | fs::perms::group_exec,
                    fs::perm_options::add);
  }
  std::cerr << "sweep " << spec.name << ": " << ex.points.size() << " points";
  if (ex.rejected) std::cerr << " (" << ex.rejected << " rejected by constraints)";
  if (opt.resume) std::cerr << ", " << ex.points.size() - todo.size() << " already done";
  std::cerr << "; " << todo.size() << " to run in " << tasks << " array task" << (tasks == 1 ? "" : "s")
            << " of up to " << chunk << " point" << (chunk == 1 ? "" : "s") << "\n";
  if (opt.dry_run) {
    std::cout << "dry run: wrote " << dir << "/sweep.sbatch, points.jsonl and tasks/" << round
              << ".txt; submit with: sbatch --array=0-" << tasks - 1
              << (opt.max_running ? "%" + std::to_string(opt.max_running) : "") << " " << dir
              << "/sweep.sbatch " << round << "\n";
    return 0;
  }
  const std::string job = submit(dir, round, tasks, todo.size(), fs::absolute(spec_path).string(), opt);
  std::cout << "submitted job " << job << ": array 0-" << tasks - 1
            << (opt.max_running ? "%" + std::to_string(opt.max_running) : "") << " (" << tasks << " tasks, "
            << todo.size() << " points); shards in " << dir << "/shards, logs in " << dir << "/logs\n"
            << "follow it:  fusesim sweep-status " << shell_word(dir) << " [--wait]   (or: squeue -j " << job
            << ")\n";
  if (!opt.wait) return 0;
  const int rc = wait_and_merge(dir, true);
  return rc == 3 ? 1 : rc;
}

namespace {

// Parses a subcommand whose positional argument is the sweep directory (option "dir"). Prints
// `usage` and the options and returns false on --help.
bool parse_dir_command(const std::vector<std::string>& args, const po::options_description& desc, const char* usage) {
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << usage << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace

int sweep_task_main(const std::vector<std::string>& args) {
  std::string dir;
  std::size_t round = 0, task = 0;
  double timeout_s = 0;
  const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
  unsigned jobs = cpus && std::atoi(cpus) > 0 ? static_cast<unsigned>(std::atoi(cpus)) : 1;
  po::options_description desc("sweep-task options");
  // clang-format off
  desc.add_options()("help,h", "show this help")
      ("dir", po::value(&dir)->required(), "the sweep directory (--out of the Slurm sweep)")
      ("round", po::value(&round)->required(), "submission round (the task table DIR/tasks/ROUND.txt)")
      ("task", po::value(&task)->required(), "array task index: the line of the task table")
      ("jobs,j", po::value(&jobs)->default_value(jobs), "worker processes at a time (default $SLURM_CPUS_PER_TASK or 1)")
      ("timeout", po::value(&timeout_s)->default_value(0), "seconds before a point is killed and recorded as failed");
  // clang-format on
  if (!parse_dir_command(args, desc,
                         "usage: fusesim sweep-task DIR --round R --task T\n"
                         "Runs one Slurm array task of a sweep submitted with --executor slurm: the points on line T of\n"
                         "DIR/tasks/R.txt, appending their rows to DIR/shards/R_T.jsonl (points already there are "
                         "skipped).\n\n"))
    return 0;
  if (jobs == 0) throw InputError("-j must be at least 1");
  const std::string table_path = dir + "/tasks/" + std::to_string(round) + ".txt";
  std::istringstream table(read_whole_file(table_path));
  std::string line;
  for (std::size_t i = 0; i <= task; ++i)
    if (!std::getline(table, line))
      throw InputError(table_path + ": no line for array task " + std::to_string(task));
  std::vector<std::size_t> ordinals;
  try {
    ordinals = decode_ranges(line);
  } catch (const std::runtime_error& e) {
    throw InputError(table_path + ":" + std::to_string(task + 1) + ": " + e.what());
  }
  const auto points = read_plan_points(dir, ordinals);
  const auto columns = result_columns(points.empty() ? std::vector<Param>{} : points.front().params);
  // Resumed, always: a requeued task (node failure) skips the points its shard already holds.
  ResultStore shard(StoreFiles::shard(shard_path(dir, round, task)), columns, true, false);
  std::vector<const Point*> todo;
  for (const auto& p : points)
    if (!shard.has(p.id)) todo.push_back(&p);
  std::cerr << "sweep-task " << round << "_" << task << ": " << points.size() << " points, "
            << points.size() - todo.size() << " already in the shard, " << todo.size() << " to run with -j "
            << jobs << "\n";
  const char* tmp = std::getenv("TMPDIR");
  const std::string work_root = std::string(tmp && *tmp ? tmp : "/tmp") + "/fusesim-task-" +
                                std::to_string(::getpid());  // node-local scratch
  const auto shown = varying_columns(
      points.empty() ? std::vector<Param>{} : points.front().params, points,
      [](const Point& p, const std::string& key) -> const std::string& { return p.get(key); });
  // Interrupted (scancel, the time limit), the task names the command that resubmits what is left.
  const std::string hint = resume_hint(dir, read_submissions(dir));
  const std::size_t stopped = run_points(todo, {points.size(), points.size() - todo.size(), shown, hint},
                                         jobs, timeout_s, shard, work_root);
  return stopped ? 1 : 0;
}

int sweep_status_main(const std::vector<std::string>& args) {
  std::string dir;
  bool wait = false;
  po::options_description desc("sweep-status options");
  // clang-format off
  desc.add_options()("help,h", "show this help")
      ("dir", po::value(&dir)->required(), "the sweep directory (--out of the Slurm sweep)")
      ("wait", po::bool_switch(&wait), "block with a progress bar until no array task is queued or running");
  // clang-format on
  if (!parse_dir_command(args, desc,
                         "usage: fusesim sweep-status DIR [--wait]\n"
                         "Shows the points done, failed and pending of a sweep submitted with --executor slurm, its array\n"
                         "tasks in squeue and sacct, and merges the shards into DIR/results.jsonl and DIR/results.csv.\n"
                         "Exit codes: 0 every point has a row, 1 points are missing and nothing is queued (or every\n"
                         "point failed), 2 bad usage, 3 array tasks are still queued or running.\n\n"))
    return 0;
  dir = absolute_dir(dir);
  if (!fs::exists(dir + "/points.jsonl"))
    throw InputError(dir + ": no Slurm sweep here (no points.jsonl; see fusesim sweep --executor slurm)");
  return wait_and_merge(dir, wait);
}

}  // namespace fusesim::sweep
