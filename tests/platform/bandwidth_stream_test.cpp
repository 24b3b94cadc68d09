// The DRAM bandwidth series handed over while the run goes on (hw::BandwidthSink): in order, in
// batches of at least kBatch whole windows, each window final when handed over (the same bytes
// as the run's own series at the end), and the last windows left to the end; and the
// bandwidth.csv stream that takes them (platform/report.h). One simulation per process (as
// SystemC allows): gtest_discover_tests runs each test on its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "hw/accelerator.h"
#include "isa/arch_params.h"
#include "platform/report.h"
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

// The file the stream writes: bandwidth.csv.partial while the run goes on, renamed by finish();
// removed when the run is abandoned (the stream is destroyed unfinished).
TEST(BandwidthCsvStream, RenamedWhenFinishedRemovedWhenAbandoned) {
  const ArchParams arch = load_arch(std::string(FUSESIM_SOURCE_DIR) + "/configs/arch/diannao.yaml");
  const std::string dir = ::testing::TempDir() + "bw_stream_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<uint64_t> rd(5, 1000), wr(5, 0);
  {
    BandwidthCsvStream s(dir, arch, 1000);
    s.windows(0, rd.data(), wr.data(), rd.size());
    EXPECT_TRUE(std::filesystem::exists(dir + "/bandwidth.csv.partial"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/bandwidth.csv.partial"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/bandwidth.csv"));
  {
    BandwidthCsvStream s(dir, arch, 1000);
    s.windows(0, rd.data(), wr.data(), rd.size());
    s.windows(5, rd.data(), wr.data(), 2);
    EXPECT_EQ(s.finish(), 7u);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/bandwidth.csv.partial"));
  std::ifstream f(dir + "/bandwidth.csv");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(f, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 8u);  // the header and 7 windows
  EXPECT_EQ(lines[0].rfind("cycle_start,cycle_end,", 0), 0u);
  // 1000 bytes in 1000 cycles at 0.98 GHz: 0.98 GB/s read, nothing written.
  EXPECT_EQ(lines[1].rfind("0,1000,1000,0,0.98,0,", 0), 0u) << lines[1];
  EXPECT_EQ(lines[7].rfind("6000,7000,1000,0,", 0), 0u) << lines[7];
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fusesim
