// The ONNX conformance runner. SystemC elaborates once per process, so each (case, data set)
// runs in a forked child that imports, compiles, simulates and compares, then reports one line
// back through a pipe. The parent keeps up to -j children running and prints in case order.
#include "onnx_test.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli.h"
#include "compiler/compiler.h"
#include "compiler/frontend/onnx_support.h"
#include "isa/errors.h"
#include "onnx_io.h"
#include "simulation.h"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace fusesim {

namespace {

struct Case {
  std::string name;
  fs::path dir;
  std::vector<fs::path> sets;  // test_data_set_* folders
};

// Files named PREFIX_N.pb in `dir`, ordered by N.
std::vector<std::string> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<long, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix + "_", 0) != 0 || e.path().extension() != ".pb") continue;
    try {
      found.emplace_back(std::stol(f.substr(prefix.size() + 1)), e.path().string());
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

Case make_case(const fs::path& dir) {
  Case c;
  c.dir = dir;
  c.name = dir.filename().string();
  if (c.name.empty()) c.name = dir.parent_path().filename().string();
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      c.sets.push_back(e.path());
  std::sort(c.sets.begin(), c.sets.end());
  return c;
}

// A case folder, or a folder of case folders.
std::vector<Case> discover(const std::vector<std::string>& dirs) {
  std::vector<Case> cases;
  for (const auto& d : dirs) {
    const fs::path p(d);
    if (!fs::is_directory(p)) throw InputError(d + ": not a directory");
    if (fs::exists(p / "model.onnx")) {
      cases.push_back(make_case(p));
      continue;
    }
    std::vector<fs::path> subs;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) subs.push_back(e.path());
    if (subs.empty()) throw InputError(d + ": no model.onnx in it or in its subfolders");
    std::sort(subs.begin(), subs.end());
    for (const auto& s : subs) cases.push_back(make_case(s));
  }
  return cases;
}

struct Settings {
  std::string arch;
  Tolerance tol{1e-3, 1e-4};
  compiler::Fusion fusion = compiler::Fusion::None;        // --fusion
  compiler::Pipeline pipeline = compiler::Pipeline::Full;  // --pipeline
};

// The child's work: one data set of one case. Returns the report line's tail:
// "P", "F <error>" or "U <reason>".
std::string run_one(const Case& c, const fs::path& set, const Settings& s) {
  try {
    const auto inputs = numbered(set, "input"), outputs = numbered(set, "output");
    if (outputs.empty()) return "F " + set.filename().string() + " has no output_N.pb";
    compiler::OnnxImportOptions opt;
    opt.bind_inputs = inputs;
    compiler::Graph g = compiler::import_onnx((c.dir / "model.onnx").string(), opt);
    if (inputs.empty()) return "F " + set.filename().string() + " has no input_N.pb";
    if (g.outputs.size() != outputs.size())
      return "F the model has " + std::to_string(g.outputs.size()) + " outputs, the data set " +
             std::to_string(outputs.size());
    const ArchParams arch = load_arch(s.arch);
    compiler::CompileOptions copt;
    copt.dtype = isa::DType::Fp32;
    copt.fusion = s.fusion;
    copt.pipeline = s.pipeline;
    const std::vector<uint8_t> input =
        read_input_tensor(inputs[0], g.tensor(g.input).shape, copt.dtype, g.layout_free || g.time_major_input, g.batch);
    compiler::Program prog;
    try {
      prog = compiler::compile(g, arch, copt);
    } catch (const InputError& e) {
      // The import succeeded but the compiler cannot map some layer onto the NFU (e.g. an
      // average pool whose divisor varies per window): a limit of the accelerator, not a failure.
      return std::string("U compiler: ") + e.what();
    }
    SimOptions sopt;
    SimResult sim = simulate(arch, prog, input, sopt);
    if (!sim.finished) return "F simulation fault: " + sim.fault;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const CheckResult r = compare_with_expected(data_to_floats(sim.outputs.at(k), copt.dtype),
                                                  read_float_tensor(outputs[k]), s.tol, outputs[k]);
      if (!r.passed) {
        std::ostringstream os;
        os << "F output " << k << ": " << r.mismatches << " of " << r.elements
           << " elements differ (max abs err " << r.max_abs_err << ", max rel err " << r.rel_err << ")";
        return os.str();
      }
    }
    return "P";
  } catch (const compiler::OnnxUnsupported& e) {
    return "U " + e.reason;
  } catch (const std::exception& e) {
    return std::string("F ") + e.what();
  }
}

struct Job {
  std::size_t case_index = 0;
  fs::path set;
};

struct Running {
  pid_t pid = -1;
  int fd = -1;
  std::size_t job = 0;
  std::chrono::steady_clock::time_point start;
  std::string out;
};

void drain(Running& r) {
  char buf[4096];
  for (ssize_t n; (n = read(r.fd, buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<std::size_t>(n));
}

pid_t spawn(const Case& c, const Job& j, const Settings& s, int& read_fd) {
  int p[2];
  if (pipe(p) != 0) throw std::runtime_error("pipe failed");
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(p[0]);
    const int devnull = open("/dev/null", O_WRONLY);  // SystemC's banner and any chatter
    if (devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    const std::string line = run_one(c, j.set, s).substr(0, 4000);
    ssize_t w = write(p[1], line.data(), line.size());
    (void)w;
    _exit(0);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
  read_fd = p[0];
  return pid;
}

const char* kUsage =
    "usage: fusesim onnx-test DIR... [-j N] [--rtol R] [--atol A] [--timeout S] [--arch A] [--fusion F] [--pipeline P]\n"
    "Runs ONNX test case folders (model.onnx + test_data_set_*/input_N.pb, output_N.pb), or folders of "
    "them,\n"
    "in fp32 on the accelerator. One line per case: PASS, FAIL with the error, or UNSUPPORTED with the op "
    "or\n"
    "reason; then 'N passed, N failed, N unsupported'. Exit 1 if a supported case fails.";

}  // namespace

int onnx_test_main(const std::vector<std::string>& args) {
  std::vector<std::string> dirs;
  Settings s;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  double timeout_s = 300;
  std::string fusion, pipeline;
  po::options_description desc("onnx-test options");
  desc.add_options()("help,h", "show this help")("dir", po::value(&dirs)->composing(),
                                                 "case folder, or a folder of case folders (positional)")(
      "jobs,j", po::value(&jobs)->default_value(jobs), "cases run in parallel")(
      "rtol", po::value(&s.tol.rtol)->default_value(1e-3), "relative tolerance")(
      "atol", po::value(&s.tol.atol)->default_value(1e-4), "absolute tolerance")(
      "timeout", po::value(&timeout_s)->default_value(300),
      "seconds per data set before it counts as failed")(
      "arch,a", po::value(&s.arch)->default_value(default_arch_file()), "architecture YAML")(
      "fusion", po::value(&fusion)->default_value("none"), "layer fusion: none, greedy or optimal")(
      "pipeline", po::value(&pipeline)->default_value("full"), "pipelining: none, fine, coarse or full");
  po::positional_options_description pos;
  pos.add("dir", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << kUsage << "\n\n" << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (dirs.empty()) throw InputError("onnx-test: give at least one case folder (see --help)");
  if (jobs == 0) throw InputError("-j must be >= 1");
  if (s.tol.rtol < 0 || s.tol.atol < 0) throw InputError("--rtol and --atol must be >= 0");
  load_arch(s.arch);  // a bad arch is a usage error here, not a failure of every case
  s.fusion = compiler::parse_fusion(fusion);
  s.pipeline = compiler::parse_pipeline(pipeline);

  const std::vector<Case> cases = discover(dirs);
  std::vector<Job> queue;
  std::vector<std::vector<std::string>> results(cases.size());
  std::vector<std::size_t> pending(cases.size(), 0);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].sets.empty()) results[i].push_back("F no test_data_set_* folder");
    for (const auto& set : cases[i].sets) queue.push_back({i, set});
    pending[i] = cases[i].sets.size();
  }
  std::cout << "fusesim onnx-test: " << cases.size() << " cases, fp32, fusion " << compiler::fusion_name(s.fusion)
            << ", pipeline " << compiler::pipeline_name(s.pipeline) << ", rtol " << s.tol.rtol << ", atol "
            << s.tol.atol << ", -j " << jobs << "\n";

  std::size_t passed = 0, failed = 0, unsupported = 0, next_print = 0, next_job = 0;
  auto print_ready = [&]() {
    for (; next_print < cases.size() && pending[next_print] == 0; ++next_print) {
      const auto& r = results[next_print];
      const std::string& name = cases[next_print].name;
      // A case fails if any data set fails; it is unsupported if the import says so.
      auto first = [&](char k) {
        return std::find_if(r.begin(), r.end(),
                            [k](const std::string& x) { return !x.empty() && x[0] == k; });
      };
      if (auto f = first('F'); f != r.end()) {
        std::cout << "FAIL " << name << ": " << f->substr(2) << "\n";
        ++failed;
      } else if (auto u = first('U'); u != r.end()) {
        std::cout << "UNSUPPORTED " << name << ": " << u->substr(2) << "\n";
        ++unsupported;
      } else {
        std::cout << "PASS " << name << "\n";
        ++passed;
      }
      std::cout.flush();
    }
  };

  std::map<pid_t, Running> running;
  const auto timeout = std::chrono::duration<double>(timeout_s);
  while (next_job < queue.size() || !running.empty()) {
    while (next_job < queue.size() && running.size() < jobs) {
      Running r;
      r.job = next_job;
      r.start = std::chrono::steady_clock::now();
      r.pid = spawn(cases[queue[next_job].case_index], queue[next_job], s, r.fd);
      running[r.pid] = r;
      ++next_job;
    }
    for (auto& [pid, r] : running) {
      drain(r);
      if (std::chrono::steady_clock::now() - r.start > timeout) {
        kill(pid, SIGKILL);
        r.out = "F timed out after " + std::to_string(static_cast<int>(timeout_s)) + " s";
      }
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    auto it = running.find(done);
    if (it == running.end()) continue;
    Running r = it->second;
    running.erase(it);
    drain(r);
    close(r.fd);
    if (r.out.empty()) {
      r.out = WIFSIGNALED(status)
                  ? "F crashed (signal " + std::to_string(WTERMSIG(status)) + ")"
                  : "F exited with status " + std::to_string(WEXITSTATUS(status)) + " and no result";
    }
    const std::size_t ci = queue[r.job].case_index;
    results[ci].push_back(r.out);
    --pending[ci];
    print_ready();
  }
  print_ready();
  std::cout << passed << " passed, " << failed << " failed, " << unsupported << " unsupported\n";
  return failed ? 1 : 0;
}

}  // namespace fusesim
