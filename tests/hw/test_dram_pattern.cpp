// The DRAM model's shortcuts (patterns and run lists timed in one pass, the closed form of a
// saturated bus, rows replayed) against its
// reference mode, which times every burst on its own: thousands of random transfers on random
// architectures, bank and bus states must give identical cycles, state and statistics. And the
// DMA's regular patterns against the run lists they stand for.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "../support/sc_fixture.h"
#include "hw_harness.h"

namespace fusesim::testing {
namespace {

struct DramSide : sc_core::sc_module {
  hw::RunContext ctx;
  hw::DramModel dram;
  tlm_utils::simple_initiator_socket<DramSide> socket;  // unused; binds the target for sc_start
  hw::BurstWindow load, store;
  DramSide(sc_core::sc_module_name n, const ArchParams& a, uint64_t bw_window, bool reference)
      : sc_module(n),
        ctx(a, options(hw::Mode::Timing, bw_window, false)),
        dram("dram", ctx),
        socket("socket"),
        load(a.dma_outstanding),
        store(a.dma_outstanding) {
    socket.bind(dram.socket);
    dram.set_reference(reference);
  }
};

ArchParams random_arch(std::mt19937_64& rng) {
  auto pick = [&](auto... v) {
    const std::vector<std::common_type_t<decltype(v)...>> xs{v...};
    return xs[rng() % xs.size()];
  };
  ArchParams a = round_arch();
  a.clock_ghz = pick(0.98, 1.0, 0.7, 1.3, 2.0);
  a.dram_bandwidth_gbps = pick(12.8, 16.0, 25.6, 7.0, 100.0);
  a.dram_latency_ns = pick(0.0, 10.0, 50.0, 50.0);
  a.dram_row_miss_ns = pick(0.0, 15.0, 15.0, 40.0);
  a.dram_banks = pick(1u, 2u, 8u, 8u, 16u);
  a.dram_row_bytes = pick(64u, 256u, 2048u, 2048u, 1000u);
  a.dram_open_page = rng() % 5 != 0;
  a.dma_burst_bytes = pick(16u, 32u, 64u, 64u, 48u, 4u);
  a.dma_outstanding = pick(1u, 4u, 16u, 16u, 3u);
  return a;
}

// Long runs only with long bursts, to keep the simulated time (and the bandwidth series) short.
hw::DramPattern random_pattern(std::mt19937_64& rng, uint64_t burst_bytes) {
  hw::DramPattern p;
  p.addr = rng() % (1u << 20);
  switch (rng() % 4) {  // mostly tile rows of a few bursts; sometimes rows spanning DRAM rows
    case 0:
      p.run_bytes = 1 + rng() % 8;
      break;
    case 1:
    case 2:
      p.run_bytes = 1 + rng() % 200;
      break;
    default:
      p.run_bytes = 1 + rng() % std::min<uint64_t>(9000, 150 * burst_bytes);
  }
  p.rows = 1 + rng() % 6;
  p.planes = 1 + rng() % 5;
  const uint64_t strides[] = {0, p.run_bytes, p.run_bytes + rng() % 300, 64 * (rng() % 40), rng() % 5000};
  p.row_stride = strides[rng() % 5];
  p.plane_stride = p.rows * p.row_stride + strides[rng() % 5];
  return p;
}

std::string describe(const hw::DramPattern& p) {
  std::ostringstream os;
  os << "pattern addr " << p.addr << " run " << p.run_bytes << " rows " << p.rows << "x" << p.row_stride
     << " planes " << p.planes << "x" << p.plane_stride;
  return os.str();
}

void expect_same(DramSide& ref, DramSide& fast, const std::string& what, bool with_bins) {
  EXPECT_TRUE(ref.dram.snapshot() == fast.dram.snapshot()) << what << ": bus or bank state";
  for (size_t i = 0; i < ref.load.size(); ++i) {
    EXPECT_EQ(ref.load.oldest(i), fast.load.oldest(i)) << what << ": load window " << i;
    EXPECT_EQ(ref.store.oldest(i), fast.store.oldest(i)) << what << ": store window " << i;
  }
  const hw::Stats &a = ref.ctx.stats(), &b = fast.ctx.stats();
  EXPECT_EQ(a.dram_row_hits, b.dram_row_hits) << what;
  EXPECT_EQ(a.dram_row_misses, b.dram_row_misses) << what;
  EXPECT_EQ(a.dram_read_bytes, b.dram_read_bytes) << what;
  EXPECT_EQ(a.dram_write_bytes, b.dram_write_bytes) << what;
  EXPECT_EQ(a.dram_runs, b.dram_runs) << what;
  if (!with_bins) return;  // the series are long: compared now and then and at the end
  EXPECT_EQ(a.bw_read, b.bw_read) << what;
  EXPECT_EQ(a.bw_write, b.bw_write) << what;
}

// Each trial: one random architecture and bandwidth window, a run started at a random time, then
// a random mix of pattern and run-list transfers on two engines' windows and plain requests (a fetch: no
// window; the host: uncounted) at issue cycles that move forward irregularly, so that windows,
// bus and banks are met in every state.
TEST(DramPattern, OnePassEqualsReferenceBurstByBurst) {
  std::mt19937_64 rng(13);
  uint64_t patterns = 0, runs = 0, lists = 0, late_starts = 0;
  for (int trial = 0; trial < 300; ++trial) {
    FreshKernel kernel;
    const ArchParams arch = random_arch(rng);
    const uint64_t bw_window = std::vector<uint64_t>{5, 64, 1000}[rng() % 3];
    DramSide ref("ref", arch, bw_window, true), fast("fast", arch, bw_window, false);
    sc_run(sc_core::sc_time(static_cast<double>(1 + rng() % 500), sc_core::SC_NS));
    ref.ctx.begin_run();
    fast.ctx.begin_run();
    uint64_t now = ref.ctx.now();
    late_starts += now > 0;
    for (int op = 0; op < 40 && !::testing::Test::HasFailure(); ++op) {
      // Issue cycles mostly move on, sometimes stay or fall before the run's start.
      const uint64_t step = std::vector<uint64_t>{0, 1, 10, 100, 1000, 5000}[rng() % 6];
      now += step;
      const uint64_t issue = rng() % 10 == 0 ? now - std::min<uint64_t>(now, rng() % 300) : now;
      const bool write = rng() % 3 == 0;
      const uint32_t burst = arch.dma_burst_bytes;
      std::ostringstream what;
      what << "trial " << trial << " op " << op << " issue " << issue;
      if (rng() % 5 == 0) {  // a run list of mixed lengths, as a map descriptor gives
        std::vector<hw::DramRun> list(1 + rng() % 30);
        uint64_t a = rng() % (1u << 20);
        for (hw::DramRun& r : list) {
          r = {a, rng() % 4 == 0 ? 1 + rng() % std::min<uint64_t>(9000, 150 * burst) : 1 + rng() % 100};
          a = rng() % 3 == 0 ? rng() % (1u << 20) : a + r.bytes + rng() % 3 * (rng() % 500);
        }
        const bool counted = rng() % 8 != 0;
        hw::BurstWindow& wr = write ? ref.store : ref.load;
        uint64_t want = issue;
        for (const hw::DramRun& r : list)
          want = std::max(want, ref.dram.schedule(r.addr, r.bytes, write, issue, burst, &wr, counted));
        const uint64_t got = fast.dram.schedule_runs(list.data(), list.size(), write, issue, burst,
                                                     write ? &fast.store : &fast.load, counted);
        EXPECT_EQ(want, got) << what.str() << " list of " << list.size();
        expect_same(ref, fast, what.str() + " list", op % 8 == 0);
        lists += 1;
      } else if (rng() % 4 != 0) {
        const hw::DramPattern p = random_pattern(rng, burst);
        const bool counted = rng() % 8 != 0;
        uint64_t want = issue;
        for (uint64_t k = 0; k < p.planes; ++k)
          for (uint64_t r = 0; r < p.rows; ++r)
            want = std::max(want, ref.dram.schedule(p.run_addr(k, r), p.run_bytes, write, issue, burst,
                                                    write ? &ref.store : &ref.load, counted));
        const uint64_t got =
            fast.dram.schedule_pattern(p, write, issue, burst, write ? &fast.store : &fast.load, counted);
        EXPECT_EQ(want, got) << what.str() << " " << describe(p);
        expect_same(ref, fast, what.str() + " " + describe(p), op % 8 == 0);
        patterns += 1;
        runs += p.runs();
      } else {
        const uint64_t addr = rng() % (1u << 20), len = 1 + rng() % 3000;
        const bool counted = rng() % 2 == 0;
        const uint64_t want = ref.dram.schedule(addr, len, write, issue, burst, nullptr, counted);
        const uint64_t got = fast.dram.schedule(addr, len, write, issue, burst, nullptr, counted);
        EXPECT_EQ(want, got) << what.str() << " plain " << addr << "+" << len;
        expect_same(ref, fast, what.str(), op % 8 == 0);
      }
    }
    expect_same(ref, fast, "trial " + std::to_string(trial) + " at its end", true);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(patterns, 6000u);
  EXPECT_GT(lists, 2000u);
  EXPECT_GT(runs, 60000u);
  EXPECT_GT(late_starts, 250u);  // bandwidth windows counted from a start past cycle 0
}

// Through TLM: a pattern request moves the same bytes as the run list it stands for, and one
// that leaves the DRAM stops at the same run with an address error, timed and counted alike.
struct Request {
  tlm::tlm_generic_payload payload;
  hw::DramRequest* ext = new hw::DramRequest;
  std::vector<uint8_t> data;
  Request(const hw::DramPattern& p, bool write, hw::BurstWindow& w) : data(p.runs() * p.run_bytes) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
    payload.set_extension(ext);
    payload.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    payload.set_address(p.addr);
    payload.set_data_ptr(data.data());
    payload.set_data_length(static_cast<unsigned>(data.size()));
    payload.set_streaming_width(static_cast<unsigned>(data.size()));
    ext->issue_cycle = 5;
    ext->window = &w;
  }
  void send(DramSide& side) {
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    side.socket->b_transport(payload, delay);
  }
};

TEST(DramPattern, TransportMovesDataAndStopsLikeRunList) {
  FreshKernel kernel;
  ArchParams arch = round_arch();
  arch.dram_bytes = 1 << 20;
  DramSide listed("listed", arch, 100, false), patterned("patterned", arch, 100, false);
  hw::DramPattern p;
  p.addr = 1000;
  p.run_bytes = 40;
  p.rows = 3;
  p.row_stride = 300;
  p.planes = 4;
  p.plane_stride = 5000;
  std::vector<hw::DramRun> runs;
  for (uint64_t k = 0; k < p.planes; ++k)
    for (uint64_t r = 0; r < p.rows; ++r) runs.push_back({p.run_addr(k, r), p.run_bytes});
  for (const bool write : {true, false}) {
    Request a(p, write, listed.store), b(p, write, patterned.store);
    a.ext->runs = &runs;
    b.ext->pattern = &p;
    if (!write) std::fill(b.data.begin(), b.data.end(), 0);
    a.send(listed);
    b.send(patterned);
    EXPECT_TRUE(a.payload.is_response_ok() && b.payload.is_response_ok());
    EXPECT_EQ(a.ext->done_cycle, b.ext->done_cycle);
    EXPECT_EQ(a.data, b.data);  // the read brings back what the write placed
  }
  // The last plane leaves the 1 MiB DRAM: run 9 (plane 3, row 0) is the first outside.
  p.plane_stride = 350000;
  runs.clear();
  for (uint64_t k = 0; k < p.planes; ++k)
    for (uint64_t r = 0; r < p.rows; ++r) runs.push_back({p.run_addr(k, r), p.run_bytes});
  Request a(p, false, listed.load), b(p, false, patterned.load);
  a.ext->runs = &runs;
  b.ext->pattern = &p;
  a.send(listed);
  b.send(patterned);
  EXPECT_EQ(a.payload.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(b.payload.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(a.ext->failed_run, 9u);
  EXPECT_EQ(b.ext->failed_run, 9u);
  expect_same(listed, patterned, "out of range", true);
}

// A dense LOAD/STORE's runs form a DramPattern unless a plane's last row runs on into the next
// plane's first; the pattern lists exactly the runs the engine would issue.
TEST(DramPattern, DmaPatternListsTheEngineRuns) {
  std::mt19937_64 rng(7);
  int regular = 0, merged = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool is_load = rng() % 2;
    isa::Instr in = is_load ? load(isa::Buffer::NBin, 0, 0, 1) : store(0, 0, 1);
    in.dtype = static_cast<uint32_t>(rng() % 3 == 0 ? isa::DType::Fp32 : isa::DType::Int16);
    in.dram_addr = static_cast<uint32_t>(rng() % 100000);
    in.size0 = static_cast<uint32_t>(rng() % 7);
    in.size1 = static_cast<uint32_t>(rng() % 6);
    in.size2 = static_cast<uint32_t>(rng() % 5);
    in.pad_left = in.size0 ? static_cast<uint32_t>(rng() % 3 % (in.size0 + 1)) : 0;
    in.pad_right = static_cast<uint32_t>(rng() % 2 % (in.size0 - in.pad_left + 1));
    in.pad_top = in.size1 ? static_cast<uint32_t>(rng() % 3 % (in.size1 + 1)) : 0;
    in.pad_bottom = static_cast<uint32_t>(rng() % 2 % (in.size1 - in.pad_top + 1));
    const uint32_t rows = in.size1 - in.pad_top - in.pad_bottom, cols = in.size0 - in.pad_left - in.pad_right;
    const uint32_t s1[] = {0, cols, in.size0, cols + static_cast<uint32_t>(rng() % 9)};
    in.stride1 = s1[rng() % 4];
    const uint32_t s2[] = {0, rows * in.stride1, rows ? (rows - 1) * in.stride1 + cols : cols, rows * cols,
                           static_cast<uint32_t>(rng() % 60)};
    in.stride2 = s2[rng() % 5];
    const std::vector<hw::DramRun> runs = hw::Dma::dram_runs_of(in, is_load, isa::MapDesc{});
    hw::DramPattern p;
    if (!hw::Dma::pattern_of(in, is_load, isa::MapDesc{}, p)) {
      merged += 1;  // rows merging across planes only: those runs differ in length
      bool uneven = false;
      for (const hw::DramRun& r : runs) uneven |= r.bytes != runs.front().bytes;
      EXPECT_TRUE(uneven || runs.size() <= 1) << "instruction " << i;
      continue;
    }
    regular += 1;
    std::vector<hw::DramRun> listed;
    for (uint64_t k = 0; k < p.planes; ++k)
      for (uint64_t r = 0; r < p.rows; ++r) listed.push_back({p.run_addr(k, r), p.run_bytes});
    ASSERT_EQ(listed.size(), runs.size()) << "instruction " << i;
    for (size_t j = 0; j < runs.size(); ++j) {
      EXPECT_EQ(listed[j].addr, runs[j].addr) << "instruction " << i << " run " << j;
      EXPECT_EQ(listed[j].bytes, runs[j].bytes) << "instruction " << i << " run " << j;
    }
  }
  EXPECT_GT(regular, 15000);
  EXPECT_GT(merged, 10);
  // Through a map descriptor the runs are listed, never a pattern.
  hw::DramPattern p;
  EXPECT_FALSE(
      hw::Dma::pattern_of(load(isa::Buffer::NBin, 0, 0, 4, 4), true, isa::MapDesc::of(0, 64, 4, 1, 0), p));
}

}  // namespace
}  // namespace fusesim::testing
