// Report writers. Every figure here is derived from hw::Stats and the Program; the CSV columns
// add up to the report.json totals.
#include "report.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "isa/errors.h"
#include "json_writer.h"
#include "number_format.h"
#include "trace_files.h"
#include "version.h"

namespace fusesim {

namespace {

const char* kBufferNames[3] = {"nbin", "sb", "nbout"};

std::string grouped(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

double gbps(uint64_t bytes, uint64_t cycles, double clock_ghz) {
  return cycles ? static_cast<double>(bytes) * clock_ghz / static_cast<double>(cycles) : 0.0;
}

double utilization(uint64_t macs, uint64_t cycles, const ArchParams& a) {
  return cycles ? static_cast<double>(macs) / (static_cast<double>(cycles) * a.tn * a.tn) : 0.0;
}

uint64_t peak_window_bytes(const hw::Stats& s) {
  uint64_t peak = 0;
  for (std::size_t i = 0; i < s.bw_read.size(); ++i)
    peak = std::max(peak, s.bw_read[i] + (i < s.bw_write.size() ? s.bw_write[i] : 0));
  return peak;
}

double buffer_energy(const ArchParams& a, const std::array<hw::BufferStats, 3>& b, int which) {
  const double pj[3] = {a.energy.nbin_byte_pj, a.energy.sb_byte_pj, a.energy.nbout_byte_pj};
  return static_cast<double>(b[which].read_bytes + b[which].write_bytes) * pj[which];
}

}  // namespace

EnergyBreakdown energy_of(const ArchParams& a, const hw::Stats& s) {
  EnergyBreakdown e;
  e.mac = static_cast<double>(s.macs) * a.energy.mac_pj;
  e.nbin = buffer_energy(a, s.buffers, 0);
  e.sb = buffer_energy(a, s.buffers, 1);
  e.nbout = buffer_energy(a, s.buffers, 2);
  e.dram = static_cast<double>(s.dram_read_bytes + s.dram_write_bytes) * a.energy.dram_byte_pj;
  // mW x ns = pJ
  e.static_ = a.energy.static_mw * static_cast<double>(s.cycles) * a.period_ns();
  return e;
}

EnergyBreakdown energy_of_layer(const ArchParams& a, const hw::LayerStats& l, uint64_t cycles) {
  EnergyBreakdown e;
  e.mac = static_cast<double>(l.macs) * a.energy.mac_pj;
  e.nbin = buffer_energy(a, l.buffers, 0);
  e.sb = buffer_energy(a, l.buffers, 1);
  e.nbout = buffer_energy(a, l.buffers, 2);
  e.dram = static_cast<double>(l.dram_read_bytes + l.fetch_bytes + l.dram_write_bytes) * a.energy.dram_byte_pj;
  e.static_ = a.energy.static_mw * static_cast<double>(cycles) * a.period_ns();
  return e;
}

void print_summary(std::ostream& os, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  const double time_us = static_cast<double>(s.cycles) * a.period_ns() / 1000.0;
  const double avg_bw = gbps(s.dram_read_bytes + s.dram_write_bytes, s.cycles, a.clock_ghz);
  const int64_t batch = r.program->batch;
  std::ostringstream o;
  o << std::fixed;
  o << "fusesim " << version() << ": " << r.model_name << " on " << a.name << " ("
    << (r.copt.dtype == isa::DType::Int16 ? "int16" : "fp32") << ", "
    << (r.functional ? "functional" : "timing") << ", fusion " << compiler::fusion_name(r.copt.fusion)
    << ", pipeline " << compiler::pipeline_name(r.copt.pipeline) << ", elimination "
    << (r.copt.elimination ? "on" : "off") << (batch > 1 ? ", batch " + std::to_string(batch) : std::string())
    << ")\n";
  o << "  cycles           " << std::setw(16) << grouped(s.cycles) << "   " << std::setprecision(3)
    << time_us / 1000.0 << " ms at " << std::setprecision(2) << a.clock_ghz << " GHz\n";
  o << "  MACs             " << std::setw(16) << grouped(s.macs) << "   NFU utilization "
    << std::setprecision(1) << 100.0 * utilization(s.macs, s.cycles, a) << " %\n";
  o << "  DRAM read        " << std::setw(16) << human_bytes(static_cast<double>(s.dram_read_bytes))
    << "   write " << human_bytes(static_cast<double>(s.dram_write_bytes)) << "\n";
  o << "  DRAM bandwidth   " << std::setw(13) << std::setprecision(2) << avg_bw << " GB/s   average ("
    << std::setprecision(0) << 100.0 * avg_bw / a.dram_bandwidth_gbps << " % of " << std::setprecision(1)
    << a.dram_bandwidth_gbps << " GB/s peak)\n";
  o << "  energy           " << std::setw(13) << std::setprecision(3) << energy_of(a, s).total() / 1e9
    << " mJ\n";
  if (batch > 1)
    o << "  per sample       " << std::setw(16) << grouped(s.cycles / static_cast<uint64_t>(batch))
      << "   cycles, " << std::setprecision(3) << energy_of(a, s).total() / 1e9 / static_cast<double>(batch)
      << " mJ (batch " << batch << ")\n";
  o << "  instructions     " << std::setw(16) << grouped(r.program->instrs.size()) << "   in "
    << r.program->schedule.size() << " layer groups\n";
  const double wall = r.sim->wall_seconds;
  o << "  wall time        " << std::setw(14) << std::setprecision(3)
    << (r.wall_seconds > 0 ? r.wall_seconds : wall + r.compile_seconds) << " s   (compile " << r.compile_seconds
    << " s, simulate " << wall << " s" << (r.wall_seconds > 0 ? ", overlapped" : "") << ", " << std::setprecision(1)
    << (wall > 0 ? static_cast<double>(s.cycles) / wall / 1e6 : 0.0) << " M cycles/s)\n";
  if (r.check.done) {
    o << "  check            " << std::setw(16) << (r.check.passed ? "PASS" : "FAIL") << "   against "
      << r.check.against << ": " << grouped(r.check.elements) << " outputs, " << grouped(r.check.mismatches)
      << " mismatches, max abs err " << std::setprecision(3) << std::scientific << r.check.max_abs_err
      << ", rel err " << r.check.rel_err << std::fixed << "\n";
  }
  os << o.str();
}

namespace {

void write_report_json(const std::string& path, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  std::ofstream f(path);
  JsonWriter j(f);
  const EnergyBreakdown e = energy_of(a, s);
  j.begin_object();
  j.kv("fusesim_version", version()).kv("isa_version", isa::kIsaVersion);
  j.kv("model", r.model_name).kv("model_path", r.model_path).kv("arch", a.name).kv("arch_path", a.source);
  j.kv("dtype", r.copt.dtype == isa::DType::Int16 ? "int16" : "fp32");
  j.kv("mode", r.functional ? "functional" : "timing");
  j.kv("status", r.sim->finished ? "ok" : "fault");
  if (!r.sim->fault.empty()) j.kv("fault", r.sim->fault);
  j.kv("cycles", s.cycles).kv("time_ns", static_cast<double>(s.cycles) * a.period_ns());
  // The batch and the per-sample figures (the totals above are the whole batch's).
  const double batch = static_cast<double>(r.program->batch);
  j.kv("batch", static_cast<uint64_t>(r.program->batch));
  j.kv("cycles_per_sample", static_cast<double>(s.cycles) / batch);
  j.kv("time_ns_per_sample", static_cast<double>(s.cycles) * a.period_ns() / batch);
  j.kv("energy_pj_per_sample", e.total() / batch);
  j.kv("macs", s.macs).kv("compiled_macs", r.program->macs);
  j.kv("nfu_utilization", utilization(s.macs, s.cycles, a));
  j.kv("dram_read_bytes", s.dram_read_bytes).kv("dram_write_bytes", s.dram_write_bytes);
  j.kv("dram_fetch_bytes", s.fetch_bytes);
  j.kv("compulsory_dram_bytes", r.program->compulsory_bytes).kv("weight_bytes", r.program->weight_bytes);
  j.kv("avg_bw_gbps", gbps(s.dram_read_bytes + s.dram_write_bytes, s.cycles, a.clock_ghz));
  j.kv("peak_bw_gbps", gbps(peak_window_bytes(s), s.bw_window, a.clock_ghz));
  j.kv("dram_peak_gbps", a.dram_bandwidth_gbps);
  j.kv("dram_row_hits", s.dram_row_hits).kv("dram_row_misses", s.dram_row_misses).kv("dram_runs", s.dram_runs);
  j.kv("energy_pj", e.total());
  j.begin_object("energy_breakdown_pj");
  j.kv("mac", e.mac).kv("nbin", e.nbin).kv("nbout", e.nbout).kv("sb", e.sb).kv("dram", e.dram).kv("static", e.static_);
  j.end_object();
  // The per-access energies the breakdown was computed with (docs/energy.md).
  j.begin_object("energy_per_access_pj");
  j.kv("mac", a.energy.mac_pj).kv("nbin_byte", a.energy.nbin_byte_pj).kv("sb_byte", a.energy.sb_byte_pj);
  j.kv("nbout_byte", a.energy.nbout_byte_pj).kv("dram_byte", a.energy.dram_byte_pj);
  j.kv("static_mw", a.energy.static_mw).kv("period_ns", a.period_ns());
  j.end_object();
  // Token waits by the channel waited on: who waited for whom (docs/traces.md).
  j.begin_object("stall_cycles_by_cause");
  for (int ch = 0; ch < hw::kNumChannels; ++ch) j.kv(hw::stall_cause_name(ch), s.stall_channel_cycles[ch]);
  j.kv("load_wait_store_fence", s.stall_fence_cycles);
  j.end_object();
  j.kv("bw_window_cycles", s.bw_window);
  j.kv("onchip_bytes", a.onchip_bytes());
  j.kv("instructions", static_cast<uint64_t>(r.program->instrs.size()));
  j.kv("compile_seconds", r.compile_seconds).kv("simulate_seconds", r.sim->wall_seconds);
  j.begin_object("compiler");
  j.kv("fusion", compiler::fusion_name(r.copt.fusion)).kv("pipeline", compiler::pipeline_name(r.copt.pipeline));
  j.kv("fusion_overlap", compiler::overlap_name(r.copt.overlap));
  j.kv("elimination", r.copt.elimination);
  j.end_object();
  j.begin_object("units");
  for (int u = 0; u < hw::kNumUnits; ++u) {
    const auto& us = s.units[u];
    j.begin_object(hw::unit_name(u));
    j.kv("instructions", us.instrs).kv("busy_cycles", us.busy_cycles);
    j.kv("utilization", s.cycles ? static_cast<double>(us.busy_cycles) / static_cast<double>(s.cycles) : 0.0);
    j.begin_object("stall_cycles");
    j.kv("token", us.stall_token_cycles).kv("fetch", us.stall_fetch_cycles).kv("idle", us.idle_cycles);
    j.end_object();
    j.end_object();
  }
  j.end_object();
  j.begin_object("buffers");
  for (int b = 0; b < 3; ++b) {
    j.begin_object(kBufferNames[b]);
    j.kv("read_bytes", s.buffers[b].read_bytes).kv("write_bytes", s.buffers[b].write_bytes);
    j.kv("peak_bytes", s.buffers[b].peak_bytes);
    j.end_object();
  }
  j.end_object();
  j.begin_array("schedule");
  for (std::size_t i = 0; i < r.program->schedule.size(); ++i) {
    const auto& se = r.program->schedule[i];
    j.begin_object();
    j.kv("index", static_cast<uint64_t>(i)).kv("name", se.name).kv("tiles", se.tiles);
    j.begin_array("layers");
    for (const auto& m : se.members) j.value(m);
    j.end_array();
    j.kv("macs", se.macs).kv("est_cycles", se.est_cycles).kv("est_dram_bytes", se.est_dram_bytes);
    j.kv("onchip_bytes", se.onchip_bytes);
    if (i < s.layers.size() && s.layers[i].first_cycle != UINT64_MAX) {
      const uint64_t cyc = s.layers[i].last_cycle - s.layers[i].first_cycle;
      j.kv("sim_cycles", cyc).kv("sim_cycles_per_sample", static_cast<double>(cyc) / batch);
    }
    j.end_object();
  }
  j.end_array();
  if (r.check.done) {
    j.begin_object("check");
    j.kv("passed", r.check.passed).kv("against", r.check.against).kv("elements", r.check.elements);
    j.kv("mismatches", r.check.mismatches).kv("max_abs_err", r.check.max_abs_err).kv("rel_err", r.check.rel_err);
    j.end_object();
  }
  j.end_object();
}

// Adds every counter of `b` into `a` (first/last cycles widen).
void accumulate(hw::LayerStats& a, const hw::LayerStats& b) {
  a.first_cycle = std::min(a.first_cycle, b.first_cycle);
  a.last_cycle = std::max(a.last_cycle, b.last_cycle);
  a.macs += b.macs;
  a.nfu_busy_cycles += b.nfu_busy_cycles;
  a.dram_read_bytes += b.dram_read_bytes;
  a.dram_write_bytes += b.dram_write_bytes;
  a.fetch_bytes += b.fetch_bytes;
  for (int u = 0; u < hw::kNumUnits; ++u) {
    a.stall_token_cycles[u] += b.stall_token_cycles[u];
    a.stall_fetch_cycles[u] += b.stall_fetch_cycles[u];
  }
  for (int c = 0; c < hw::kNumChannels; ++c) a.stall_channel_cycles[c] += b.stall_channel_cycles[c];
  a.stall_fence_cycles += b.stall_fence_cycles;
  for (int k = 0; k < 3; ++k) {
    a.buffers[k].read_bytes += b.buffers[k].read_bytes;
    a.buffers[k].write_bytes += b.buffers[k].write_bytes;
    a.buffers[k].peak_bytes = std::max(a.buffers[k].peak_bytes, b.buffers[k].peak_bytes);
  }
}

struct LayerRow {
  std::string name, members;
  hw::LayerStats stats;
  uint64_t attributed = 0;  // this row's share of the run's cycles (the shares add up to cycles)
};

// One row per schedule entry, plus one "(unscheduled)" row for counters charged to layer
// indices past the schedule (e.g. an END word's layer field), so that every column adds up.
std::vector<LayerRow> layer_rows(const RunReport& r) {
  const hw::Stats& s = r.sim->stats;
  const auto& sched = r.program->schedule;
  std::vector<LayerRow> rows(sched.size());
  for (std::size_t i = 0; i < sched.size(); ++i) {
    rows[i].name = sched[i].name;
    for (const auto& m : sched[i].members) rows[i].members += (rows[i].members.empty() ? "" : ";") + m;
    if (i < s.layers.size()) rows[i].stats = s.layers[i];
  }
  LayerRow extra{"(unscheduled)", "", {}, 0};
  bool any_extra = false;
  for (std::size_t i = sched.size(); i < s.layers.size(); ++i) {
    const hw::LayerStats& l = s.layers[i];
    if (l.first_cycle == UINT64_MAX && l.fetch_bytes == 0 && l.macs == 0) continue;
    accumulate(extra.stats, l);
    any_extra = true;
  }
  if (any_extra) rows.push_back(extra);
  // Attributed cycles: ordered by first start, a row owns the cycles from its first start to
  // the next row's; the first also owns the run's start-up, the last runs to the end.
  std::vector<std::size_t> ran;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].stats.first_cycle != UINT64_MAX) ran.push_back(i);
  std::stable_sort(ran.begin(), ran.end(),
                   [&](std::size_t x, std::size_t y) { return rows[x].stats.first_cycle < rows[y].stats.first_cycle; });
  for (std::size_t k = 0; k < ran.size(); ++k) {
    const uint64_t from = k == 0 ? 0 : std::min(rows[ran[k]].stats.first_cycle, s.cycles);
    const uint64_t to = k + 1 < ran.size() ? std::min(rows[ran[k + 1]].stats.first_cycle, s.cycles) : s.cycles;
    rows[ran[k]].attributed = to - std::min(to, from);
  }
  return rows;
}

void write_layers_csv(const std::string& path, const RunReport& r) {
  const ArchParams& a = *r.arch;
  std::ofstream f(path);
  f << "index,name,layers,start_cycle,end_cycle,cycles,attributed_cycles,"
       "stall_load_token,stall_compute_token,stall_store_token,"
       "stall_nfu_wait_load,stall_load_wait_nfu,stall_store_wait_nfu,stall_nfu_wait_store,stall_load_wait_"
       "store_fence,"
       "stall_load_fetch,stall_compute_fetch,stall_store_fetch,"
       "macs,nfu_busy_cycles,nfu_utilization,dram_read_bytes,dram_write_bytes,fetch_bytes,avg_bw_gbps,"
       "nbin_read_bytes,nbin_write_bytes,sb_read_bytes,sb_write_bytes,nbout_read_bytes,nbout_write_bytes,"
       "energy_pj,batch,cycles_per_sample,attributed_cycles_per_sample,energy_pj_per_sample\n";
  const double batch = static_cast<double>(r.program->batch);
  const std::vector<LayerRow> rows = layer_rows(r);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const hw::LayerStats& l = rows[i].stats;
    const bool ran = l.first_cycle != UINT64_MAX;
    const uint64_t start = ran ? l.first_cycle : 0, end = ran ? l.last_cycle : 0, cyc = end - start;
    const uint64_t read = l.dram_read_bytes + l.fetch_bytes;  // the run's DRAM reads include fetch
    f << i << ',' << rows[i].name << ',' << rows[i].members << ',' << start << ',' << end << ',' << cyc << ','
      << rows[i].attributed;
    for (int u = 0; u < hw::kNumUnits; ++u) f << ',' << l.stall_token_cycles[u];
    for (int c = 0; c < hw::kNumChannels; ++c) f << ',' << l.stall_channel_cycles[c];
    f << ',' << l.stall_fence_cycles;
    for (int u = 0; u < hw::kNumUnits; ++u) f << ',' << l.stall_fetch_cycles[u];
    f << ',' << l.macs << ',' << l.nfu_busy_cycles << ',' << utilization(l.macs, cyc, a) << ',' << read << ','
      << l.dram_write_bytes << ',' << l.fetch_bytes << ',' << gbps(read + l.dram_write_bytes, cyc, a.clock_ghz);
    for (int b = 0; b < 3; ++b) f << ',' << l.buffers[b].read_bytes << ',' << l.buffers[b].write_bytes;
    const double energy = energy_of_layer(a, l, rows[i].attributed).total();
    f << ',' << std::fixed << std::setprecision(3) << energy << ',' << r.program->batch << ','
      << static_cast<double>(cyc) / batch << ',' << static_cast<double>(rows[i].attributed) / batch << ','
      << energy / batch << std::defaultfloat << std::setprecision(6) << '\n';
  }
}

// In a whole window (every one but the last), a rate depends only on its byte count, and so
// does the utilization where the other direction moved nothing (x + 0.0 == x): each count's
// text is made once per call (the default 1,000-cycle window moves at most 13,061 bytes at
// 12.8 GB/s and 0.98 GHz; larger counts are formatted each time).
struct FormatMemo {
  static constexpr uint64_t kMemo = 1 << 14;
  std::unique_ptr<std::array<char, 24>[]> text{new std::array<char, 24>[kMemo]()};
  std::vector<uint8_t> len = std::vector<uint8_t>(kMemo, 0);
  template <class Value>
  char* put(char* p, uint64_t count, Value value) {
    if (count >= kMemo) return format_g6(p, value());
    if (!len[count]) len[count] = static_cast<uint8_t>(format_g6(text[count].data(), value()) - text[count].data());
    std::memcpy(p, text[count].data(), sizeof text[count]);  // (the caller leaves room for the whole slot)
    return p + len[count];
  }
};

// bandwidth.csv rows [first, last): window i has read_at(i) and written_at(i) bytes; `cycles`
// (the run's) ends the last window. A row at a time into a block of characters (vgg16 has 282 k
// rows): integers with std::to_chars, doubles with format_g6, as the stream's default format prints
// them (%.6g). `put` takes each full block.
template <class Read, class Written, class Put>
void format_bw_rows(const ArchParams& a, uint64_t window, uint64_t cycles, std::size_t first, std::size_t last,
                    Read read_at, Written written_at, Put put) {
  constexpr std::size_t kBlock = 1 << 16, kRowMax = 256;  // a row: 4 integers and 3 reals, < 200 chars
  std::vector<char> block(kBlock);
  char* p = block.data();
  char* const flush_at = block.data() + kBlock - kRowMax;
  FormatMemo rate, alone;
  const double clock = a.clock_ghz, peak = a.dram_bandwidth_gbps;
  for (std::size_t i = first; i < last; ++i) {
    const uint64_t rd = read_at(i), wr = written_at(i);
    const uint64_t c0 = i * window, c1 = std::min<uint64_t>(c0 + window, std::max(cycles, c0 + 1));
    for (uint64_t v : {c0, c1, rd, wr}) {
      p = std::to_chars(p, p + 24, v).ptr;
      *p++ = ',';
    }
    if (c1 - c0 == window) {
      const auto rate_of = [&](uint64_t bytes) { return [&, bytes] { return gbps(bytes, window, clock); }; };
      p = rate.put(p, rd, rate_of(rd));
      *p++ = ',';
      p = rate.put(p, wr, rate_of(wr));
      *p++ = ',';
      if (rd == 0 || wr == 0) {
        const uint64_t x = rd + wr;
        p = alone.put(p, x, [&] { return gbps(x, window, clock) / peak; });
      } else {
        p = format_g6(p, (gbps(rd, window, clock) + gbps(wr, window, clock)) / peak);
      }
    } else {
      const double rg = gbps(rd, c1 - c0, clock), wg = gbps(wr, c1 - c0, clock);
      p = format_g6(p, rg);
      *p++ = ',';
      p = format_g6(p, wg);
      *p++ = ',';
      p = format_g6(p, (rg + wg) / peak);
    }
    *p++ = '\n';
    if (p >= flush_at) {
      put(block.data(), p);
      p = block.data();
    }
  }
  put(block.data(), p);
}

const char kBandwidthHeader[] =
    "cycle_start,cycle_end,dram_read_bytes,dram_write_bytes,read_GBps,write_GBps,utilization\n";

void write_bandwidth_csv(const std::string& path, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  // Every window of the run, idle ones included, so that plots show the gaps.
  const uint64_t window = std::max<uint64_t>(1, s.bw_window);
  const std::size_t n = std::max({s.bw_read.size(), s.bw_write.size(),
                                  static_cast<std::size_t>((s.cycles + window - 1) / window)});
  const auto read_at = [&s](std::size_t i) { return i < s.bw_read.size() ? s.bw_read[i] : 0; };
  const auto written_at = [&s](std::size_t i) { return i < s.bw_write.size() ? s.bw_write[i] : 0; };
  // The rows a BandwidthCsvStream wrote during the run are there already: the rest follow.
  std::size_t first = 0;
  std::ofstream f;
  if (r.bw_stream && r.bw_stream->path() == path) {
    first = static_cast<std::size_t>(r.bw_stream->finish());
    f.open(path, std::ios::app);
  } else {
    f.open(path);
    f << kBandwidthHeader;
  }
  auto to_file = [&f](const char* b, const char* e) { f.write(b, e - b); };
  auto rows = [&](std::size_t from, std::size_t to, auto put) {
    format_bw_rows(a, window, s.cycles, from, to, read_at, written_at, put);
  };
  // A long series is formatted in two halves at once, the second on the other core into memory,
  // then written after the first.
  const std::size_t mid =
      n - first >= (std::size_t{1} << 16) && std::thread::hardware_concurrency() > 1 ? first + (n - first) / 2 : n;
  std::string tail;
  bool tail_ok = false;
  std::thread other;
  if (mid < n)
    other = std::thread([&] {
      try {
        tail.reserve((n - mid) * 64);
        rows(mid, n, [&tail](const char* b, const char* e) { tail.append(b, e); });
        tail_ok = true;
      } catch (...) {  // (out of memory: this thread writes them itself)
      }
    });
  rows(first, mid, to_file);
  if (other.joinable()) other.join();
  if (tail_ok)
    f.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  else if (mid < n)
    rows(mid, n, to_file);
}

}  // namespace

BandwidthCsvStream::BandwidthCsvStream(const std::string& dir, const ArchParams& arch, uint64_t bw_window)
    : path_(dir + "/bandwidth.csv"), partial_(path_ + ".partial"), arch_(arch),
      window_(std::max<uint64_t>(1, bw_window)), file_(partial_) {
  if (!file_) throw InputError(partial_ + ": cannot write");
  file_ << kBandwidthHeader;
  thread_ = std::thread([this] { loop(); });
}

BandwidthCsvStream::~BandwidthCsvStream() {
  stop();
  if (!finished_) {  // the run was abandoned: no half a report
    std::error_code ec;
    std::filesystem::remove(partial_, ec);
  }
}

void BandwidthCsvStream::windows(uint64_t first, const uint64_t* read, const uint64_t* written, uint64_t n) {
  Batch b{first, std::vector<uint64_t>(read, read + n), std::vector<uint64_t>(written, written + n)};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batches_.push_back(std::move(b));
  }
  cv_.notify_one();
}

void BandwidthCsvStream::loop() {
  for (;;) {
    Batch b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return !batches_.empty() || stopping_; });
      if (batches_.empty()) return;
      b = std::move(batches_.front());
      batches_.pop_front();
    }
    // (these windows end before the run does: the run's cycles cannot shorten them)
    format_bw_rows(arch_, window_, UINT64_MAX, b.first, b.first + b.read.size(),
                   [&](std::size_t i) { return b.read[i - b.first]; },
                   [&](std::size_t i) { return b.written[i - b.first]; },
                   [this](const char* s, const char* e) { file_.write(s, e - s); });
    rows_ = b.first + b.read.size();
  }
}

void BandwidthCsvStream::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

uint64_t BandwidthCsvStream::finish() {
  stop();
  file_.close();
  std::filesystem::rename(partial_, path_);
  finished_ = true;
  return rows_;
}

void write_reports(const std::string& dir, const RunReport& r) {
  std::filesystem::create_directories(dir);
  write_report_json(dir + "/report.json", r);
  write_layers_csv(dir + "/layers.csv", r);
  write_bandwidth_csv(dir + "/bandwidth.csv", r);
  const hw::Stats& s = r.sim->stats;
  if (!s.timeline.empty()) {
    std::vector<std::string> names;
    for (const auto& se : r.program->schedule) names.push_back(se.name);
    const auto period_ps = static_cast<uint64_t>(std::llround(1000.0 / r.arch->clock_ghz));
    write_timeline_json(dir + "/timeline.json", s, names, period_ps, r.arch->clock_ghz);
  }
}

}  // namespace fusesim
