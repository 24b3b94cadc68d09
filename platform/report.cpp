// Report writers. Every figure here is derived from hw::Stats and the Program; the CSV columns
// add up to the report.json totals.
#include "report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "json_writer.h"
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
  e.dram = static_cast<double>(l.dram_read_bytes + l.dram_write_bytes) * a.energy.dram_byte_pj;
  e.static_ = a.energy.static_mw * static_cast<double>(cycles) * a.period_ns();
  return e;
}

void print_summary(std::ostream& os, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  const double time_us = static_cast<double>(s.cycles) * a.period_ns() / 1000.0;
  const double avg_bw = gbps(s.dram_read_bytes + s.dram_write_bytes, s.cycles, a.clock_ghz);
  std::ostringstream o;
  o << std::fixed;
  o << "fusesim " << version() << ": " << r.model_name << " on " << a.name << " ("
    << (r.copt.dtype == isa::DType::Int16 ? "int16" : "fp32") << ", "
    << (r.functional ? "functional" : "timing") << ", fusion " << compiler::fusion_name(r.copt.fusion)
    << ", pipeline " << compiler::pipeline_name(r.copt.pipeline) << ", elimination "
    << (r.copt.elimination ? "on" : "off") << ")\n";
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
  o << "  instructions     " << std::setw(16) << grouped(r.program->instrs.size()) << "   in "
    << r.program->schedule.size() << " layer groups\n";
  const double wall = r.sim->wall_seconds;
  o << "  wall time        " << std::setw(14) << std::setprecision(3) << wall + r.compile_seconds
    << " s   (compile " << r.compile_seconds << " s, simulate " << wall << " s, " << std::setprecision(1)
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
  j.kv("macs", s.macs).kv("compiled_macs", r.program->macs);
  j.kv("nfu_utilization", utilization(s.macs, s.cycles, a));
  j.kv("dram_read_bytes", s.dram_read_bytes).kv("dram_write_bytes", s.dram_write_bytes);
  j.kv("dram_fetch_bytes", s.fetch_bytes);
  j.kv("compulsory_dram_bytes", r.program->compulsory_bytes).kv("weight_bytes", r.program->weight_bytes);
  j.kv("avg_bw_gbps", gbps(s.dram_read_bytes + s.dram_write_bytes, s.cycles, a.clock_ghz));
  j.kv("peak_bw_gbps", gbps(peak_window_bytes(s), s.bw_window, a.clock_ghz));
  j.kv("dram_peak_gbps", a.dram_bandwidth_gbps);
  j.kv("dram_row_hits", s.dram_row_hits).kv("dram_row_misses", s.dram_row_misses);
  j.kv("energy_pj", e.total());
  j.begin_object("energy_breakdown_pj");
  j.kv("mac", e.mac).kv("nbin", e.nbin).kv("nbout", e.nbout).kv("sb", e.sb).kv("dram", e.dram).kv("static", e.static_);
  j.end_object();
  j.kv("onchip_bytes", a.onchip_bytes());
  j.kv("instructions", static_cast<uint64_t>(r.program->instrs.size()));
  j.kv("compile_seconds", r.compile_seconds).kv("simulate_seconds", r.sim->wall_seconds);
  j.begin_object("compiler");
  j.kv("fusion", compiler::fusion_name(r.copt.fusion)).kv("pipeline", compiler::pipeline_name(r.copt.pipeline));
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
    if (i < s.layers.size() && s.layers[i].first_cycle != UINT64_MAX)
      j.kv("sim_cycles", s.layers[i].last_cycle - s.layers[i].first_cycle);
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

void write_layers_csv(const std::string& path, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  std::ofstream f(path);
  f << "index,name,layers,start_cycle,end_cycle,cycles,stall_load_token,stall_compute_token,"
       "stall_store_token,macs,nfu_busy_cycles,nfu_utilization,dram_read_bytes,dram_write_bytes,avg_bw_gbps,"
       "nbin_bytes,sb_bytes,nbout_bytes,energy_pj\n";
  for (std::size_t i = 0; i < r.program->schedule.size(); ++i) {
    const auto& se = r.program->schedule[i];
    hw::LayerStats l = i < s.layers.size() ? s.layers[i] : hw::LayerStats{};
    const bool ran = l.first_cycle != UINT64_MAX;
    const uint64_t start = ran ? l.first_cycle : 0, end = ran ? l.last_cycle : 0, cyc = end - start;
    std::string members;
    for (const auto& m : se.members) members += (members.empty() ? "" : ";") + m;
    auto bytes = [&](int b) { return l.buffers[b].read_bytes + l.buffers[b].write_bytes; };
    f << i << ',' << se.name << ',' << members << ',' << start << ',' << end << ',' << cyc << ','
      << l.stall_token_cycles[0] << ',' << l.stall_token_cycles[1] << ',' << l.stall_token_cycles[2] << ','
      << l.macs << ',' << l.nfu_busy_cycles << ',' << utilization(l.macs, cyc, a) << ','
      << l.dram_read_bytes << ',' << l.dram_write_bytes << ','
      << gbps(l.dram_read_bytes + l.dram_write_bytes, cyc, a.clock_ghz) << ',' << bytes(0) << ','
      << bytes(1) << ',' << bytes(2) << ',' << energy_of_layer(a, l, 0).total() << '\n';
  }
}

void write_bandwidth_csv(const std::string& path, const RunReport& r) {
  const ArchParams& a = *r.arch;
  const hw::Stats& s = r.sim->stats;
  std::ofstream f(path);
  f << "cycle_start,cycle_end,dram_read_bytes,dram_write_bytes,read_GBps,write_GBps,utilization\n";
  const std::size_t n = std::max(s.bw_read.size(), s.bw_write.size());
  for (std::size_t i = 0; i < n; ++i) {
    const uint64_t rd = i < s.bw_read.size() ? s.bw_read[i] : 0, wr = i < s.bw_write.size() ? s.bw_write[i] : 0;
    const uint64_t c0 = i * s.bw_window, c1 = std::min<uint64_t>(c0 + s.bw_window, std::max(s.cycles, c0 + 1));
    const double rg = gbps(rd, c1 - c0, a.clock_ghz), wg = gbps(wr, c1 - c0, a.clock_ghz);
    f << c0 << ',' << c1 << ',' << rd << ',' << wr << ',' << rg << ',' << wg << ','
      << (rg + wg) / a.dram_bandwidth_gbps << '\n';
  }
}

}  // namespace

void write_reports(const std::string& dir, const RunReport& r) {
  std::filesystem::create_directories(dir);
  write_report_json(dir + "/report.json", r);
  write_layers_csv(dir + "/layers.csv", r);
  write_bandwidth_csv(dir + "/bandwidth.csv", r);
}

}  // namespace fusesim
