// Parsing and validation of the architecture YAML.
#include "arch_params.h"

#include <cmath>

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

struct Reader {
  const std::string& file;

  double positive(const YAML::Node& m, const std::string& path, const char* key, double def) {
    if (!m[key]) return def;
    double v = as_double(file, m[key], join(path, key));
    if (!(v > 0)) fail(file, m[key], join(path, key), "must be > 0");
    return v;
  }
  double non_negative(const YAML::Node& m, const std::string& path, const char* key, double def) {
    if (!m[key]) return def;
    double v = as_double(file, m[key], join(path, key));
    if (v < 0) fail(file, m[key], join(path, key), "must be >= 0");
    return v;
  }
  uint32_t count(const YAML::Node& m, const std::string& path, const char* key, uint32_t def,
                 int64_t lo, int64_t hi) {
    if (!m[key]) return def;
    int64_t v = as_int(file, m[key], join(path, key));
    if (v < lo || v > hi)
      fail(file, m[key], join(path, key),
           "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
    return static_cast<uint32_t>(v);
  }

  BufferParams buffer(const YAML::Node& m, const std::string& path, BufferParams def) {
    if (!m) return def;
    expect_keys(file, m, path, {"bytes", "banks", "port_bytes"});
    BufferParams b = def;
    if (m["bytes"]) {
      b.bytes = as_size(file, m["bytes"], join(path, "bytes"));
      // Buffer addresses are 22-bit byte addresses in the ISA.
      if (b.bytes < 64 || b.bytes > (4u << 20))
        fail(file, m["bytes"], join(path, "bytes"), "must be between 64B and 4MiB");
    }
    b.banks = count(m, path, "banks", b.banks, 1, 1024);
    b.port_bytes = count(m, path, "port_bytes", b.port_bytes, 1, 1 << 20);
    return b;
  }
};

}  // namespace

ArchParams load_arch(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& overrides) {
  YAML::Node root = load_file(path);
  for (const auto& [k, v] : overrides) apply_override(root, k, v, "override " + k + "=" + v, /*allow_new=*/true);
  Reader r{path};
  ArchParams a;
  a.source = path;
  expect_keys(path, root, "", {"name", "clock_ghz", "nfu", "buffers", "dma", "dram", "controller", "energy"});
  a.name = root["name"] ? as_string(path, root["name"], "name") : path;
  a.clock_ghz = r.positive(root, "", "clock_ghz", a.clock_ghz);

  if (auto n = root["nfu"]) {
    expect_keys(path, n, "nfu", {"tn", "stages"});
    a.tn = r.count(n, "nfu", "tn", a.tn, 1, 256);
    a.nfu_stages = r.count(n, "nfu", "stages", a.nfu_stages, 1, 64);
  }
  // Port defaults follow DianNao: NBin and NBout move Tn neurons a cycle, SB Tn x Tn synapses.
  a.nbin = {2048, 1, a.tn * 2};
  a.nbout = {2048, 1, a.tn * 4};
  a.sb = {32768, 1, a.tn * a.tn * 2};
  if (auto b = root["buffers"]) {
    expect_keys(path, b, "buffers", {"nbin", "nbout", "sb"});
    a.nbin = r.buffer(b["nbin"], "buffers.nbin", a.nbin);
    a.nbout = r.buffer(b["nbout"], "buffers.nbout", a.nbout);
    a.sb = r.buffer(b["sb"], "buffers.sb", a.sb);
  }
  if (auto d = root["dma"]) {
    expect_keys(path, d, "dma", {"burst_bytes", "outstanding", "setup_cycles"});
    a.dma_burst_bytes = r.count(d, "dma", "burst_bytes", a.dma_burst_bytes, 4, 1 << 16);
    a.dma_outstanding = r.count(d, "dma", "outstanding", a.dma_outstanding, 1, 1024);
    a.dma_setup_cycles = r.count(d, "dma", "setup_cycles", a.dma_setup_cycles, 0, 1 << 16);
  }
  if (auto d = root["dram"]) {
    expect_keys(path, d, "dram", {"bandwidth_gbps", "latency_ns", "banks", "row_bytes", "row_policy",
                                  "row_miss_ns", "bytes"});
    a.dram_bandwidth_gbps = r.positive(d, "dram", "bandwidth_gbps", a.dram_bandwidth_gbps);
    a.dram_latency_ns = r.non_negative(d, "dram", "latency_ns", a.dram_latency_ns);
    a.dram_banks = r.count(d, "dram", "banks", a.dram_banks, 1, 1024);
    a.dram_row_bytes = r.count(d, "dram", "row_bytes", a.dram_row_bytes, 64, 1 << 20);
    a.dram_row_miss_ns = r.non_negative(d, "dram", "row_miss_ns", a.dram_row_miss_ns);
    if (d["row_policy"]) {
      std::string p = as_string(path, d["row_policy"], "dram.row_policy");
      if (p != "open" && p != "closed") fail(path, d["row_policy"], "dram.row_policy", "must be open or closed");
      a.dram_open_page = p == "open";
    }
    if (d["bytes"]) {
      a.dram_bytes = as_size(path, d["bytes"], "dram.bytes");
      if (a.dram_bytes < (1u << 20) || a.dram_bytes > (1ull << 32))
        fail(path, d["bytes"], "dram.bytes", "must be between 1MiB and 4GiB (32-bit DRAM addresses)");
    }
  }
  if (auto c = root["controller"]) {
    expect_keys(path, c, "controller", {"queue_depth", "fetch_words"});
    a.queue_depth = r.count(c, "controller", "queue_depth", a.queue_depth, 1, 1 << 16);
    a.fetch_words = r.count(c, "controller", "fetch_words", a.fetch_words, 1, 1 << 16);
  }
  if (auto e = root["energy"]) {
    expect_keys(path, e, "energy", {"mac_pj", "nbin_byte_pj", "nbout_byte_pj", "sb_byte_pj",
                                    "dram_byte_pj", "static_mw"});
    auto& en = a.energy;
    en.mac_pj = r.non_negative(e, "energy", "mac_pj", en.mac_pj);
    en.nbin_byte_pj = r.non_negative(e, "energy", "nbin_byte_pj", en.nbin_byte_pj);
    en.nbout_byte_pj = r.non_negative(e, "energy", "nbout_byte_pj", en.nbout_byte_pj);
    en.sb_byte_pj = r.non_negative(e, "energy", "sb_byte_pj", en.sb_byte_pj);
    en.dram_byte_pj = r.non_negative(e, "energy", "dram_byte_pj", en.dram_byte_pj);
    en.static_mw = r.non_negative(e, "energy", "static_mw", en.static_mw);
  }
  return a;
}

}  // namespace fusesim
