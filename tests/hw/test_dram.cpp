// DRAM timing from first principles on the round test arch: 16 bytes/cycle, 50-cycle
// latency, 15-cycle row miss, 64-byte bursts, 2 KiB rows interleaved over 8 banks.
#include <gtest/gtest.h>

#include "../support/sc_fixture.h"
#include "hw_harness.h"

namespace fusesim::testing {
namespace {

struct DramTop : sc_core::sc_module {
  hw::RunContext ctx;
  hw::DramModel dram;
  DramTop(sc_core::sc_module_name n, const ArchParams& a)
      : sc_module(n), ctx(a, options(hw::Mode::Functional, 10, false)), dram("dram", ctx) {}
  uint64_t xfer(uint64_t addr, uint64_t len, uint64_t at, hw::BurstWindow* w = nullptr, bool write = false) {
    return dram.schedule(addr, len, write, at, 64, w, true);
  }
};

using Dram = ScTest;

// N bytes from a closed bank: latency + row miss, then N / bandwidth on the bus.
TEST_F(Dram, TransferTakesLatencyPlusBytesOverBandwidth) {
  DramTop top("top", round_arch());
  EXPECT_EQ(top.xfer(0, 1024, 0), 50u + 15u + 1024u / 16u);
  const hw::Stats& s = top.ctx.stats();
  EXPECT_EQ(s.dram_read_bytes, 1024u);
  EXPECT_EQ(s.dram_row_misses, 1u);  // the first burst opens row 0 of bank 0
  EXPECT_EQ(s.dram_row_hits, 15u);   // the other 15 bursts hit it
  // The row is still open: a later burst in it pays no row miss.
  EXPECT_EQ(top.xfer(64, 64, 1000), 1000u + 50u + 4u);
}

TEST_F(Dram, ClosedPageMissesEveryBurst) {
  ArchParams a = round_arch();
  a.dram_open_page = false;
  DramTop top("top", a);
  top.xfer(0, 64, 0);
  EXPECT_EQ(top.xfer(64, 64, 1000), 1000u + 50u + 15u + 4u);
  EXPECT_EQ(top.ctx.stats().dram_row_misses, 2u);
  EXPECT_EQ(top.ctx.stats().dram_row_hits, 0u);
}

// A mapped image reads back whole; its borrowed pages are copied on the first write, so the
// image itself never changes, and new pages read 0 around what was written into them.
TEST_F(Dram, MappedImageIsCopiedOnWrite) {
  DramTop top("top", round_arch());
  const uint64_t page = 64 * 1024, base = page - 100;  // a partial page, two whole ones, a partial
  std::vector<uint8_t> image(2 * page + 300);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 31 + 7);
  const std::vector<uint8_t> original = image;
  top.dram.map_image(base, image.data(), image.size());
  std::vector<uint8_t> back(image.size());
  top.dram.read(base, back.data(), back.size());
  EXPECT_EQ(back, original);
  const uint8_t patch[3] = {1, 2, 3};
  top.dram.write(base + page + 50, patch, 3);  // inside the first whole (borrowed) page
  EXPECT_EQ(image, original);
  top.dram.read(base, back.data(), back.size());
  std::vector<uint8_t> want = original;
  std::copy(patch, patch + 3, want.begin() + page + 50);
  EXPECT_EQ(back, want);
  // A fresh page written in its middle reads 0 on both sides.
  top.dram.write(10 * page + 5, patch, 3);
  uint8_t around[9];
  top.dram.read(10 * page + 2, around, 9);
  EXPECT_EQ(std::vector<uint8_t>(around, around + 9), (std::vector<uint8_t>{0, 0, 0, 1, 2, 3, 0, 0, 0}));
}

// A different row in the same bank (row index 8 maps to bank 0 again) closes the open one.
TEST_F(Dram, RowConflictAddsRowMiss) {
  DramTop top("top", round_arch());
  top.xfer(0, 64, 0);
  EXPECT_EQ(top.xfer(8 * 2048, 64, 1000), 1000u + 50u + 15u + 4u);
  EXPECT_EQ(top.xfer(64, 64, 2000), 2000u + 50u + 15u + 4u);  // row 0 was closed by the conflict
}

// Two initiators issuing 1 KiB each at cycle 0, with all 16 bursts in flight, share the bus:
// the second finishes after both transfers have crossed it.
TEST_F(Dram, TwoInitiatorsContendForBandwidth) {
  DramTop top("top", round_arch());
  hw::BurstWindow a(16), b(16);
  const uint64_t first = top.xfer(0, 1024, 0, &a);
  const uint64_t second = top.xfer(1024, 1024, 0, &b);
  EXPECT_EQ(first, 65u + 64u);
  EXPECT_EQ(second, 65u + 128u);
}

// With one burst in flight every 64-byte burst pays the full latency: 65 + 4 for the first,
// then 50 + 4 for each of the other three (row hits).
TEST_F(Dram, OutstandingWindowLimitsThroughput) {
  DramTop top("top", round_arch());
  hw::BurstWindow one(1);
  EXPECT_EQ(top.xfer(0, 256, 0, &one), 69u + 3u * 54u);
}

// 12.8 GB/s at 0.98 GHz is 640/49 bytes a cycle, kept exact: 6400 bytes take 490 cycles.
// Latency ceil(50 * 0.98) = 49, row miss ceil(15 * 0.98) = 15.
TEST_F(Dram, FractionalBandwidthIsExact) {
  ArchParams a = round_arch();
  a.clock_ghz = 0.98;
  a.dram_bandwidth_gbps = 12.8;
  DramTop top("top", a);
  EXPECT_EQ(top.xfer(0, 6400, 0), 49u + 15u + 490u);
}

TEST_F(Dram, BandwidthWindowsSumToTotals) {
  DramTop top("top", round_arch());
  top.ctx.begin_run();
  top.xfer(0, 4096, 0);
  top.xfer(100000, 640, 30, nullptr, true);
  const hw::Stats& s = top.ctx.stats();
  uint64_t r = 0, w = 0;
  for (uint64_t v : s.bw_read) r += v;
  for (uint64_t v : s.bw_write) w += v;
  EXPECT_EQ(r, 4096u);
  EXPECT_EQ(w, 640u);
  EXPECT_EQ(s.bw_read.size(), s.bw_write.size());
  // 10-cycle windows at 16 bytes a cycle carry at most 160 bytes (plus one burst of skew).
  for (uint64_t v : s.bw_read) EXPECT_LE(v, 160u + 64u);
}

// A long windowed run is timed as whole rows once they repeat (DramModel::replay_rows); it must
// match the same bursts sent as one request per row, which are timed burst by burst: same
// completion, row-buffer counts and bandwidth windows, on exact and fractional bandwidths and
// both row policies, latency- and bus-bound windows, from an unaligned start.
TEST_F(Dram, LongRunMatchesRowByRowRequests) {
  for (int variant = 0; variant < 8; ++variant) {
    ArchParams a = round_arch();
    if (variant & 1) {
      a.clock_ghz = 0.98;
      a.dram_bandwidth_gbps = 12.8;
    }
    a.dram_open_page = (variant & 2) == 0;
    DramTop whole("whole", a), rows("rows", a);
    whole.ctx.begin_run();
    rows.ctx.begin_run();
    const uint32_t outstanding = (variant & 4) ? 32 : 8;
    hw::BurstWindow ww(outstanding), wr(outstanding);
    const uint64_t start = 2048 - 96, len = 40 * 2048 + 32;  // partial first and last rows
    const uint64_t done = whole.xfer(start, len, 7, &ww);
    uint64_t done_rows = 7;
    for (uint64_t at = start; at < start + len;) {
      const uint64_t n = std::min(start + len, (at / 2048 + 1) * 2048) - at;
      done_rows = std::max(done_rows, rows.xfer(at, n, 7, &wr));
      at += n;
    }
    EXPECT_EQ(done, done_rows) << variant;
    const hw::Stats &x = whole.ctx.stats(), &y = rows.ctx.stats();
    EXPECT_EQ(x.dram_read_bytes, len);
    EXPECT_EQ(x.dram_read_bytes, y.dram_read_bytes) << variant;
    EXPECT_EQ(x.dram_row_hits, y.dram_row_hits) << variant;
    EXPECT_EQ(x.dram_row_misses, y.dram_row_misses) << variant;
    EXPECT_EQ(x.bw_read, y.bw_read) << variant;
    for (size_t i = 0; i < outstanding; ++i) EXPECT_EQ(ww.oldest(i), wr.oldest(i)) << variant;
    // Later requests see the same bus (one issued early queues behind it) and row state.
    EXPECT_EQ(whole.xfer(start, 64, 0), rows.xfer(start, 64, 0)) << variant;
    EXPECT_EQ(whole.xfer(start, 64, done + 100), rows.xfer(start, 64, done + 100)) << variant;
  }
}

TEST_F(Dram, SparseStorageReadsZeroAndCrossesPages) {
  DramTop top("top", round_arch());
  std::vector<uint8_t> out(8, 0xAA);
  top.dram.read(0xFFFF'0000u, out.data(), out.size());
  EXPECT_EQ(out, std::vector<uint8_t>(8, 0));
  const std::vector<uint8_t> in = {1, 2, 3, 4, 5, 6, 7, 8};
  top.dram.write(64 * 1024 - 4, in.data(), in.size());  // straddles two 64 KiB pages
  top.dram.read(64 * 1024 - 4, out.data(), out.size());
  EXPECT_EQ(out, in);
}

}  // namespace
}  // namespace fusesim::testing
