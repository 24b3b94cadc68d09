// simulate() fed by a WordStream (a program still being generated): the run is the one of the
// whole program, and a generation that fails while the program runs stops the run with a
// `program` fault instead of hanging or running stale words. One simulation per process (as
// SystemC allows): gtest_discover_tests runs each test on its own.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "compiler/compiler.h"
#include "isa/arch_params.h"
#include "platform/simulation.h"

namespace fusesim {
namespace {

struct Fixture {
  ArchParams arch = load_arch(std::string(FUSESIM_SOURCE_DIR) + "/configs/arch/diannao.yaml");
  compiler::Program whole;
  Fixture() {
    compiler::Graph g = compiler::load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/alexnet.yaml");
    compiler::CompileOptions opt;
    opt.materialize = false;
    whole = compiler::compile(g, arch, opt);
  }
  // The layout of `whole` and room for its words, pinned as codegen pins them.
  compiler::Program empty_copy() const {
    compiler::Program p;
    p.dtype = whole.dtype;
    p.batch = whole.batch;
    p.prog_addr = whole.prog_addr;
    p.input = whole.input;
    p.outputs = whole.outputs;
    p.instrs.reserve(whole.instrs.size());
    p.instrs.pin();
    return p;
  }
};

// A row of tests/golden/golden.csv (the checked-in figures of the whole program's runs), by column.
std::map<std::string, std::string> golden_row(const std::string& name) {
  std::ifstream in(std::string(FUSESIM_SOURCE_DIR) + "/tests/golden/golden.csv");
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    if (cells.empty() || cells[0] != name) continue;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    return row;
  }
  return {};
}

SimOptions timing() {
  SimOptions o;
  o.functional = false;
  return o;
}

// The words arrive in uneven pieces with pauses, as codegen's flushes hand them over; the run's
// cycles and DRAM traffic are the whole program's (alexnet: its cycles are checked elsewhere).
TEST(StreamedRun, SameCyclesAsTheWholeProgram) {
  const Fixture f;
  compiler::Program p = f.empty_copy();
  compiler::WordStream stream;
  stream.begin();
  std::thread producer([&] {
    const std::size_t n = f.whole.instrs.size();
    for (std::size_t i = 0; i < n; ++i) {
      p.instrs.push_back(f.whole.instrs[i]);
      if (i % 997 == 0) {
        stream.publish(i + 1);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    stream.complete(n);
  });
  const SimResult r = simulate(f.arch, p, {}, timing(), &stream);
  producer.join();
  ASSERT_TRUE(r.finished) << r.fault;
  // The reference: the same program placed whole. A second simulation cannot run in this
  // process, so its figures are the checked-in golden ones (`fusesim run`, alexnet on diannao).
  const auto g = golden_row("alexnet.diannao.timing.none");
  ASSERT_FALSE(g.empty());
  EXPECT_EQ(std::to_string(r.stats.cycles), g.at("cycles"));
  EXPECT_EQ(std::to_string(r.stats.dram_read_bytes), g.at("dram_read_bytes"));
  EXPECT_EQ(std::to_string(r.stats.dram_write_bytes), g.at("dram_write_bytes"));
  EXPECT_EQ(std::to_string(r.stats.fetch_bytes), g.at("dram_fetch_bytes"));
  EXPECT_EQ(std::to_string(r.stats.dram_row_hits), g.at("dram_row_hits"));
  EXPECT_EQ(std::to_string(r.stats.dram_row_misses), g.at("dram_row_misses"));
  EXPECT_EQ(r.stats.fetch_bytes, f.whole.instrs.size() * isa::kInstrBytes);
}

TEST(StreamedRun, AGenerationThatFailsStopsTheRun) {
  const Fixture f;
  compiler::Program p = f.empty_copy();
  compiler::WordStream stream;
  stream.begin();
  const std::size_t half = f.whole.instrs.size() / 2;
  for (std::size_t i = 0; i < half; ++i) p.instrs.push_back(f.whole.instrs[i]);
  stream.publish(half);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stream.fail();
  });
  const SimResult r = simulate(f.arch, p, {}, timing(), &stream);
  producer.join();
  EXPECT_FALSE(r.finished);
  EXPECT_NE(r.fault.find("fault program"), std::string::npos) << r.fault;
  EXPECT_NE(r.fault.find("generation failed"), std::string::npos) << r.fault;
}

}  // namespace
}  // namespace fusesim
