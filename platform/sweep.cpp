// The sweep driver: worker processes (fork + exec of this binary's `run`), their results,
// progress on the terminal, and the closing summary.
#include "sweep.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "isa/errors.h"
#include "sweep_slurm.h"
#include "sweep_spec.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace fusesim {

namespace sweep {
namespace {

using Clock = std::chrono::steady_clock;

// Metrics copied from each worker's report.json, in results column order.
const std::vector<std::string> kMetrics = {"cycles",          "time_ns",        "macs",        "dram_read_bytes",
                                           "dram_write_bytes", "avg_bw_gbps",    "peak_bw_gbps", "nfu_utilization",
                                           "energy_pj",       "onchip_bytes",   "compulsory_dram_bytes", "dram_fetch_bytes",
                                           "cycles_per_sample", "energy_pj_per_sample"};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  std::ostringstream o;
  if (t >= 3600) o << t / 3600 << "h" << std::setw(2) << std::setfill('0') << (t / 60) % 60 << "m";
  else if (t >= 60) o << t / 60 << "m" << std::setw(2) << std::setfill('0') << t % 60 << "s";
  else o << t << "s";
  return o.str();
}

std::string with_commas(double v) {
  if (!std::isfinite(v)) return "-";
  std::string s = format_number(std::round(v));
  for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// "key=value" of the varying parameters, for progress lines and the summary.
std::string describe(const Row& row, const std::vector<std::string>& shown) {
  std::string s;
  for (const auto& k : shown) {
    const Cell* c = find(row, k);
    if (!c) continue;
    s += (s.empty() ? "" : " ") + (k == "model" ? c->text : k + "=" + c->text);
  }
  return s;
}

// The worker's error: its last "fusesim: ..." line on stderr (SystemC adds "In file:" lines
// after it), else its last line; without the "fusesim: error: " prefix.
std::string error_line(const std::string& err) {
  std::string last, last_ours;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!line.empty()) last = line;
    if (line.rfind("fusesim: ", 0) == 0) last_ours = line;
  }
  if (!last_ours.empty()) last = last_ours;
  for (const char* prefix : {"fusesim: error: ", "fusesim: "})
    if (last.rfind(prefix, 0) == 0) {
      last = last.substr(std::strlen(prefix));
      break;
    }
  return last;
}

Row params_row(const Point& p) {
  Row r;
  r.emplace_back("id", Cell::str(p.id));
  r.emplace_back("index", Cell::raw(std::to_string(p.index)));
  for (const auto& [k, v] : p.params)
    r.emplace_back(column_of(k), Cell::str(k == "model" || k == "arch" ? stem(v) : v));
  return r;
}

class Progress {
 public:
  Progress(std::size_t total, std::size_t already, std::vector<std::string> shown)
      : tty_(::isatty(2)), total_(total), already_(already), shown_(std::move(shown)), start_(Clock::now()) {}

  void finished(const Row& row, double wall) {
    ++done_;
    const Cell* status = find(row, "status");
    const bool ok = status && status->text == "ok";
    (ok ? ok_ : failed_)++;
    std::ostringstream line;
    line << "[" << std::setw(static_cast<int>(std::to_string(total_).size())) << already_ + done_ << "/" << total_
         << "] " << std::left << std::setw(6) << (ok ? "ok" : "FAILED") << std::right << std::fixed
         << std::setprecision(1) << std::setw(6) << wall << "s  " << describe(row, shown_);
    if (ok) line << "  cycles " << with_commas(number(row, "cycles"));
    else line << "  : " << find(row, "error")->text;
    if (tty_) {
      clear();
      if (!ok) std::cerr << line.str() << "\n";  // the bar carries the rest
      draw(0);
    } else {
      std::cerr << line.str() << "\n";
    }
  }

  void tick(std::size_t running) {
    if (tty_) draw(running);
  }

  // A line about a point that is neither ok nor failed.
  void note(const std::string& text) {
    if (tty_) clear();
    std::cerr << text << "\n";
    if (tty_) draw(0);
  }

  void end() {
    if (tty_) {
      clear();
      std::cerr.flush();
    }
  }

  std::size_t failed() const { return failed_; }

 private:
  bool tty_;
  std::size_t total_, already_, done_ = 0, ok_ = 0, failed_ = 0;
  std::vector<std::string> shown_;
  Clock::time_point start_;

  void clear() { std::cerr << "\r\033[K"; }
  void draw(std::size_t running) {
    const double elapsed = seconds(Clock::now() - start_);
    const std::size_t todo = total_ - already_;
    const double eta = done_ ? elapsed / static_cast<double>(done_) * static_cast<double>(todo - done_) : NAN;
    std::cerr << "\r\033[K"
              << progress_bar(already_ + done_, total_, ok_, failed_,
                              running ? "running " + std::to_string(running) : "", elapsed, eta)
              << std::flush;
  }
};

// The signal that asked this sweep to stop (0: none). Set by the handler, read by the loop.
volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

bool is_stop_signal(int sig) {
  return std::find(std::begin(kStopSignals), std::end(kStopSignals), sig) != std::end(kStopSignals);
}

// Catches the stop signals for its lifetime, without SA_RESTART so that poll() returns at
// once; the previous dispositions come back in the destructor.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i) {
      ::sigaction(kStopSignals[i], nullptr, &old_[i]);
      // An ignored signal stays ignored (nohup, a background job without job control).
      if (old_[i].sa_handler != SIG_IGN) ::sigaction(kStopSignals[i], &sa, nullptr);
    }
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i) ::sigaction(kStopSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int received() const { return g_stop_signal; }

 private:
  struct sigaction old_[std::size(kStopSignals)];
};

std::string signal_name(int sig) { return std::to_string(sig) + " (" + strsignal(sig) + ")"; }

struct Worker {
  pid_t pid = -1;
  int err_fd = -1;
  std::string err;
  const Point* point = nullptr;
  std::string workdir;
  Clock::time_point start;
  bool timed_out = false;
};

// Reads what is available; returns false at end of file.
bool drain(Worker& w, bool block) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(w.err_fd, buf, sizeof buf);
    if (n > 0) {
      w.err.append(buf, static_cast<std::size_t>(n));
      if (w.err.size() > 65536) w.err.erase(0, w.err.size() - 32768);  // keep the tail
      if (!block) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

Worker spawn(const Point& p, const std::string& workdir) {
  std::vector<std::string> args = p.run_args();
  args.insert(args.begin(), "fusesim");
  for (const char* a : {"--out", workdir.c_str(), "--quiet", "--no-timeline"}) args.emplace_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();
  // The stop signals are blocked across fork: a child signalled before its exec must still die
  // of the signal, not run the sweep's handler and go on to run its point.
  sigset_t stop_set, old_mask;
  sigemptyset(&stop_set);
  for (int sig : kStopSignals) sigaddset(&stop_set, sig);
  ::sigprocmask(SIG_BLOCK, &stop_set, &old_mask);
  pid_t pid = ::fork();
  if (pid != 0) ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    for (int sig : kStopSignals) {
      struct sigaction sa {};
      ::sigaction(sig, nullptr, &sa);
      if (sa.sa_handler == on_stop_signal) ::signal(sig, SIG_DFL);
    }
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    // A worker must not outlive a killed sweep: --resume reruns its point.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fds[1], 2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::execv("/proc/self/exe", argv.data());
    const char msg[] = "fusesim: cannot exec the worker /proc/self/exe\n";
    [[maybe_unused]] ssize_t n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  Worker w;
  w.pid = pid;
  w.err_fd = fds[0];
  w.point = &p;
  w.workdir = workdir;
  w.start = Clock::now();
  return w;
}

// The row for a finished worker: its parameters, status and metrics.
Row result_row(const Worker& w, int status, double wall) {
  Row r = params_row(*w.point);
  std::string error;
  Row report;
  if (w.timed_out) {
    error = "timed out after " + format_number(std::round(wall)) + " s";
  } else if (WIFSIGNALED(status)) {
    error = std::string("worker killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
            strsignal(WTERMSIG(status)) + ")";
    if (!error_line(w.err).empty()) error += ": " + error_line(w.err);
  } else if (WEXITSTATUS(status) != 0) {
    error = error_line(w.err);
    if (error.empty()) error = "worker failed";
    error += " (exit " + std::to_string(WEXITSTATUS(status)) + ")";
  } else {
    std::ifstream in(w.workdir + "/report.json");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      if (!in) throw std::runtime_error("missing");
      report = parse_flat_json(ss.str());
    } catch (const std::exception& e) {
      error = std::string("cannot read the worker's report.json: ") + e.what();
    }
  }
  r.emplace_back("status", Cell::str(error.empty() ? "ok" : "failed"));
  r.emplace_back("error", Cell::str(error));
  for (const auto& m : kMetrics) {
    const Cell* c = error.empty() ? find(report, m) : nullptr;
    r.emplace_back(m, c ? *c : Cell::raw(""));
  }
  char wall_s[32];
  std::snprintf(wall_s, sizeof wall_s, "%.3f", wall);
  r.emplace_back("wall_s", Cell::raw(wall_s));
  r.emplace_back("model_path", Cell::str(w.point->model_path));
  r.emplace_back("arch_path", Cell::str(w.point->arch_path));
  return r;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A word for a shell command line, quoted only when it needs to be.
std::string shell_word(const std::string& s) {
  return !s.empty() && s.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=%/.,:@") ==
                           std::string::npos
             ? s
             : shell_quote(s);
}

std::string column_of(const std::string& key) { return key.rfind("compiler.", 0) == 0 ? key.substr(9) : key; }

std::vector<std::string> result_columns(const std::vector<Param>& params) {
  std::vector<std::string> columns = {"id", "index"};
  for (const auto& [k, v] : params) columns.push_back(column_of(k));
  columns.push_back("status");
  columns.push_back("error");
  columns.insert(columns.end(), kMetrics.begin(), kMetrics.end());
  columns.push_back("wall_s");
  return columns;
}

std::string progress_bar(std::size_t done, std::size_t total, std::size_t ok, std::size_t failed,
                         const std::string& extra, double elapsed_s, double eta_s) {
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = total ? std::min(kWidth, kWidth * done / total) : kWidth;
  std::ostringstream o;
  o << "[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done << "/" << total << "  ok "
    << ok << "  failed " << failed;
  if (!extra.empty()) o << "  " << extra;
  o << "  elapsed " << hms(elapsed_s) << "  ETA " << (std::isnan(eta_s) ? "?" : hms(eta_s));
  return o.str();
}

int report_summary(const std::string& out, const std::vector<Row>& rows,
                   const std::vector<std::string>& shown, std::size_t planned) {
  std::size_t ok = 0;
  for (const auto& r : rows) {
    const Cell* s = find(r, "status");
    if (s && s->text == "ok") ++ok;
  }
  std::ostringstream summary;
  print_summary(summary, rows, shown, planned);
  std::cout << summary.str();
  std::ofstream(out + "/summary.txt") << summary.str();
  return !rows.empty() && ok == 0 ? 1 : 0;
}

std::size_t run_points(const std::vector<const Point*>& todo, const RunProgress& shown, unsigned jobs,
                       double timeout_s, ResultStore& store, const std::string& work_root) {
  Progress progress(shown.total, shown.already, shown.params);
  std::error_code ec;
  fs::remove_all(work_root, ec);  // leftovers of a killed sweep (the store's lock is ours)
  fs::create_directories(work_root, ec);
  StopSignals stop;
  std::vector<Worker> running;
  std::size_t next = 0, recorded = 0, stopped = 0;
  // An exited worker: the rest of its stderr, then its row (status, error, metrics).
  auto drain_rest = [](Worker& w) {
    ::fcntl(w.err_fd, F_SETFL, ::fcntl(w.err_fd, F_GETFL) & ~O_NONBLOCK);
    drain(w, true);
    ::close(w.err_fd);
  };
  auto record = [&](const Worker& w, int status) {
    const double wall = seconds(Clock::now() - w.start);
    Row row = result_row(w, status, wall);
    store.append(row);
    ++recorded;
    progress.finished(row, wall);
  };
  while ((next < todo.size() || !running.empty()) && !stop.received()) {
    while (running.size() < jobs && next < todo.size() && !stop.received()) {
      const Point& p = *todo[next++];
      running.push_back(spawn(p, work_root + "/" + p.id));
    }
    std::vector<pollfd> pfds;
    for (const auto& w : running) pfds.push_back({w.err_fd, POLLIN, 0});
    ::poll(pfds.data(), pfds.size(), 250);
    for (auto& w : running) drain(w, false);

    for (auto& w : running) {
      if (timeout_s > 0 && !w.timed_out && seconds(Clock::now() - w.start) > timeout_s) {
        ::kill(w.pid, SIGKILL);
        w.timed_out = true;
      }
    }
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      pid_t r = ::waitpid(it->pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      drain_rest(*it);
      if (!it->timed_out && WIFSIGNALED(status) && is_stop_signal(WTERMSIG(status))) {
        // Stopped from outside, not failed: no row, so --resume runs the point again.
        ++stopped;
        progress.note("stopped: " + describe(params_row(*it->point), shown.params) +
                      ": its worker was killed by signal " + signal_name(WTERMSIG(status)) +
                      "; no row, --resume runs it again");
      } else {
        record(*it, status);
      }
      fs::remove_all(it->workdir, ec);
      it = running.erase(it);
    }
    progress.tick(running.size());
  }
  if (const int sig = stop.received()) {
    // Interrupted: the points in flight get no row, unless their worker had already exited.
    // SIGKILL, as the workers keep nothing.
    for (auto& w : running) ::kill(w.pid, SIGKILL);
    for (auto& w : running) {
      int status = 0;
      while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
      drain_rest(w);
      if (WIFEXITED(status)) record(w, status);
    }
    progress.end();
    fs::remove_all(work_root, ec);
    const std::size_t left = todo.size() - recorded;
    std::cerr << "sweep interrupted by signal " << signal_name(sig) << ": " << recorded << " of "
              << todo.size() << " points recorded, " << left << " left without a row";
    if (!shown.resume_hint.empty()) std::cerr << "; to run them: " << shown.resume_hint;
    std::cerr << std::endl;
    std::cout.flush();
    // Die of the signal, as without the handler, so that the shell or Slurm sees it.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    ::_exit(128 + sig);
  }
  progress.end();
  fs::remove_all(work_root, ec);
  return stopped;
}

namespace {

constexpr const char* kUsage =
    "usage: fusesim sweep SPEC [-j N] [--out DIR] [--resume] [--dry-run]\n"
    "       fusesim sweep SPEC --executor slurm --out DIR [--partition P] [--time T] [--chunk K] [--max-running M]\n"
    "                          [--sbatch-arg ARG]... [--wait] [--resume]\n"
    "Runs every point of a sweep spec (configs/sweeps/*.yaml; format in docs/sweeps.md), one worker process\n"
    "per point, appending a row per point to DIR/results.csv and DIR/results.jsonl as it finishes.";

}  // namespace

std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < xy.size(); ++i)
    if (!std::isnan(xy[i].first) && !std::isnan(xy[i].second)) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return xy[a].first != xy[b].first ? xy[a].first < xy[b].first : xy[a].second < xy[b].second;
  });
  std::vector<std::size_t> front;
  double best_y = INFINITY;
  for (std::size_t i : idx)
    if (xy[i].second < best_y) {  // strictly better y than every point with x no larger
      front.push_back(i);
      best_y = xy[i].second;
    }
  return front;
}

void print_summary(std::ostream& os, const std::vector<Row>& rows, const std::vector<std::string>& shown,
                   std::size_t planned) {
  std::map<std::string, std::vector<const Row*>> by_model;
  std::size_t ok = 0;
  for (const auto& r : rows) {
    const Cell* s = find(r, "status");
    if (!s || s->text != "ok") continue;
    ++ok;
    const Cell* m = find(r, "model");
    by_model[m ? m->text : "?"].push_back(&r);
  }
  os << "summary: " << std::max(planned, rows.size()) << " points, " << ok << " ok, " << rows.size() - ok
     << " failed";
  if (planned > rows.size()) os << ", " << planned - rows.size() << " without a row";
  os << "\n";
  std::vector<std::string> params;  // the model is the heading
  for (const auto& k : shown)
    if (k != "model") params.push_back(k);
  for (const auto& [model, rs] : by_model) {
    os << "\n" << model << " (" << rs.size() << " ok points)\n";
    auto best = [&](const char* metric) {
      const Row* b = nullptr;
      for (const Row* r : rs) {
        double v = number(*r, metric);
        if (!std::isnan(v) && (!b || v < number(*b, metric))) b = r;
      }
      return b;
    };
    if (const Row* b = best("cycles"))
      os << "  best by cycles  " << std::setw(16) << with_commas(number(*b, "cycles")) << " cycles   "
         << describe(*b, params) << "\n";
    if (const Row* b = best("energy_pj"))
      os << "  best by energy  " << std::setw(13) << std::fixed << std::setprecision(3)
         << number(*b, "energy_pj") * 1e-9 << " mJ   " << std::setw(16) << with_commas(number(*b, "cycles"))
         << " cycles   " << describe(*b, params) << "\n";
    std::vector<std::pair<double, double>> xy;
    for (const Row* r : rs) xy.emplace_back(number(*r, "onchip_bytes"), number(*r, "cycles"));
    auto front = pareto_front(xy);
    os << "  Pareto front, cycles vs on-chip bytes (" << front.size() << " points):\n";
    os << "    " << std::setw(14) << "on-chip bytes" << std::setw(18) << "cycles" << "   parameters\n";
    for (std::size_t i : front)
      os << "    " << std::setw(14) << with_commas(xy[i].first) << std::setw(18) << with_commas(xy[i].second) << "   "
         << describe(*rs[i], params) << "\n";
  }
}

}  // namespace sweep

int sweep_main(const std::vector<std::string>& args) {
  using namespace sweep;
  std::string spec_path, out;
  unsigned jobs = std::max(1u, static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
  bool resume = false, dry_run = false, overwrite = false;
  double timeout_s = 0;
  std::string executor = "local";
  SlurmOptions slurm;
  po::options_description desc("sweep options");
  desc.add_options()("help,h", "show this help")
      ("spec", po::value(&spec_path), "the sweep spec (YAML)")
      ("jobs,j", po::value(&jobs)->default_value(jobs), "worker processes at a time")
      ("out,o", po::value(&out), "results directory (default out/sweeps/<spec name>)")
      ("resume", po::bool_switch(&resume), "complete a killed sweep: skip points already in DIR/results.jsonl")
      ("overwrite", po::bool_switch(&overwrite), "discard results already in DIR")
      ("dry-run,n", po::bool_switch(&dry_run), "list the points and exit")
      ("timeout", po::value(&timeout_s)->default_value(0), "seconds before a point is killed and recorded as failed (0: none)")
      ("executor", po::value(&executor)->default_value(executor), "local (worker processes here) or slurm (a job array)");
  po::options_description slurm_desc("--executor slurm options (docs/sweeps.md, \"On a cluster\")");
  slurm_desc.add_options()
      ("partition", po::value(&slurm.partition), "Slurm partition (sbatch --partition)")
      ("time", po::value(&slurm.time_limit), "time limit of each array task (sbatch --time), e.g. 2:00:00")
      ("chunk", po::value(&slurm.chunk), "points per array task (default: the fewest tasks, at most 1000)")
      ("max-running", po::value(&slurm.max_running), "array tasks running at once (sbatch --array=...%M)")
      ("sbatch-arg", po::value(&slurm.sbatch_args)->composing(), "extra sbatch option, e.g. --sbatch-arg=--account=lab (repeatable)")
      ("wait", po::bool_switch(&slurm.wait), "after submitting, follow the array with a progress bar and merge");
  desc.add(slurm_desc);
  po::positional_options_description pos;
  pos.add("spec", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << kUsage << "\n\n" << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (spec_path.empty()) throw InputError("sweep: a spec file is required (fusesim sweep SPEC; see --help)");
  if (jobs == 0) throw InputError("-j must be at least 1");
  if (timeout_s < 0) throw InputError("--timeout must be >= 0");
  if (resume && overwrite) throw InputError("--resume and --overwrite exclude each other");

  if (executor != "local" && executor != "slurm")
    throw InputError("--executor: expected local or slurm, got '" + executor + "'");
  if (executor == "local")
    for (const char* o : {"partition", "time", "chunk", "max-running", "sbatch-arg", "wait"})
      if (vm.count(o) && !vm[o].defaulted()) throw InputError(std::string("--") + o + " needs --executor slurm");
  if (executor == "slurm") {
    if (out.empty()) throw InputError("--executor slurm needs --out DIR on a filesystem that every node sees");
    if (overwrite) throw InputError("--overwrite: not with --executor slurm; choose a new --out to start over");
    if (!vm["jobs"].defaulted())
      throw InputError("-j: not with --executor slurm; each array task runs $SLURM_CPUS_PER_TASK workers "
                       "(--sbatch-arg=--cpus-per-task=N)");
    if (vm.count("chunk") && slurm.chunk == 0) throw InputError("--chunk must be at least 1");
  }

  const SweepSpec spec = load_spec(spec_path);
  const Expansion ex = expand(spec);
  if (executor == "slurm") {
    slurm.timeout_s = timeout_s;
    slurm.resume = resume;
    slurm.dry_run = dry_run;
    return slurm_sweep(spec_path, spec, ex, out, slurm);
  }
  std::vector<std::string> shown;  // the parameters that vary, for progress and summary lines
  for (const auto& a : spec.axes) shown.push_back(column_of(a.key));

  if (dry_run) {
    std::cout << spec.name << ": " << ex.points.size() << " points (" << ex.total << " in the product, "
              << ex.rejected << " rejected by constraints)\n";
    for (const auto& p : ex.points) {
      std::cout << std::setw(6) << p.index << "  " << p.id;
      for (const auto& [k, v] : p.params) std::cout << "  " << column_of(k) << "=" << (k == "model" || k == "arch" ? stem(v) : v);
      std::cout << "\n";
    }
    return 0;
  }
  if (out.empty()) out = "out/sweeps/" + spec.name;

  const auto columns = result_columns(ex.points.empty() ? std::vector<Param>{} : ex.points.front().params);
  ResultStore store(out, columns, resume, overwrite);
  std::vector<const Point*> todo;
  for (const auto& p : ex.points)
    if (!store.has(p.id)) todo.push_back(&p);
  const std::size_t already = ex.points.size() - todo.size();
  std::cerr << "sweep " << spec.name << ": " << ex.points.size() << " points";
  if (ex.rejected) std::cerr << " (" << ex.rejected << " rejected by constraints)";
  if (resume) std::cerr << ", " << already << " already done" << (store.dropped() ? ", " + std::to_string(store.dropped()) + " partial or duplicate rows dropped" : "");
  std::cerr << "; " << todo.size() << " to run with -j " << jobs << " -> " << out << "/results.csv\n";

  const auto t0 = Clock::now();
  const std::string hint = "fusesim sweep " + shell_word(spec_path) + " -j " + std::to_string(jobs) +
                           " --out " + shell_word(out) + " --resume" +
                           (timeout_s > 0 ? " --timeout " + format_number(timeout_s) : "");
  const std::size_t stopped =
      run_points(todo, {ex.points.size(), already, shown, hint}, jobs, timeout_s, store, out + "/.work");
  const double wall = seconds(Clock::now() - t0);

  // The summary covers this spec's points, including those of earlier (resumed) runs.
  std::vector<Row> rows;
  std::set<std::string> in_spec;
  for (const auto& p : ex.points) in_spec.insert(p.id);
  for (const auto& r : store.rows()) {
    const Cell* id = find(r, "id");
    if (id && in_spec.count(id->text)) rows.push_back(r);
  }
  const int rc = report_summary(out, rows, shown, ex.points.size());
  std::cout << "\nran " << todo.size() << " points in " << std::fixed << std::setprecision(1) << wall << " s ("
            << std::setprecision(1) << (wall > 0 ? 60.0 * static_cast<double>(todo.size()) / wall : 0.0)
            << " points/min at -j " << jobs << "); results in " << out << "/results.csv\n";
  if (stopped)
    std::cout << stopped << " point" << (stopped == 1 ? "" : "s") << " stopped from outside ha"
              << (stopped == 1 ? "s" : "ve") << " no row; to run " << (stopped == 1 ? "it" : "them") << ": "
              << hint << "\n";
  return stopped ? 1 : rc;  // as sweep-status: points are missing
}

}  // namespace fusesim
