// GTKWave save file, Chrome trace-event timeline and FST conversion.
#include "trace_files.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hw/tracer.h"
#include "isa/errors.h"

namespace fusesim {

namespace {

std::ofstream open_for_writing(const std::string& path) {
  std::ofstream f(path);
  if (!f) throw InputError(path + ": cannot write");
  return f;
}

// GTKWave trace flags (its analyzer.h): right-justified binary / decimal, analog step drawing,
// blank rows that stretch an analog trace, group begin / end.
constexpr uint32_t kRjustify = 0x20, kBin = 0x8, kDec = 0x4, kAnalogStep = 0x8000, kBlank = 0x200,
                   kBlankStretch = 0x20000, kGroupBegin = 0x800000, kGroupEnd = 0x1000000;

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o;
}

// Picoseconds as exact decimal microseconds.
std::string micros(uint64_t ps) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                static_cast<unsigned long long>(ps % 1000000));
  return buf;
}

bool on_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace

void write_gtkw(const std::string& path, const std::string& vcd_path) {
  std::ofstream f = open_for_writing(path);
  const auto& sigs = hw::trace_signals();
  f << "[*] fusesim accelerator trace: gtkwave trace.vcd trace.gtkw (signals: docs/traces.md)\n";
  f << "[dumpfile] \"" << std::filesystem::absolute(vcd_path).string() << "\"\n";
  f << "[timestart] 0\n[size] 1600 1000\n[pos] -1 -1\n";
  f << "[sst_width] 200\n[signals_width] 260\n[sst_expanded] 1\n[sst_vpaned_height] 220\n";
  std::string group;
  auto close_group = [&] {
    if (!group.empty()) f << '@' << std::hex << (kGroupEnd | kBlank) << std::dec << "\n-" << group << '\n';
  };
  for (const hw::TraceSignal& s : sigs) {
    if (group != s.group) {
      close_group();
      group = s.group;
      f << '@' << std::hex << (kGroupBegin | kBlank) << std::dec << "\n-" << group << '\n';
    }
    // Occupancy and bandwidth read best as analog steps, two rows high.
    const bool analog = s.width == 0 || group == "Buffer occupancy";
    const uint32_t flags = kRjustify | (s.width == 1 ? kBin : kDec) | (analog ? kAnalogStep : 0);
    f << '@' << std::hex << flags << std::dec << '\n' << hw::kTraceScope << '.' << s.name;
    if (s.width > 1) f << '[' << s.width - 1 << ":0]";
    f << '\n';
    if (analog) f << '@' << std::hex << kBlankStretch << std::dec << "\n-\n";
  }
  close_group();
  f << "[pattern_trace] 1\n[pattern_trace] 0\n";
  if (!f) throw InputError(path + ": cannot write");
}

void write_timeline_json(const std::string& path, const hw::Stats& stats,
                         const std::vector<std::string>& layer_names, uint64_t period_ps, double clock_ghz) {
  std::ofstream f = open_for_writing(path);
  static const char* kTracks[hw::kNumUnits] = {"load DMA", "NFU", "store DMA"};
  static const char* kOpcodes[hw::kNumUnits] = {"LOAD", "COMPUTE", "STORE"};
  f << "{\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"generator\":\"fusesim\",\"cycle_ps\":" << period_ps
    << ",\"ts_unit\":\"microseconds of simulated time from CTRL.start\"},\n\"traceEvents\":[\n";
  f << "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"fusesim accelerator\"}}";
  for (int u = 0; u < hw::kNumUnits; ++u) {
    f << ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":" << u << ",\"name\":\"thread_name\",\"args\":{\"name\":\""
      << kTracks[u] << "\"}}";
    f << ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":" << u
      << ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" << u << "}}";
  }
  std::vector<std::string> escaped;
  for (const auto& n : layer_names) escaped.push_back(json_escape(n));
  for (const hw::InstrRecord& r : stats.timeline) {
    const std::string name = r.layer < escaped.size() ? escaped[r.layer] : "layer " + std::to_string(r.layer);
    const int u = r.unit < hw::kNumUnits ? r.unit : 0;
    f << ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":" << u << ",\"name\":\"" << name << "\",\"cat\":\""
      << kOpcodes[u] << "\",\"ts\":" << micros(r.start * period_ps)
      << ",\"dur\":" << micros((r.end - r.start) * period_ps) << ",\"args\":{\"instr\":" << r.index
      << ",\"layer\":" << r.layer << ",\"start_cycle\":" << r.start << ",\"end_cycle\":" << r.end << "}}";
  }
  // DRAM bandwidth as counters, one sample per window.
  const uint64_t window = std::max<uint64_t>(1, stats.bw_window);
  const size_t windows = std::max(stats.bw_read.size(), stats.bw_write.size());
  for (size_t w = 0; w <= windows; ++w) {
    const uint64_t c0 = w * window;
    const uint64_t rd = w < stats.bw_read.size() ? stats.bw_read[w] : 0;
    const uint64_t wr = w < stats.bw_write.size() ? stats.bw_write[w] : 0;
    char buf[160];
    std::snprintf(buf, sizeof buf, "{\"read\":%.4f,\"write\":%.4f}",
                  static_cast<double>(rd) * clock_ghz / window, static_cast<double>(wr) * clock_ghz / window);
    f << ",\n{\"ph\":\"C\",\"pid\":1,\"name\":\"DRAM GB/s\",\"ts\":" << micros(c0 * period_ps)
      << ",\"args\":" << buf << "}";
  }
  f << "\n]}\n";
  if (!f) throw InputError(path + ": cannot write");
}

FstResult convert_to_fst(const std::string& vcd_path, const std::string& fst_path) {
  if (!on_path("vcd2fst"))
    return {false, "vcd2fst not found on the PATH (Debian package gtkwave); kept " + vcd_path};
  const pid_t pid = fork();
  if (pid == 0) {
    // Quiet: vcd2fst prints its own banner.
    std::freopen("/dev/null", "w", stdout);
    execlp("vcd2fst", "vcd2fst", vcd_path.c_str(), fst_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return {false, "vcd2fst could not be started"};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return {false, "vcd2fst failed on " + vcd_path + " (exit status " +
                       std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")"};
  return {true, "converted " + vcd_path + " to " + fst_path};
}

}  // namespace fusesim
