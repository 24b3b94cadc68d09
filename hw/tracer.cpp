// VCD recording and writing. Values are kept per signal; a change is stored only when a value
// differs, and several changes of one signal in the same cycle collapse into the last one (a
// unit that finishes and starts again in one cycle stays busy, with no zero-width glitch).
#include "tracer.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <limits>

#include "isa/errors.h"
#include "run_context.h"

namespace fusesim::hw {

namespace {

constexpr uint32_t kDead = kNumTraceSigs;  // a change undone within its cycle
constexpr size_t kNone = std::numeric_limits<size_t>::max();

uint64_t real_bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

double real_value(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// VCD identifier codes: printable ASCII from '!' (33) to '~' (126).
std::string vcd_id(uint32_t sig) {
  std::string id;
  do {
    id += static_cast<char>('!' + sig % 94);
    sig /= 94;
  } while (sig);
  return id;
}

void append_value(std::string& out, const TraceSignal& s, uint64_t v, const std::string& id) {
  char buf[80];
  if (s.width == 0) {
    std::snprintf(buf, sizeof buf, "r%.9g ", real_value(v));
    out += buf;
  } else if (s.width == 1) {
    out += v ? '1' : '0';
  } else {
    char* p = buf + sizeof buf;
    *--p = ' ';
    do {
      *--p = static_cast<char>('0' + (v & 1));
      v >>= 1;
    } while (v);
    *--p = 'b';
    out.append(p, static_cast<size_t>(buf + sizeof buf - p));
  }
  out += id;
  out += '\n';
}

}  // namespace

const std::array<TraceSignal, kNumTraceSigs>& trace_signals() {
  static const std::array<TraceSignal, kNumTraceSigs> kSignals = {{
      {"busy_load", 1, "Units", "load DMA executing a LOAD"},
      {"busy_compute", 1, "Units", "NFU executing a COMPUTE"},
      {"busy_store", 1, "Units", "store DMA executing a STORE"},
      {"queue_load", 16, "Queues", "instructions waiting in the load queue (incl. the one at the head)"},
      {"queue_compute", 16, "Queues", "instructions waiting in the compute queue"},
      {"queue_store", 16, "Queues", "instructions waiting in the store queue"},
      {"pc", 32, "Program counters", "index of the instruction the controller last dispatched"},
      {"pc_load", 32, "Program counters", "index of the LOAD running (or last run) on the load DMA"},
      {"pc_compute", 32, "Program counters", "index of the COMPUTE running (or last run) on the NFU"},
      {"pc_store", 32, "Program counters", "index of the STORE running (or last run) on the store DMA"},
      {"load_layer", 16, "Layers", "layer/group index (Instr::layer) of the load DMA's instruction"},
      {"nfu_layer", 16, "Layers", "layer/group index of the NFU's instruction"},
      {"store_layer", 16, "Layers", "layer/group index of the store DMA's instruction"},
      {"nbin_bytes", 32, "Buffer occupancy", "NBin bytes held by in-flight instructions"},
      {"sb_bytes", 32, "Buffer occupancy", "SB bytes held by in-flight instructions"},
      {"nbout_bytes", 32, "Buffer occupancy", "NBout bytes held by in-flight instructions"},
      {"tokens_load_to_compute", 32, "Tokens", "tokens sent by load, not yet taken by compute"},
      {"tokens_compute_to_load", 32, "Tokens", "tokens sent by compute, not yet taken by load"},
      {"tokens_compute_to_store", 32, "Tokens", "tokens sent by compute, not yet taken by store"},
      {"tokens_store_to_compute", 32, "Tokens", "tokens sent by store, not yet taken by compute"},
      {"dram_read_bytes", 64, "DRAM", "DRAM bytes read in the current bandwidth window"},
      {"dram_write_bytes", 64, "DRAM", "DRAM bytes written in the current bandwidth window"},
      {"dram_read_gbps", 0, "DRAM", "DRAM read bandwidth of the current window (GB/s)"},
      {"dram_write_gbps", 0, "DRAM", "DRAM write bandwidth of the current window (GB/s)"},
  }};
  return kSignals;
}

Tracer::Tracer(RunContext& ctx, const std::string& vcd_path, uint64_t from_cycle, uint64_t to_cycle)
    : ctx_(ctx), path_(vcd_path), file_(std::fopen(vcd_path.c_str(), "w")), from_(from_cycle), to_(to_cycle) {
  if (!file_) throw InputError(vcd_path + ": cannot write the VCD trace");
  last_.fill(kNone);
  ctx.on_finish([this](uint64_t end) { write(end - std::min(end, ctx_.start_cycle()), ctx_.stats()); });
}

Tracer::~Tracer() {
  // A run that never finished still leaves a readable file with what happened.
  if (!written_) write(ctx_.elapsed(), ctx_.stats());
  std::fclose(file_);
}

void Tracer::set(uint32_t sig, uint64_t v) {
  if (value_[sig] == v) return;
  const uint64_t now = ctx_.now() - std::min(ctx_.now(), ctx_.start_cycle());
  if (now < from_) initial_[sig] = v;
  if (now < from_ || now > to_ || written_) {
    value_[sig] = v;
    return;
  }
  size_t& last = last_[sig];
  if (last != kNone && changes_[last].cycle == now) {
    if (v == before_[sig]) {  // back to the value before this cycle: no change at all
      changes_[last].sig = kDead;
      last = kNone;
    } else {
      changes_[last].value = v;
    }
  } else {
    before_[sig] = value_[sig];
    last = changes_.size();
    changes_.push_back({now, v, sig});
  }
  value_[sig] = v;
}

void Tracer::dispatched(int unit, uint32_t index, uint32_t depth) {
  set(kSigPcFetch, index);
  set(kSigQueueLoad + static_cast<uint32_t>(unit), depth);
}

void Tracer::started(int unit, uint32_t index, uint32_t layer, uint32_t depth) {
  const auto u = static_cast<uint32_t>(unit);
  set(kSigBusyLoad + u, 1);
  set(kSigQueueLoad + u, depth);
  set(kSigPcLoad + u, index);
  set(kSigLayerLoad + u, layer);
}

void Tracer::finished(int unit) {
  set(kSigBusyLoad + static_cast<uint32_t>(unit), 0);
  std::array<bool, 3> held{};
  for (const Region& r : regions_[unit]) held[r.buffer] = true;
  regions_[unit].clear();
  for (int b = 0; b < 3; ++b)
    if (held[b]) occupancy(b);
}

void Tracer::touch(int unit, int buffer, uint64_t addr, uint64_t bytes) {
  if (bytes == 0 || buffer < 0 || buffer > 2) return;
  regions_[unit].push_back({buffer, addr, addr + bytes});
  occupancy(buffer);
}

void Tracer::tokens(int channel, uint64_t count) {
  set(kSigTokLoadToCompute + static_cast<uint32_t>(channel), count);
}

// Bytes of the union of the in-flight regions in `buffer` (at most a few regions per unit).
void Tracer::occupancy(int buffer) {
  Region rs[16];
  size_t n = 0;
  for (const auto& unit : regions_)
    for (const Region& r : unit)
      if (r.buffer == buffer && n < std::size(rs)) rs[n++] = r;
  std::sort(rs, rs + n, [](const Region& a, const Region& b) { return a.begin < b.begin; });
  uint64_t bytes = 0, covered = 0;  // covered: end of the union so far
  for (size_t i = 0; i < n; ++i) {
    const uint64_t begin = std::max(rs[i].begin, covered);
    if (rs[i].end > begin) bytes += rs[i].end - begin;
    covered = std::max(covered, rs[i].end);
  }
  set(kSigNBin + static_cast<uint32_t>(buffer), bytes);
}

void Tracer::write(uint64_t end_cycle, const Stats& stats) {
  if (written_) return;
  written_ = true;
  const auto& sigs = trace_signals();
  const uint64_t period_ps = ctx_.period().value();
  const double clock_ghz = ctx_.arch().clock_ghz;

  // DRAM bandwidth per window, as changes at the window boundaries.
  std::vector<Change> bw;
  const uint64_t window = std::max<uint64_t>(1, stats.bw_window);
  std::array<uint64_t, 4> bw_value{}, bw_initial{};
  auto bw_set = [&](uint64_t cycle, uint32_t k, uint64_t v) {
    if (bw_value[k] == v) return;
    bw_value[k] = v;
    if (cycle < from_)
      bw_initial[k] = v;
    else if (cycle <= to_)
      bw.push_back({cycle, v, kSigDramReadBytes + k});
  };
  const size_t windows = std::max(stats.bw_read.size(), stats.bw_write.size());
  for (size_t w = 0; w < windows; ++w) {
    const uint64_t c0 = w * window, c1 = std::min(c0 + window, std::max(end_cycle, c0 + 1));
    const uint64_t rd = w < stats.bw_read.size() ? stats.bw_read[w] : 0;
    const uint64_t wr = w < stats.bw_write.size() ? stats.bw_write[w] : 0;
    bw_set(c0, 0, rd);
    bw_set(c0, 1, wr);
    bw_set(c0, 2, real_bits(static_cast<double>(rd) * clock_ghz / static_cast<double>(c1 - c0)));
    bw_set(c0, 3, real_bits(static_cast<double>(wr) * clock_ghz / static_cast<double>(c1 - c0)));
  }
  for (uint32_t k = 0; k < 4; ++k) initial_[kSigDramReadBytes + k] = bw_initial[k];

  // Both sequences are in time order (units record at the current simulated time).
  std::vector<Change> all;
  all.reserve(changes_.size() + bw.size());
  std::merge(changes_.begin(), changes_.end(), bw.begin(), bw.end(), std::back_inserter(all),
             [](const Change& a, const Change& b) { return a.cycle < b.cycle; });

  std::vector<std::string> ids(kNumTraceSigs);
  for (uint32_t s = 0; s < kNumTraceSigs; ++s) ids[s] = vcd_id(s);
  std::string out;
  out.reserve(1 << 20);
  out += "$comment fusesim accelerator trace; time 0 = CTRL.start, one cycle = " + std::to_string(period_ps) +
         " ps $end\n$timescale 1ps $end\n$scope module " + kTraceScope + " $end\n";
  for (uint32_t s = 0; s < kNumTraceSigs; ++s) {
    const TraceSignal& t = sigs[s];
    if (t.width == 0)
      out += "$var real 64 " + ids[s] + " " + t.name + " $end\n";
    else if (t.width == 1)
      out += "$var wire 1 " + ids[s] + " " + t.name + " $end\n";
    else
      out += "$var wire " + std::to_string(t.width) + " " + ids[s] + " " + t.name + " [" +
             std::to_string(t.width - 1) + ":0] $end\n";
  }
  out += "$upscope $end\n$enddefinitions $end\n";
  const uint64_t first = std::min(from_, end_cycle);
  out += "#" + std::to_string(first * period_ps) + "\n$dumpvars\n";
  for (uint32_t s = 0; s < kNumTraceSigs; ++s) append_value(out, sigs[s], initial_[s], ids[s]);
  out += "$end\n";
  uint64_t stamp = first;
  for (const Change& c : all) {
    if (c.sig == kDead) continue;
    if (c.cycle != stamp) {
      stamp = c.cycle;
      out += '#';
      out += std::to_string(stamp * period_ps);
      out += '\n';
    }
    append_value(out, sigs[c.sig], c.value, ids[c.sig]);
    if (out.size() > (1u << 20) - 256) {
      std::fwrite(out.data(), 1, out.size(), file_);
      out.clear();
    }
  }
  const uint64_t last = std::min(end_cycle, to_);
  if (last > stamp) out += "#" + std::to_string(last * period_ps) + "\n";
  std::fwrite(out.data(), 1, out.size(), file_);
  std::fflush(file_);
  changes_.clear();
  changes_.shrink_to_fit();
}

}  // namespace fusesim::hw
