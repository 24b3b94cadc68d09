// The DRAM bandwidth series handed over while the run goes on (hw::BandwidthSink): in order, in
// batches of at least kBatch whole windows, each window final when handed over (the same bytes
// as the run's own series at the end), and the last windows left to the end. One simulation per
// process (as SystemC allows): gtest_discover_tests runs each test on its own.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "hw/accelerator.h"
#include "isa/arch_params.h"
#include "platform/simulation.h"

namespace fusesim {
namespace {

struct Recorder : hw::BandwidthSink {
  std::vector<uint64_t> read, written;
  std::vector<uint64_t> batch_sizes;
  bool contiguous = true;
  void windows(uint64_t first, const uint64_t* rd, const uint64_t* wr, uint64_t n) override {
    contiguous = contiguous && first == read.size();
    read.insert(read.end(), rd, rd + n);
    written.insert(written.end(), wr, wr + n);
    batch_sizes.push_back(n);
  }
};

TEST(BandwidthSink, GetsEveryFinalWindowOnceInOrder) {
  const ArchParams arch = load_arch(std::string(FUSESIM_SOURCE_DIR) + "/configs/arch/diannao.yaml");
  compiler::Graph g = compiler::load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/alexnet.yaml");
  compiler::CompileOptions copt;
  copt.materialize = false;
  const compiler::Program p = compiler::compile(g, arch, copt);
  Recorder rec;
  SimOptions opt;
  opt.functional = false;
  opt.bw_window = 100;  // alexnet's ~20 M cycles: ~200 k windows, dozens of batches
  opt.bw_sink = &rec;
  const SimResult r = simulate(arch, p, {}, opt);
  ASSERT_TRUE(r.finished) << r.fault;
  const hw::Stats& s = r.stats;
  ASSERT_GE(rec.batch_sizes.size(), 10u);
  EXPECT_TRUE(rec.contiguous);
  for (uint64_t n : rec.batch_sizes) EXPECT_GE(n, hw::BandwidthSink::kBatch);
  // Only whole windows that ended before the run did, and nothing counted into them afterwards.
  ASSERT_LT(rec.read.size(), s.cycles / opt.bw_window + 1);
  ASSERT_LE(rec.read.size(), s.bw_read.size());
  for (size_t i = 0; i < rec.read.size(); ++i) {
    ASSERT_EQ(rec.read[i], s.bw_read[i]) << "window " << i;
    ASSERT_EQ(rec.written[i], s.bw_write[i]) << "window " << i;
  }
  uint64_t handed = 0;
  for (size_t i = 0; i < rec.read.size(); ++i) handed += rec.read[i] + rec.written[i];
  EXPECT_GT(handed, (s.dram_read_bytes + s.dram_write_bytes) / 2);  // most of the run's traffic
}

}  // namespace
}  // namespace fusesim
