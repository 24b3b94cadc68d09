// Parsing and validation of the architecture YAML.
#include "arch_params.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "numerics.h"
#include "yaml_util.h"

namespace fusesim {

using namespace yamlu;

uint64_t ArchParams::dram_latency_cycles() const {
  return static_cast<uint64_t>(std::ceil(dram_latency_ns * clock_ghz - 1e-9));
}
uint64_t ArchParams::dram_row_miss_cycles() const {
  return static_cast<uint64_t>(std::ceil(dram_row_miss_ns * clock_ghz - 1e-9));
}

namespace {

// Physical ranges (documented in configs/arch/diannao.yaml). The clock bounds keep the period a
// whole number of picoseconds (>= 10 ps) and cycle counts of any run inside 64 bits.
constexpr double kMinClockGhz = 0.01, kMaxClockGhz = 100;
constexpr double kMaxEnergy = 1e9;  // pJ per access, or mW of static power

struct Reader {
  const std::string& path;
  // Overridden key paths and where their values came from ("override arch.K=V").
  const std::vector<std::pair<std::string, std::string>>& sets;

  // Where the value at `key_path` came from: the override that set it or one of its parents,
  // else the file (override values carry no line:col of their own).
  const std::string& src(const std::string& key_path) const {
    for (auto it = sets.rbegin(); it != sets.rend(); ++it)
      if (key_path == it->first || key_path.rfind(it->first + ".", 0) == 0) return it->second;
    return path;
  }

  // A real number in [lo, hi]; NaN and infinities are out of every range.
  double real(const YAML::Node& m, const std::string& where, const char* key, double def, double lo,
              double hi) {
    if (!m[key]) return def;
    double v = as_double(src(join(where, key)), m[key], join(where, key));
    if (!(v >= lo && v <= hi))
      fail(src(join(where, key)), m[key], join(where, key),
           "must be in [" + num(lo) + ", " + num(hi) + "], got " + m[key].Scalar());
    return v;
  }
  static std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }
  uint32_t count(const YAML::Node& m, const std::string& where, const char* key, uint32_t def, int64_t lo,
                 int64_t hi) {
    if (!m[key]) return def;
    int64_t v = as_int(src(join(where, key)), m[key], join(where, key));
    if (v < lo || v > hi)
      fail(src(join(where, key)), m[key], join(where, key),
           "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
    return static_cast<uint32_t>(v);
  }

  BufferParams buffer(const YAML::Node& m, const std::string& where, BufferParams def) {
    if (!m) return def;
    keys(m, where, {"bytes", "banks", "port_bytes"});
    BufferParams b = def;
    if (m["bytes"]) {
      const std::string kp = join(where, "bytes");
      b.bytes = as_size(src(kp), m["bytes"], kp);
      // Buffer addresses are 22-bit byte addresses in the ISA.
      if (b.bytes < 64 || b.bytes > (4u << 20)) fail(src(kp), m["bytes"], kp, "must be between 64B and 4MiB");
    }
    b.banks = count(m, where, "banks", b.banks, 1, 1024);
    b.port_bytes = count(m, where, "port_bytes", b.port_bytes, 1, 1 << 20);
    return b;
  }
  // The override that set `key_path`, a parent of it or a key below it (`--set arch.model.x=1`
  // adds the unknown key `model`), else the file.
  const std::string& added_by(const std::string& key_path) const {
    for (auto it = sets.rbegin(); it != sets.rend(); ++it)
      if (it->first.rfind(key_path + ".", 0) == 0) return it->second;
    return src(key_path);
  }
  // Unknown keys, named by the override that added them when one did.
  void keys(const YAML::Node& m, const std::string& where, const std::vector<std::string>& allowed) const {
    for (auto it = m.begin(); m.IsMap() && it != m.end(); ++it) {
      const std::string& origin = added_by(join(where, it->first.Scalar()));
      if (&origin != &path && std::find(allowed.begin(), allowed.end(), it->first.Scalar()) == allowed.end())
        expect_keys(origin, m, where, allowed);
    }
    expect_keys(src(where), m, where, allowed);
  }
};

}  // namespace

ArchParams load_arch(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& overrides) {
  YAML::Node root = load_file(path);
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& [k, v] : overrides) {
    sets.emplace_back(k, "override arch." + k + "=" + v);
    apply_override(root, k, v, sets.back().second, /*allow_new=*/true);
  }
  Reader r{path, sets};
  ArchParams a;
  a.source = path;
  r.keys(root, "", {"name", "clock_ghz", "nfu", "buffers", "dma", "dram", "controller", "energy"});
  a.name = root["name"] ? as_string(r.src("name"), root["name"], "name") : path;
  a.clock_ghz = r.real(root, "", "clock_ghz", a.clock_ghz, kMinClockGhz, kMaxClockGhz);

  if (auto n = root["nfu"]) {
    r.keys(n, "nfu", {"tn", "stages", "pwl_segments"});
    a.tn = r.count(n, "nfu", "tn", a.tn, 1, 256);
    a.nfu_stages = r.count(n, "nfu", "stages", a.nfu_stages, 1, 64);
    a.nfu_pwl_segments = r.count(n, "nfu", "pwl_segments", a.nfu_pwl_segments, 1, numerics::kMaxPwlSegments);
  }
  // Port defaults follow DianNao: NBin and NBout move Tn neurons a cycle, SB Tn x Tn synapses.
  a.nbin = {2048, 1, a.tn * 2};
  a.nbout = {2048, 1, a.tn * 4};
  a.sb = {32768, 1, a.tn * a.tn * 2};
  if (auto b = root["buffers"]) {
    r.keys(b, "buffers", {"nbin", "nbout", "sb"});
    a.nbin = r.buffer(b["nbin"], "buffers.nbin", a.nbin);
    a.nbout = r.buffer(b["nbout"], "buffers.nbout", a.nbout);
    a.sb = r.buffer(b["sb"], "buffers.sb", a.sb);
  }
  if (auto d = root["dma"]) {
    r.keys(d, "dma", {"burst_bytes", "outstanding", "setup_cycles"});
    a.dma_burst_bytes = r.count(d, "dma", "burst_bytes", a.dma_burst_bytes, 4, 1 << 16);
    a.dma_outstanding = r.count(d, "dma", "outstanding", a.dma_outstanding, 1, 1024);
    a.dma_setup_cycles = r.count(d, "dma", "setup_cycles", a.dma_setup_cycles, 0, 1 << 16);
  }
  if (auto d = root["dram"]) {
    r.keys(d, "dram",
           {"bandwidth_gbps", "latency_ns", "banks", "row_bytes", "row_policy", "row_miss_ns", "bytes"});
    a.dram_bandwidth_gbps = r.real(d, "dram", "bandwidth_gbps", a.dram_bandwidth_gbps, 0.001, 100000);
    a.dram_latency_ns = r.real(d, "dram", "latency_ns", a.dram_latency_ns, 0, 10000);
    a.dram_banks = r.count(d, "dram", "banks", a.dram_banks, 1, 1024);
    a.dram_row_bytes = r.count(d, "dram", "row_bytes", a.dram_row_bytes, 64, 1 << 20);
    a.dram_row_miss_ns = r.real(d, "dram", "row_miss_ns", a.dram_row_miss_ns, 0, 1000);
    if (d["row_policy"]) {
      std::string p = as_string(r.src("dram.row_policy"), d["row_policy"], "dram.row_policy");
      if (p != "open" && p != "closed")
        fail(r.src("dram.row_policy"), d["row_policy"], "dram.row_policy", "must be open or closed");
      a.dram_open_page = p == "open";
    }
    if (d["bytes"]) {
      a.dram_bytes = as_size(r.src("dram.bytes"), d["bytes"], "dram.bytes");
      if (a.dram_bytes < (1u << 20) || a.dram_bytes > (1ull << 32))
        fail(r.src("dram.bytes"), d["bytes"], "dram.bytes",
             "must be between 1MiB and 4GiB (32-bit DRAM addresses)");
    }
  }
  if (auto c = root["controller"]) {
    r.keys(c, "controller", {"queue_depth", "fetch_words"});
    a.queue_depth = r.count(c, "controller", "queue_depth", a.queue_depth, 1, 1 << 16);
    a.fetch_words = r.count(c, "controller", "fetch_words", a.fetch_words, 1, 1 << 16);
  }
  if (auto e = root["energy"]) {
    r.keys(e, "energy",
           {"mac_pj", "nbin_byte_pj", "nbout_byte_pj", "sb_byte_pj", "dram_byte_pj", "static_mw"});
    auto& en = a.energy;
    en.mac_pj = r.real(e, "energy", "mac_pj", en.mac_pj, 0, kMaxEnergy);
    en.nbin_byte_pj = r.real(e, "energy", "nbin_byte_pj", en.nbin_byte_pj, 0, kMaxEnergy);
    en.nbout_byte_pj = r.real(e, "energy", "nbout_byte_pj", en.nbout_byte_pj, 0, kMaxEnergy);
    en.sb_byte_pj = r.real(e, "energy", "sb_byte_pj", en.sb_byte_pj, 0, kMaxEnergy);
    en.dram_byte_pj = r.real(e, "energy", "dram_byte_pj", en.dram_byte_pj, 0, kMaxEnergy);
    en.static_mw = r.real(e, "energy", "static_mw", en.static_mw, 0, kMaxEnergy);
  }
  return a;
}

}  // namespace fusesim
