// Traces of hand-written programs run through the accelerator model: the VCD parses and agrees
// with the statistics, the trace window is a faithful cut of the whole trace, layer counters add
// up to the run's totals, the timeline never overlaps within a unit, and the GTKWave save file
// names only signals the VCD declares.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "../hw/hw_harness.h"
#include "../support/sc_fixture.h"
#include "isa/errors.h"
#include "platform/trace_files.h"
#include "tracer.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using isa::Opcode;
using Trace = ScTest;

constexpr uint32_t kIn = 0x10000, kW = 0x20000, kOut = 0x30000;
constexpr uint64_t kPeriodPs = 1000;  // round_arch(): 1 GHz

// `tiles` 3x3 convolutions of a zero-padded 4x4 map, software-pipelined over two halves of
// NBin, SB and NBout (VTA-style tokens: load t+1 || compute t || store t-1). Tile t belongs to
// layer t / 2. Per tile: LOAD 6x6 input (72 B of NBin), LOAD 9 weights (18 B of SB), COMPUTE
// (64 B of NBout), STORE 16 outputs.
std::vector<Instr> pipelined_program(uint32_t tiles) {
  std::vector<Instr> p;
  for (uint32_t t = 0; t < tiles; ++t) {
    const uint32_t half = (t % 2) * 1024, layer = t / 2;
    const bool reuse = t >= 2, refill = t + 2 < tiles;
    Instr li = load(Buffer::NBin, kIn, half, 6, 6, 1, 4);
    li.pad_top = li.pad_bottom = li.pad_left = li.pad_right = 1;
    li.pop_next = reuse;  // the NFU has released this half
    Instr lw = load(Buffer::SB, kW, half, 9);
    lw.push_next = 1;
    Instr c = op(Opcode::Compute);
    c.op = static_cast<uint32_t>(isa::ComputeOp::Conv);
    c.cin = c.cout = 1;
    c.in_h = c.in_w = 6;
    c.out_h = c.out_w = 4;
    c.kh = c.kw = 3;
    c.final = 1;
    c.shift = 12;
    c.fine = 1;
    c.in_addr = half;
    c.w_addr = half;
    c.out_addr = half;
    c.pop_prev = 1;
    c.pop_next = reuse;  // the store has drained this NBout half
    c.push_prev = refill;
    c.push_next = 1;
    Instr s = store(kOut + 32 * t, half, 16);
    s.pop_prev = 1;
    s.push_prev = refill;
    for (Instr* in : {&li, &lw, &c, &s}) {
      in->layer = layer;
      p.push_back(*in);
    }
  }
  p.push_back(op(Opcode::End));
  return p;
}

struct Traced {
  hw::Stats stats;
  std::string vcd;
};

Traced run_traced(uint32_t tiles, uint64_t from = 0, uint64_t to = UINT64_MAX, uint64_t bw_window = 50) {
  static int n = 0;
  // ctest runs each test in its own process, in parallel: the name must be unique per process
  const std::string path = ::testing::TempDir() + "fusesim_trace_" + std::to_string(::getpid()) + "_" +
                           std::to_string(n++) + ".vcd";
  Traced out;
  {
    ::fusesim::testing::FreshKernel kernel;
    hw::AcceleratorOptions opt = options(hw::Mode::Functional, bw_window, true);
    opt.vcd_path = path;
    opt.trace_from = from;
    opt.trace_to = to;
    auto acc = std::make_unique<hw::Accelerator>("acc", round_arch(), opt);
    auto host = std::make_unique<TestHost>("host");
    sc_core::sc_signal<bool> irq("irq_line");
    acc->irq(irq);
    host->irq(irq);
    host->socket.bind(acc->host_socket);
    host->program = pipelined_program(tiles);
    host->data = {{kIn, bytes_of(std::vector<int16_t>(16, 256))},
                  {kW, bytes_of(std::vector<int16_t>(9, 4096))}};
    ::fusesim::testing::sc_run();
    EXPECT_TRUE(acc->done());
    out.stats = acc->stats();
  }
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  out.vcd = ss.str();
  std::remove(path.c_str());
  return out;
}

// A VCD read back: declared signals and every value change in time order.
struct Vcd {
  struct Var {
    std::string name;
    uint32_t width = 0;  // 0: real
  };
  std::map<std::string, Var> vars;           // by id
  std::map<std::string, std::string> id_of;  // name -> id
  std::vector<uint64_t> stamps;
  std::map<std::string, std::vector<std::pair<uint64_t, double>>> changes;  // id -> (time, value)
  std::vector<std::string> errors;

  // Value of `name` at time `t` (the last change at or before t).
  double at(const std::string& name, uint64_t t) const {
    const auto& ch = changes.at(id_of.at(name));
    double v = 0;
    for (const auto& [time, value] : ch) {
      if (time > t) break;
      v = value;
    }
    return v;
  }
  double max_of(const std::string& name) const {
    double m = 0;
    for (const auto& c : changes.at(id_of.at(name))) m = std::max(m, c.second);
    return m;
  }
};

Vcd parse_vcd(const std::string& text) {
  Vcd v;
  std::istringstream in(text);
  std::string line;
  bool defs = true, timescale = false;
  uint64_t now = 0;
  bool have_time = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (defs) {
      std::istringstream ls(line);
      std::vector<std::string> tok;
      for (std::string t; ls >> t;) tok.push_back(t);
      if (tok[0] == "$timescale") timescale = tok.size() >= 3 && tok[1] == "1ps";
      if (tok[0] == "$var") {
        if (tok.size() < 6 || tok.back() != "$end")
          v.errors.push_back("bad $var line: " + line);
        else {
          Vcd::Var var{tok[4], tok[1] == "real" ? 0u : static_cast<uint32_t>(std::stoul(tok[2]))};
          if (v.vars.count(tok[3])) v.errors.push_back("id declared twice: " + line);
          v.vars[tok[3]] = var;
          v.id_of[var.name] = tok[3];
        }
      }
      if (tok[0] == "$enddefinitions") defs = false;
      continue;
    }
    if (line[0] == '#') {
      const uint64_t t = std::stoull(line.substr(1));
      if (have_time && t <= now) v.errors.push_back("timestamp not increasing: " + line);
      now = t;
      have_time = true;
      v.stamps.push_back(t);
      continue;
    }
    if (line[0] == '$') continue;  // $dumpvars / $end
    std::string id;
    double value = 0;
    if (line[0] == '0' || line[0] == '1') {
      value = line[0] - '0';
      id = line.substr(1);
    } else if (line[0] == 'b' || line[0] == 'r') {
      const auto sp = line.find(' ');
      id = line.substr(sp + 1);
      value = line[0] == 'b' ? static_cast<double>(std::stoull(line.substr(1, sp - 1), nullptr, 2))
                             : std::stod(line.substr(1, sp - 1));
    } else {
      v.errors.push_back("unexpected line: " + line);
      continue;
    }
    if (!have_time) v.errors.push_back("value before any timestamp: " + line);
    if (!v.vars.count(id)) v.errors.push_back("undeclared id: " + line);
    v.changes[id].push_back({now, value});
  }
  if (!timescale) v.errors.push_back("no $timescale 1ps");
  if (defs) v.errors.push_back("no $enddefinitions");
  return v;
}

// Time-integral of a 0/1 signal, in ps, up to `end`.
uint64_t high_time(const Vcd& v, const std::string& name, uint64_t end) {
  uint64_t total = 0, since = 0;
  bool high = false;
  for (const auto& [t, value] : v.changes.at(v.id_of.at(name))) {
    if (high) total += t - since;
    high = value != 0;
    since = t;
  }
  if (high) total += end - since;
  return total;
}

TEST_F(Trace, VcdHasHeaderVarsAndIncreasingTimestamps) {
  const Traced r = run_traced(6);
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  const Vcd v = parse_vcd(r.vcd);
  EXPECT_TRUE(v.errors.empty()) << v.errors.front();
  EXPECT_EQ(v.vars.size(), static_cast<size_t>(hw::kNumTraceSigs));
  for (const auto& s : hw::trace_signals()) EXPECT_TRUE(v.id_of.count(s.name)) << s.name;
  ASSERT_FALSE(v.stamps.empty());
  EXPECT_EQ(v.stamps.back(), r.stats.cycles * kPeriodPs);  // the trace runs to END
}

// Busy lines change per instruction, and their high time is exactly each unit's busy cycles.
TEST_F(Trace, VcdBusyTimeEqualsUnitBusyCycles) {
  const Traced r = run_traced(6);
  const Vcd v = parse_vcd(r.vcd);
  ASSERT_TRUE(v.errors.empty()) << v.errors.front();
  const char* names[hw::kNumUnits] = {"busy_load", "busy_compute", "busy_store"};
  for (int u = 0; u < hw::kNumUnits; ++u)
    EXPECT_EQ(high_time(v, names[u], r.stats.cycles * kPeriodPs), r.stats.units[u].busy_cycles * kPeriodPs)
        << names[u];
  // Changes per event, not per cycle: at most a handful per instruction.
  size_t changes = 0;
  for (const auto& c : v.changes) changes += c.second.size();
  EXPECT_LT(changes, 20 * (6 * 4 + 1) + hw::kNumTraceSigs + 4 * r.stats.bw_read.size());
}

// Occupancy is the union of the regions held by in-flight instructions. With load t+1 running
// while compute t runs, both NBin halves (72 B each) are held at once, and never more.
TEST_F(Trace, VcdOccupancyIsTheInFlightFootprint) {
  const Traced r = run_traced(6);
  const Vcd v = parse_vcd(r.vcd);
  ASSERT_TRUE(v.errors.empty()) << v.errors.front();
  bool overlap = false;
  for (const auto& a : r.stats.timeline)
    for (const auto& b : r.stats.timeline)
      overlap |= a.unit == hw::kLoadUnit && b.unit == hw::kComputeUnit && a.start < b.end &&
                 b.start < a.end && a.index == b.index + 2;  // the input LOAD of the next tile
  ASSERT_TRUE(overlap) << "the program is expected to overlap load and compute";
  EXPECT_EQ(v.max_of("nbin_bytes"), 2 * 72);
  EXPECT_LE(v.max_of("sb_bytes"), 2 * 18);
  EXPECT_LE(v.max_of("nbout_bytes"), 2 * 64);
  EXPECT_GE(v.max_of("nbout_bytes"), 64);
  // While the NFU runs, its own 72 input bytes are held.
  for (const auto& rec : r.stats.timeline) {
    if (rec.unit == hw::kComputeUnit) {
      EXPECT_GE(v.at("nbin_bytes", rec.start * kPeriodPs), 72);
    }
  }
  EXPECT_EQ(v.at("nbin_bytes", r.stats.cycles * kPeriodPs), 0);  // nothing in flight at END
}

// The bandwidth signals hold each window's bytes from its first cycle on: sampled at the
// window starts they add up to the run's DRAM traffic.
TEST_F(Trace, VcdBandwidthWindowsAddUpToDramBytes) {
  const uint64_t window = 50;
  const Traced r = run_traced(6, 0, UINT64_MAX, window);
  const Vcd v = parse_vcd(r.vcd);
  ASSERT_TRUE(v.errors.empty()) << v.errors.front();
  double rd = 0, wr = 0;
  for (uint64_t c = 0; c < r.stats.cycles; c += window) {
    rd += v.at("dram_read_bytes", c * kPeriodPs);
    wr += v.at("dram_write_bytes", c * kPeriodPs);
    // 1 GHz: GB/s = bytes per cycle.
    EXPECT_NEAR(
        v.at("dram_read_gbps", c * kPeriodPs),
        v.at("dram_read_bytes", c * kPeriodPs) / static_cast<double>(std::min(window, r.stats.cycles - c)),
        1e-6);
  }
  EXPECT_EQ(rd, static_cast<double>(r.stats.dram_read_bytes));
  EXPECT_EQ(wr, static_cast<double>(r.stats.dram_write_bytes));
}

// A windowed trace holds only its window, and there every signal has the whole trace's value.
TEST_F(Trace, VcdWindowIsACutOfTheWholeTrace) {
  const Traced full = run_traced(6);
  const uint64_t from = full.stats.cycles / 3, to = 2 * full.stats.cycles / 3;
  const Traced cut = run_traced(6, from, to);
  EXPECT_EQ(cut.stats.cycles, full.stats.cycles);
  const Vcd f = parse_vcd(full.vcd), c = parse_vcd(cut.vcd);
  ASSERT_TRUE(c.errors.empty()) << c.errors.front();
  ASSERT_FALSE(c.stamps.empty());
  EXPECT_EQ(c.stamps.front(), from * kPeriodPs);
  EXPECT_EQ(c.stamps.back(), to * kPeriodPs);
  EXPECT_LT(cut.vcd.size(), full.vcd.size());
  for (uint64_t t : c.stamps)
    for (const auto& s : hw::trace_signals())
      EXPECT_EQ(c.at(s.name, t), f.at(s.name, t)) << s.name << " at " << t;
}

// Every per-layer counter adds up to the run's total.
TEST_F(Trace, LayerCountersAddUpToTotals) {
  const Traced r = run_traced(6);
  const hw::Stats& s = r.stats;
  ASSERT_EQ(s.layers.size(), 3u);
  hw::LayerStats sum;
  for (const auto& l : s.layers) {
    sum.macs += l.macs;
    sum.nfu_busy_cycles += l.nfu_busy_cycles;
    sum.dram_read_bytes += l.dram_read_bytes + l.fetch_bytes;
    sum.dram_write_bytes += l.dram_write_bytes;
    sum.fetch_bytes += l.fetch_bytes;
    for (int u = 0; u < hw::kNumUnits; ++u) {
      sum.stall_token_cycles[u] += l.stall_token_cycles[u];
      sum.stall_fetch_cycles[u] += l.stall_fetch_cycles[u];
    }
    for (int c = 0; c < hw::kNumChannels; ++c) sum.stall_channel_cycles[c] += l.stall_channel_cycles[c];
    for (int b = 0; b < 3; ++b) {
      sum.buffers[b].read_bytes += l.buffers[b].read_bytes;
      sum.buffers[b].write_bytes += l.buffers[b].write_bytes;
    }
  }
  EXPECT_EQ(sum.macs, 6u * 16u * 9u);
  EXPECT_EQ(sum.macs, s.macs);
  EXPECT_EQ(sum.nfu_busy_cycles, s.units[hw::kComputeUnit].busy_cycles);
  EXPECT_EQ(sum.dram_read_bytes, s.dram_read_bytes);
  EXPECT_EQ(sum.dram_write_bytes, s.dram_write_bytes);
  EXPECT_EQ(sum.fetch_bytes, s.fetch_bytes);
  EXPECT_EQ(s.fetch_bytes, (6u * 4u + 1u) * isa::kInstrBytes);
  uint64_t token_total = 0, channel_total = 0;
  for (int u = 0; u < hw::kNumUnits; ++u) {
    EXPECT_EQ(sum.stall_token_cycles[u], s.units[u].stall_token_cycles) << u;
    EXPECT_EQ(sum.stall_fetch_cycles[u], s.units[u].stall_fetch_cycles) << u;
    token_total += s.units[u].stall_token_cycles;
  }
  for (int c = 0; c < hw::kNumChannels; ++c) {
    EXPECT_EQ(sum.stall_channel_cycles[c], s.stall_channel_cycles[c]) << hw::channel_name(c);
    channel_total += s.stall_channel_cycles[c];
  }
  EXPECT_EQ(channel_total, token_total);
  // The load DMA waits only on the NFU, the store DMA only on the NFU.
  EXPECT_EQ(s.stall_channel_cycles[hw::kComputeToLoad], s.units[hw::kLoadUnit].stall_token_cycles);
  EXPECT_EQ(s.stall_channel_cycles[hw::kComputeToStore], s.units[hw::kStoreUnit].stall_token_cycles);
  // The first COMPUTE must wait for its data: at least the DRAM latency of 50 cycles.
  EXPECT_GE(s.stall_channel_cycles[hw::kLoadToCompute], 50u);
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(sum.buffers[b].read_bytes, s.buffers[b].read_bytes) << b;
    EXPECT_EQ(sum.buffers[b].write_bytes, s.buffers[b].write_bytes) << b;
  }
  // Per tile: NBin written 72 B and read 72 B, SB 18 + 18, NBout written 64 B by the NFU
  // and read 64 B by the STORE.
  EXPECT_EQ(s.buffers[0].write_bytes, 6u * 72u);
  EXPECT_EQ(s.buffers[0].read_bytes, 6u * 72u);
  EXPECT_EQ(s.buffers[1].write_bytes, 6u * 18u);
  EXPECT_EQ(s.buffers[2].write_bytes, 6u * 64u);
  EXPECT_EQ(s.buffers[2].read_bytes, 6u * 64u);
}

// One slice per executed instruction; within a unit, slices are ordered and never overlap.
TEST_F(Trace, TimelineHasOneSlicePerInstructionWithoutOverlap) {
  const Traced r = run_traced(6);
  const auto& tl = r.stats.timeline;
  ASSERT_EQ(tl.size(), 6u * 4u);
  for (int u = 0; u < hw::kNumUnits; ++u) {
    uint64_t last_end = 0, count = 0;
    for (const auto& rec : tl) {
      if (rec.unit != u) continue;
      EXPECT_GE(rec.start, last_end) << "instruction " << rec.index;
      EXPECT_GE(rec.end, rec.start);
      last_end = rec.end;
      ++count;
    }
    EXPECT_EQ(count, r.stats.units[u].instrs);
  }
  const std::string path = ::testing::TempDir() + "fusesim_timeline_" + std::to_string(::getpid()) + ".json";
  write_timeline_json(path, r.stats, {"first", "second \"quoted\""}, kPeriodPs, 1.0);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string json = ss.str();
  size_t slices = 0;
  for (size_t at = json.find("\"ph\":\"X\""); at != std::string::npos; at = json.find("\"ph\":\"X\"", at + 1))
    ++slices;
  EXPECT_EQ(slices, tl.size());
  EXPECT_NE(json.find("\"name\":\"second \\\"quoted\\\"\""), std::string::npos);  // escaped
  EXPECT_NE(json.find("\"name\":\"layer 2\""), std::string::npos);                // past the names given
  // The first slice: ts and dur are its cycles in microseconds at 1 GHz (1 cycle = 0.001 us).
  const auto& first = tl.front();
  std::ostringstream want;
  want << "\"ts\":" << first.start / 1000 << "."
       << std::string(3 - std::to_string(first.start % 1000).size(), '0') << first.start % 1000 << "000";
  EXPECT_NE(json.find(want.str()), std::string::npos) << want.str();
  std::remove(path.c_str());
}

// The save file groups the signals and names each exactly as the VCD declares it.
TEST_F(Trace, GtkwNamesDeclaredSignalsInBalancedGroups) {
  const std::string path = ::testing::TempDir() + "fusesim_trace_" + std::to_string(::getpid()) + ".gtkw";
  write_gtkw(path, "/tmp/x/trace.vcd");
  std::ifstream f(path);
  std::string line, flags;
  int open = 0, traces = 0;
  std::vector<std::string> want;
  for (const auto& s : hw::trace_signals())
    want.push_back(std::string(hw::kTraceScope) + "." + s.name +
                   (s.width > 1 ? "[" + std::to_string(s.width - 1) + ":0]" : ""));
  bool dumpfile = false;
  while (std::getline(f, line)) {
    if (line.rfind("[dumpfile] \"/tmp/x/trace.vcd\"", 0) == 0) dumpfile = true;
    if (line[0] == '@') {
      flags = line.substr(1);
    } else if (line[0] == '-' && line.size() > 1) {
      if (flags == "800200") ++open;
      if (flags == "1000200") --open;
      EXPECT_GE(open, 0);
      EXPECT_LE(open, 1);
    } else if (line[0] != '[' && line[0] != '-' && line[0] != '*') {
      EXPECT_NE(std::find(want.begin(), want.end(), line), want.end()) << line;
      ++traces;
    }
  }
  EXPECT_TRUE(dumpfile);
  EXPECT_EQ(open, 0);
  EXPECT_EQ(traces, static_cast<int>(hw::kNumTraceSigs));
  std::remove(path.c_str());
}

TEST_F(Trace, UnwritableVcdPathIsAnInputError) {
  hw::AcceleratorOptions opt = options(hw::Mode::Timing, 100, false);
  opt.vcd_path = "/nonexistent-dir/trace.vcd";
  EXPECT_THROW(hw::Accelerator("acc", round_arch(), opt), InputError);
}

}  // namespace
}  // namespace fusesim::testing
