// DRAM timing and storage. Timing of a burst: it issues (subject to the initiator's
// outstanding window), waits the first-word latency plus a row miss if its bank has another
// row open, then occupies the shared data bus for bytes / bandwidth. The bus is reserved in
// request order (busy-until), so concurrent fetch, load and store traffic contends.
#include "dram_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

// The per-burst steps of the pattern loops are lambdas that must be inlined (their locals then
// stay in registers); GCC otherwise keeps some of them out of line.
#if defined(__GNUC__)
#define FUSESIM_INLINE __attribute__((always_inline))
#else
#define FUSESIM_INLINE
#endif

namespace fusesim::hw {

DramModel::DramModel(sc_core::sc_module_name name, RunContext& ctx)
    : sc_module(name),
      socket("socket"),
      ctx_(ctx),
      bytes_(ctx.arch().dram_bytes),
      latency_(ctx.arch().dram_latency_cycles()),
      row_miss_(ctx.arch().dram_row_miss_cycles()),
      row_bytes_(std::max<uint64_t>(1, ctx.arch().dram_row_bytes)),
      open_page_(ctx.arch().dram_open_page),
      open_row_(std::max<uint32_t>(1, ctx.arch().dram_banks), -1),
      pages_((bytes_ + kPageBytes - 1) / kPageBytes),
      owned_(pages_.size()) {
  // bytes per cycle = bandwidth_gbps / clock_ghz, kept as a reduced integer ratio.
  const uint64_t bw = static_cast<uint64_t>(std::llround(ctx.arch().dram_bandwidth_gbps * 1e6));
  const uint64_t clk = static_cast<uint64_t>(std::llround(ctx.arch().clock_ghz * 1e6));
  const uint64_t g = std::gcd(bw, clk);
  cycle_ticks_ = bw / g;
  byte_ticks_ = clk / g;
  auto log2_exact = [](uint64_t v) { return (v & (v - 1)) == 0 ? __builtin_ctzll(v) : -1; };
  if (log2_exact(row_bytes_) >= 0 && log2_exact(open_row_.size()) >= 0) {
    row_shift_ = log2_exact(row_bytes_);
    bank_shift_ = log2_exact(open_row_.size());
  }
  socket.register_b_transport(this, &DramModel::b_transport);
  socket.register_transport_dbg(this, &DramModel::transport_dbg);
  socket.register_get_direct_mem_ptr(this, &DramModel::get_direct_mem_ptr);
}

bool DramModel::row_hit(uint64_t addr) {
  if (addr >= row_lo_ && addr < row_hi_) return true;  // the latest burst's row, still open
  if (open_page_ && row_shift_ >= 0) return open_row(addr);
  // rows interleave across banks
  const uint64_t row_index = row_shift_ >= 0 ? addr >> row_shift_ : addr / row_bytes_;
  const size_t bank = row_shift_ >= 0 ? row_index & (open_row_.size() - 1) : row_index % open_row_.size();
  const int64_t row = static_cast<int64_t>(row_shift_ >= 0 ? row_index >> bank_shift_ : row_index / open_row_.size());
  const bool hit = open_page_ && open_row_[bank] == row;
  open_row_[bank] = open_page_ ? row : -1;
  if (open_page_) {
    row_lo_ = row_index * row_bytes_;
    row_hi_ = row_lo_ + row_bytes_;
  }
  return hit;
}

// The bank lookup of an open-page DRAM with power-of-two rows and banks (`open_rows` indexed by
// bank): opens the row of `addr` in its bank, sets `row_lo` to that row's first byte and says
// whether it was open already. open_row and short_runs (on copies of the members, which its loop
// would otherwise reload after every store it makes through a pointer) share it.
static inline bool open_row_in(int64_t* open_rows, uint64_t bank_mask, int row_shift, int bank_shift, uint64_t addr,
                               uint64_t& row_lo) {
  const uint64_t row_index = addr >> row_shift;
  const int64_t row = static_cast<int64_t>(row_index >> bank_shift);
  int64_t& open = open_rows[row_index & bank_mask];
  const bool hit = open == row;
  open = row;
  row_lo = row_index << row_shift;
  return hit;
}

// row_hit's lookup on an open-page DRAM with power-of-two rows and banks, for a burst outside the
// latest burst's row: opens the row of `addr` in its bank.
bool DramModel::open_row(uint64_t addr) {
  const bool hit = open_row_in(open_row_.data(), open_row_.size() - 1, row_shift_, bank_shift_, addr, row_lo_);
  row_hi_ = row_lo_ + row_bytes_;
  return hit;
}

const DramModel::Occupancy& DramModel::occupancy(uint64_t bytes) {
  for (const Occupancy& o : occupancy_)
    if (o.bytes == bytes) return o;
  Occupancy& o = occupancy_[occupancy_next_];
  occupancy_next_ ^= 1;
  const uint64_t ticks = bytes * byte_ticks_;
  o = {bytes, ticks / cycle_ticks_, ticks % cycle_ticks_};
  return o;
}

// Bandwidth windows are counted from the run's start; cycles before it fall into window 0.
uint64_t& DramModel::bw_slot(uint64_t cycle, bool write) {
  Stats& s = ctx_.stats();
  const uint64_t base = ctx_.start_cycle(), len = std::max<uint64_t>(1, s.bw_window);
  if (cycle < bw_lo_ || cycle >= bw_hi_ || base != bw_base_ || len != bw_len_) {
    bw_base_ = base;
    bw_len_ = len;
    bw_index_ = (cycle - std::min(cycle, base)) / len;
    bw_lo_ = bw_index_ == 0 ? 0 : base + bw_index_ * len;
    bw_hi_ = base + (bw_index_ + 1) * len;
    if (ctx_.options().bw_sink) publish_final_windows();
  }
  auto& series = write ? s.bw_write : s.bw_read;
  if (series.size() <= bw_index_) {
    s.bw_read.resize(bw_index_ + 1, 0);
    s.bw_write.resize(bw_index_ + 1, 0);
  }
  return series[bw_index_];
}

// The windows that end by now go to the sink (AcceleratorOptions::bw_sink) once there are
// kBatch of them. Every burst booked from now on starts at or after now, so none can land in
// them; one that would is a modelling error, not a figure to report late.
void DramModel::publish_final_windows() {
  if (bw_index_ < bw_published_)
    throw std::logic_error("DRAM model: bytes counted in bandwidth window " + std::to_string(bw_index_) +
                           " after it was reported final");
  const uint64_t now = ctx_.now();
  const uint64_t final = now > bw_base_ ? (now - bw_base_) / bw_len_ : 0;
  if (final < bw_published_ + BandwidthSink::kBatch) return;
  Stats& s = ctx_.stats();
  if (s.bw_read.size() < final) {
    s.bw_read.resize(final, 0);
    s.bw_write.resize(final, 0);
  }
  ctx_.options().bw_sink->windows(bw_published_, s.bw_read.data() + bw_published_,
                                  s.bw_write.data() + bw_published_, final - bw_published_);
  bw_published_ = final;
}

void DramModel::count(uint64_t bytes, bool write, uint64_t cycle) {
  Stats& s = ctx_.stats();
  (write ? s.dram_write_bytes : s.dram_read_bytes) += bytes;
  bw_slot(cycle, write) += bytes;
}

uint64_t DramModel::burst(const Stream& s, uint64_t bytes, bool hit, uint64_t& start) {
  const uint64_t issue = s.window ? std::max(s.issue_cycle, s.window->earliest_issue()) : s.issue_cycle;
  const uint64_t ready = issue + latency_ + (hit ? 0 : row_miss_);
  if (ready > busy_.cycle || (ready == busy_.cycle && busy_.rem == 0)) busy_ = {ready, 0};
  start = busy_.cycle;  // the bus is free from max(ready, busy)
  const Occupancy& o = occupancy(bytes);
  busy_.cycle += o.cycles;
  busy_.rem += o.rem;
  if (busy_.rem >= cycle_ticks_) {
    busy_.rem -= cycle_ticks_;
    ++busy_.cycle;
  }
  const uint64_t done = busy_.cycle + (busy_.rem != 0);
  if (s.window) s.window->push(done);
  if (s.counted) {
    count(bytes, s.write, start);
    (hit ? ctx_.stats().dram_row_hits : ctx_.stats().dram_row_misses) += 1;
  }
  return done;
}

// Whole rows of a long run. Each row is one row-buffer lookup for its first burst, then bursts
// of the same size, all issued against the window. Once the window rather than issue_cycle
// decides when bursts issue, timing is invariant under shifting the whole state (bus and window
// completions) by whole cycles. So when a row, timed exactly, leaves the state exactly `shift`
// cycles later than it found it, each following row with the same first-burst outcome repeats it
// `shift` cycles later: it is replayed with one lookup and O(window) work instead of per burst.
uint64_t DramModel::replay_rows(const Stream& s, uint64_t& addr, uint64_t end, uint64_t burst_bytes) {
  BurstWindow& w = *s.window;
  const size_t k = w.size();
  const uint64_t per_row = row_bytes_ / burst_bytes;
  RowTemplate& t = row_template_;
  bool repeats = false;  // t is a fixed point of the state, modulo its shift
  uint64_t copies = 0, done = 0;
  ring_before_.resize(k);
  for (; end - addr >= row_bytes_; addr += row_bytes_) {
    const bool first_hit = row_hit(addr);
    if (repeats && first_hit == t.first_hit) {
      const uint64_t shift = ++copies * t.shift;
      w.replay(per_row, t.shift);
      busy_.cycle += t.shift;
      done = t.last_done + shift;
      if (!s.counted) continue;
      Stats& st = ctx_.stats();
      st.dram_row_hits += t.hits;
      st.dram_row_misses += t.misses;
      uint64_t& slot = bw_slot(t.starts.front() + shift, s.write);
      if (t.starts.back() + shift < bw_hi_) {  // the whole row falls into one bandwidth window
        (s.write ? st.dram_write_bytes : st.dram_read_bytes) += row_bytes_;
        slot += row_bytes_;
      } else {
        for (uint64_t start : t.starts) count(burst_bytes, s.write, start + shift);
      }
      continue;
    }
    // Time this row exactly; it becomes the template if it maps the state onto a shifted copy.
    for (size_t i = 0; i < k; ++i) ring_before_[i] = w.oldest(i);
    const BusTime before = busy_;
    t.first_hit = first_hit;
    t.hits = t.misses = 0;
    t.starts.resize(per_row);
    for (uint64_t j = 0; j < per_row; ++j) {
      const bool hit = j == 0 ? first_hit : row_hit(addr + j * burst_bytes);
      (hit ? t.hits : t.misses) += 1;
      done = burst(s, burst_bytes, hit, t.starts[j]);
    }
    t.last_done = done;
    t.shift = w.oldest(0) - ring_before_[0];
    copies = 0;
    repeats =
        ring_before_[0] >= s.issue_cycle && busy_.rem == before.rem && busy_.cycle == before.cycle + t.shift;
    for (size_t i = 1; repeats && i < k; ++i) repeats = w.oldest(i) == ring_before_[i] + t.shift;
  }
  return done;
}

// `t` moved on by `bursts` bursts of occupancy `o`, back to back.
void DramModel::advance(BusTime& t, uint64_t bursts, const Occupancy& o) const {
  if (bursts == 1) {
    t.cycle += o.cycles;
    t.rem += o.rem;
    if (t.rem >= cycle_ticks_) {
      t.rem -= cycle_ticks_;
      ++t.cycle;
    }
    return;
  }
  const unsigned __int128 rem = static_cast<unsigned __int128>(bursts) * o.rem + t.rem;
  const uint64_t carry =
      rem >> 64 ? static_cast<uint64_t>(rem / cycle_ticks_) : static_cast<uint64_t>(rem) / cycle_ticks_;
  t.cycle += bursts * o.cycles + carry;
  t.rem = static_cast<uint64_t>(rem - static_cast<unsigned __int128>(carry) * cycle_ticks_);
}

// The closed form of a long run on a saturated bus. A burst whose ready cycle (issue, latency, a
// row miss) is not after the bus's free cycle starts when the bus frees up, whatever its row
// outcome; while every burst does, they follow each other back to back: burst j of the stretch
// starts at floor((t + j * o) / cycle) with t the bus time before it and o a burst's occupancy.
// That holds for the whole stretch when (1) its first `window` bursts, which issue against the
// completions already in the window (or at issue_cycle without a window), are ready in time with
// a row miss each, and (2) a later burst, issued when burst j - window completed, is ready in
// time even with a row miss: (window - 1) * o >= (latency + row miss) cycles plus two cycles of
// rounding. Then the bus time, the window, the bandwidth windows and the row outcomes (a lookup
// per DRAM row, the other bursts in it hit) advance in O(window + rows + bandwidth windows)
// instead of per burst. Consumes the full bursts from `addr` and returns true if it applies.
bool DramModel::saturated_bursts(const Stream& s, uint64_t& addr, uint64_t end, uint64_t burst_len,
                                 uint64_t& done) {
  const uint64_t m = (end - addr) / burst_len;
  const Occupancy o = occupancy(burst_len);
  const uint64_t worst = latency_ + row_miss_;
  const size_t k = s.window ? s.window->size() : 0;
  if (m < 2 * k + 2) return false;  // too short to gain
  BusTime t = busy_;
  if (s.window) {
    const unsigned __int128 ticks =
        (static_cast<unsigned __int128>(o.cycles) * cycle_ticks_ + o.rem) * (k - 1);
    if (ticks < static_cast<unsigned __int128>(cycle_ticks_) * worst + 2 * (cycle_ticks_ - 1)) return false;
    for (size_t i = 0; i < k; ++i, advance(t, 1, o))
      if (std::max(s.issue_cycle, s.window->oldest(i)) + worst > t.cycle) return false;
  } else if (s.issue_cycle + worst > t.cycle) {
    return false;
  }
  // Row outcomes: a lookup for the first burst starting in each DRAM row.
  uint64_t hits = 0, misses = 0;
  for (uint64_t j = 0; j < m;) {
    const uint64_t b = addr + j * burst_len;
    (row_hit(b) ? hits : misses) += 1;
    uint64_t next = j + 1;
    if (open_page_) {  // the bursts starting in the rest of this row hit it
      const uint64_t row_end = (b / row_bytes_ + 1) * row_bytes_;
      next = std::min(m, std::max(next, (row_end - addr + burst_len - 1) / burst_len));
      hits += next - j - 1;
    }
    j = next;
  }
  if (s.counted) {
    Stats& st = ctx_.stats();
    st.dram_row_hits += hits;
    st.dram_row_misses += misses;
    (s.write ? st.dram_write_bytes : st.dram_read_bytes) += m * burst_len;
    // Bandwidth windows: burst j falls into the window of its start cycle.
    const unsigned __int128 occ = static_cast<unsigned __int128>(o.cycles) * cycle_ticks_ + o.rem;
    for (uint64_t j = 0; j < m;) {
      BusTime start = busy_;
      advance(start, j, o);
      uint64_t& slot = bw_slot(start.cycle, s.write);
      // The first burst from j that starts at or after bw_hi_.
      const unsigned __int128 gap =
          static_cast<unsigned __int128>(bw_hi_ - start.cycle) * cycle_ticks_ - start.rem;
      const uint64_t last = std::min<uint64_t>(m, j + static_cast<uint64_t>((gap + occ - 1) / occ));
      slot += (last - j) * burst_len;
      j = last;
    }
  }
  // The window keeps the completions of the last k bursts.
  if (s.window) {
    BusTime t_done = busy_;
    const uint64_t first = m - k;
    advance(t_done, first + 1, o);
    for (uint64_t j = first; j < m; ++j, advance(t_done, 1, o))
      s.window->push(t_done.cycle + (t_done.rem != 0));
  }
  advance(busy_, m, o);
  done = busy_.cycle + (busy_.rem != 0);
  addr += m * burst_len;
  return true;
}

uint64_t DramModel::schedule(uint64_t addr, uint64_t len, bool write, uint64_t issue_cycle,
                             uint32_t burst_bytes, BurstWindow* window, bool counted) {
  const uint64_t burst_len = std::max<uint32_t>(1, burst_bytes);
  const Stream s{issue_cycle, window, write, counted};
  if (counted) ++ctx_.stats().dram_runs;
  const uint64_t end = addr + len;
  uint64_t done = issue_cycle, start = 0, a = addr;
  if (a < end) {  // bursts are burst-aligned: only the first may start mid-burst
    const bool pow2 = (burst_len & (burst_len - 1)) == 0;
    const uint64_t n = std::min(end, pow2 ? (a | (burst_len - 1)) + 1 : (a / burst_len + 1) * burst_len) - a;
    done = std::max(done, burst(s, n, row_hit(a), start));
    a += n;
  }
  // The closed form of a saturated bus is tried here and, if the window's completions did not
  // allow it yet, once more a window's worth of bursts later.
  uint64_t bulk_at = reference_ ? ~uint64_t{0} : a;
  int bulk_tries = 2;
  // Rows are replayed only for windowed streams whose bursts tile the rows exactly.
  const bool replay = !reference_ && window && end - a >= 2 * row_bytes_ && row_bytes_ % burst_len == 0;
  uint64_t next_row = replay ? (a + row_bytes_ - 1) / row_bytes_ * row_bytes_ : ~uint64_t{0};
  while (a < end) {
    if (a >= bulk_at) {
      uint64_t bulk_done = 0;
      if (saturated_bursts(s, a, end, burst_len, bulk_done)) {
        done = std::max(done, bulk_done);
        bulk_tries = 0;
        if (a >= end) break;  // else under a burst is left
      }
      bulk_at = --bulk_tries > 0 ? a + (window ? window->size() : 1) * burst_len : ~uint64_t{0};
    }
    if (a == next_row) {
      if (end - a >= 2 * row_bytes_) done = std::max(done, replay_rows(s, a, end, burst_len));
      next_row = a + row_bytes_;
      if (a >= end) break;
    }
    const uint64_t n = std::min(end - a, burst_len);
    done = std::max(done, burst(s, n, row_hit(a), start));
    a += n;
  }
  return done;
}

// Transfers are many short runs of a burst or two each (a tile row). Run by run, schedule()
// redoes the request set-up, the burst-size division and the bandwidth-window lookup, and
// updates the statistics per burst; here the bus time, the bandwidth window and the counters live
// in locals for the whole transfer, and burst occupancies come from a table. The steps per burst
// are schedule()'s, in the same order, so cycles and state come out identical
// (tests/hw/test_dram_pattern.cpp compares the two over random transfers and states). Runs long
// enough for row replay or the saturated closed form, and streams without a window, go through
// schedule() itself. `run_at(i)` gives run i as a DramRun.
template <bool kPattern, class RunAt>
uint64_t DramModel::one_pass(uint64_t count, RunAt run_at, bool write, uint64_t issue_cycle,
                             uint32_t burst_bytes, BurstWindow* window, bool counted) {
  uint64_t done = issue_cycle;
  const uint64_t burst_len = std::max<uint32_t>(1, burst_bytes);
  const bool pow2 = (burst_len & (burst_len - 1)) == 0;
  if (occupancy_table_.size() != burst_len + 1) occupancy_table_.assign(burst_len + 1, Occupancy{});
  const Occupancy full{burst_len, burst_len * byte_ticks_ / cycle_ticks_, burst_len * byte_ticks_ % cycle_ticks_};
  // The whole state the loop touches lives in locals, handed back before schedule() and at the
  // end: the bus time, the window's ring position, the open row of the latest burst, and the
  // bytes not yet added to the current bandwidth window (*bin may move when the series grows).
  uint64_t busy_cycle = busy_.cycle, busy_rem = busy_.rem;
  const uint64_t cycle_ticks = cycle_ticks_, latency = latency_, row_miss = row_miss_;
  uint64_t* ring = window ? window->ring() : nullptr;
  const size_t ring_size = window ? window->size() : 0;
  size_t next = window ? window->next() : 0;
  uint64_t row_lo = row_lo_, row_hi = row_hi_;
  uint64_t hits = 0, bursts = 0, moved = 0, runs = 0;
  uint64_t bin_lo = 1, bin_hi = 0, binned = 0;  // the bandwidth window *bin counts, empty until looked up
  uint64_t* bin = nullptr;
  // One burst of n bytes whose row-buffer outcome is `hit`, timed.
  auto time_burst = [&](uint64_t n, bool hit) {
    const uint64_t ready = std::max(issue_cycle, ring[next]) + latency + (hit ? 0 : row_miss);
    // The bus is free from max(ready, busy); a ready cycle equal to a whole busy cycle changes nothing.
    if (ready > busy_cycle) busy_cycle = ready, busy_rem = 0;
    const uint64_t start = busy_cycle;
    const Occupancy* o = &full;
    if (n != burst_len) {
      o = &occupancy_table_[n];
      if (o->bytes != n) occupancy_table_[n] = {n, n * byte_ticks_ / cycle_ticks, n * byte_ticks_ % cycle_ticks};
    }
    busy_cycle += o->cycles;
    busy_rem += o->rem;
    if (busy_rem >= cycle_ticks) busy_rem -= cycle_ticks, ++busy_cycle;
    const uint64_t burst_done = busy_cycle + (busy_rem != 0);
    ring[next] = burst_done;
    if (++next == ring_size) next = 0;
    done = std::max(done, burst_done);
    if (counted) {
      if (start < bin_lo || start >= bin_hi) {
        if (bin) *bin += binned;
        binned = 0;
        bin = &bw_slot(start, write);
        bin_lo = bw_lo_;
        bin_hi = bw_hi_;
      }
      binned += n;
      moved += n;
      hits += hit;
      bursts += 1;
    }
  };
  // One run: its bursts with their row-buffer lookups, or through schedule() when it is long.
  auto time_run = [&](const DramRun& run) {
    if (reference_ || !window || run.bytes >= 2 * row_bytes_) {
      if (bin) *bin += binned;
      binned = 0;
      bin = nullptr;  // schedule() may grow the bandwidth series under it
      bin_lo = 1;
      bin_hi = 0;
      busy_ = {busy_cycle, busy_rem};
      row_lo_ = row_lo, row_hi_ = row_hi;
      if (window) window->set_next(next);
      done = std::max(done, schedule(run.addr, run.bytes, write, issue_cycle, burst_bytes, window, counted));
      busy_cycle = busy_.cycle, busy_rem = busy_.rem;
      row_lo = row_lo_, row_hi = row_hi_;
      if (window) next = window->next();
      return;
    }
    runs += 1;
    // Bursts are burst-aligned: only the first may start mid-burst.
    for (uint64_t b = run.addr, end = run.addr + run.bytes; b < end;) {
      const uint64_t n =
          std::min(end, pow2 ? (b | (burst_len - 1)) + 1 : (b / burst_len + 1) * burst_len) - b;
      bool hit = b - row_lo < row_hi - row_lo;  // the latest burst's row, still open
      if (!hit) {
        hit = row_hit(b);
        // (row_hi from row_lo, not reloaded: the two members just stored, read back as one
        // 16-byte load, stall on store forwarding)
        row_lo = row_lo_;
        row_hi = open_page_ ? row_lo + row_bytes_ : row_hi_;
      }
      time_burst(n, hit);
      b += n;
    }
  };
  if constexpr (!kPattern) {
    for (uint64_t i = 0; i < count; ++i) time_run(run_at(i));
  } else {
    // A pattern goes plane by plane. A plane that lies in one DRAM row (open page, power-of-two
    // rows and bursts, short runs) needs one row-buffer lookup, for its first burst: all its
    // other bursts hit that row, as the lookup of each would find. Its burst sizes depend only on
    // where its first run starts within a burst, so they are worked out once per alignment and
    // reused by the planes that share it. Other planes go run by run.
    const DramPattern& pat = *run_at.pattern;
    const uint64_t rows = pat.rows, span = (rows - 1) * pat.row_stride + pat.run_bytes;
    const bool planes_fast = !reference_ && window && open_page_ && pow2 && row_shift_ >= 0 && rows > 0 &&
                             pat.run_bytes > 0 && pat.run_bytes < 2 * row_bytes_ && span <= row_bytes_ &&
                             burst_len <= 4096;
    if (planes_fast) {
      plane_bursts_.clear();
      plane_first_.assign(burst_len, -1);  // per alignment: where its burst sizes start in plane_bursts_
    }
    uint64_t plane_addr = pat.addr;
    for (uint64_t p = 0; p < pat.planes; ++p, plane_addr += pat.plane_stride) {
      if (planes_fast && (plane_addr >> row_shift_) == ((plane_addr + span - 1) >> row_shift_)) {
        const uint64_t align = plane_addr & (burst_len - 1);
        if (plane_first_[align] < 0) {  // this alignment's bursts: size and bus occupancy
          plane_first_[align] = static_cast<int64_t>(plane_bursts_.size());
          for (uint64_t r = 0; r < rows; ++r)
            for (uint64_t b = align + r * pat.row_stride, end = b + pat.run_bytes; b < end;) {
              const uint64_t n = std::min(end, (b | (burst_len - 1)) + 1) - b;
              plane_bursts_.push_back({n, n * byte_ticks_ / cycle_ticks, n * byte_ticks_ % cycle_ticks});
              b += n;
            }
          plane_bursts_.push_back({0, 0, 0});  // the end of this alignment's bursts
        }
        bool hit = plane_addr - row_lo < row_hi - row_lo;
        if (!hit) {
          hit = row_hit(plane_addr);
          row_lo = row_lo_;
          row_hi = row_lo + row_bytes_;
        }
        // time_burst's steps for the plane's bursts, with what does not change within a plane
        // taken out: the row outcome (only the first may miss), the occupancies (from the table),
        // the counters (per plane), and the bandwidth window's lower bound (bus starts only grow).
        const Occupancy* pb = plane_bursts_.data() + plane_first_[align];
        const Occupancy* const first = pb;
        uint64_t extra = hit ? 0 : row_miss, last_done = 0;
        for (; pb->bytes; ++pb) {
          const uint64_t oldest = ring[next];
          const uint64_t ready = (oldest > issue_cycle ? oldest : issue_cycle) + latency + extra;
          extra = 0;
          if (ready > busy_cycle) busy_cycle = ready, busy_rem = 0;
          const uint64_t start = busy_cycle;
          busy_cycle += pb->cycles;
          busy_rem += pb->rem;
          if (busy_rem >= cycle_ticks) busy_rem -= cycle_ticks, ++busy_cycle;
          last_done = busy_cycle + (busy_rem != 0);
          ring[next] = last_done;
          if (++next == ring_size) next = 0;
          if (counted) {
            if (start >= bin_hi) {
              if (bin) *bin += binned;
              binned = 0;
              bin = &bw_slot(start, write);
              bin_lo = bw_lo_;
              bin_hi = bw_hi_;
            }
            binned += pb->bytes;
          }
        }
        done = std::max(done, last_done);
        runs += rows;
        if (counted) {
          const uint64_t n = static_cast<uint64_t>(pb - first);
          bursts += n;
          hits += n - !hit;
          moved += rows * pat.run_bytes;
        }
        continue;
      }
      for (uint64_t r = 0; r < rows; ++r) time_run(DramRun{plane_addr + r * pat.row_stride, pat.run_bytes});
    }
  }
  if (bin) *bin += binned;
  busy_ = {busy_cycle, busy_rem};
  row_lo_ = row_lo, row_hi_ = row_hi;
  if (window) window->set_next(next);
  if (counted) {
    Stats& st = ctx_.stats();
    st.dram_runs += runs;
    st.dram_row_hits += hits;
    st.dram_row_misses += bursts - hits;
    (write ? st.dram_write_bytes : st.dram_read_bytes) += moved;
  }
  return done;
}

// The common case of a pattern, in one flat loop over its bursts: short runs (under two DRAM rows,
// so that schedule() would not replay rows or take the saturated closed form for any of them) on
// an open-page DRAM with power-of-two rows, banks and bursts, issued against a window. The steps
// per burst are schedule()'s, so cycles and state come out identical (tests/hw/test_dram_pattern.cpp),
// with everything that is not per burst taken out: a row lookup (open_row) only for a burst
// that leaves the latest burst's row (bursts never straddle rows: burst_len divides row_bytes),
// occupancies from a table of every burst size, the bandwidth window checked at its upper end
// only (bus starts only grow), the counters per pattern, a run of at most a burst timed as its
// one or two bursts without the burst loop (split alike for every run when the strides keep the
// alignment), and one flat loop over the runs when the planes follow each other. Completions
// only grow (the bus is in order), so the last is the latest.
template <bool kCounted>
uint64_t DramModel::short_runs(const DramPattern& pat, bool write, uint64_t issue_cycle, uint64_t burst_len,
                               BurstWindow& window) {
  if (occupancy_by_size_.size() != burst_len + 1) {
    occupancy_by_size_.resize(burst_len + 1);
    for (uint64_t n = 0; n <= burst_len; ++n)
      occupancy_by_size_[n] = {n * byte_ticks_ / cycle_ticks_, n * byte_ticks_ % cycle_ticks_};
  }
  const BusStep* const occ = occupancy_by_size_.data();
  const uint64_t cycle_ticks = cycle_ticks_, latency = latency_, row_bytes = row_bytes_, row_miss = row_miss_;
  const uint64_t burst_mask = burst_len - 1;
  // The bank lookup's members, copied (open_row_in).
  const int row_shift = row_shift_, bank_shift = bank_shift_;
  int64_t* const open_rows = open_row_.data();
  const uint64_t bank_mask = open_row_.size() - 1;
  uint64_t busy_cycle = busy_.cycle, busy_rem = busy_.rem;
  // The window's completions: a burst is ready `latency` after the one `window` bursts earlier
  // completed, or after issue_cycle, whichever is later (plus a row miss).
  uint64_t* const ring = window.ring();
  uint64_t* const ring_end = ring + window.size();
  uint64_t* slot = ring + window.next();
  // The latest burst's row, [row_lo, row_lo + row_bytes); none open yet: a row_lo no burst is in.
  uint64_t row_lo = row_hi_ > row_lo_ ? row_lo_ : uint64_t{1} << 63;
  uint64_t last_done = issue_cycle, bursts = 0;
  uint64_t bin_hi = 0;  // the bandwidth window *bin counts, none until looked up
  uint64_t* bin = nullptr;
  uint64_t misses = 0;
  const uint64_t run_bytes = pat.run_bytes;
  // One burst of n bytes at b.
  auto step = [&](uint64_t b, uint64_t n) FUSESIM_INLINE {
    uint64_t ready = (*slot > issue_cycle ? *slot : issue_cycle) + latency;
    if (b - row_lo >= row_bytes &&  // a new row: look it up in its bank
        !open_row_in(open_rows, bank_mask, row_shift, bank_shift, b, row_lo))
      ready += row_miss, ++misses;
    if (ready > busy_cycle) busy_cycle = ready, busy_rem = 0;
    const uint64_t start = busy_cycle;
    busy_cycle += occ[n].cycles;
    busy_rem += occ[n].rem;
    if (busy_rem >= cycle_ticks) busy_rem -= cycle_ticks, ++busy_cycle;
    last_done = busy_cycle + (busy_rem != 0);
    *slot = last_done;
    if (++slot == ring_end) slot = ring;
    if constexpr (kCounted) {
      if (start >= bin_hi) {
        bin = &bw_slot(start, write);
        bin_hi = bw_hi_;
      }
      *bin += n;
      ++bursts;
    }
  };
  // The runs in order, as one sequence of `count` runs `stride` apart where the planes follow
  // each other at the row stride or hold one row each, else plane by plane.
  auto for_runs = [&](auto&& run) FUSESIM_INLINE {
    const uint64_t rows = pat.rows, planes = pat.planes;
    if (rows == 1 || planes == 1 || pat.plane_stride == rows * pat.row_stride) {
      const uint64_t stride = rows == 1 ? pat.plane_stride : pat.row_stride;
      uint64_t a = pat.addr;
      for (uint64_t i = rows * planes; i > 0; --i, a += stride) run(a);
      return;
    }
    uint64_t plane_addr = pat.addr;
    for (uint64_t p = planes; p > 0; --p, plane_addr += pat.plane_stride) {
      uint64_t a = plane_addr;
      for (uint64_t r = rows; r > 0; --r, a += pat.row_stride) run(a);
    }
  };
  if (run_bytes == 0) {
  } else if (run_bytes <= burst_len) {  // the usual tile row: one burst, or two where it crosses a burst boundary
    // Strides that keep the bursts' alignment split every run alike.
    if (((pat.row_stride | pat.plane_stride) & burst_mask) == 0) {
      const uint64_t first = std::min(run_bytes, burst_len - (pat.addr & burst_mask)), rest = run_bytes - first;
      if (rest == 0) {
        for_runs([&](uint64_t a) FUSESIM_INLINE { step(a, first); });
      } else {
        for_runs([&](uint64_t a) FUSESIM_INLINE {
          step(a, first);
          step(a + first, rest);
        });
      }
    } else {
      for_runs([&](uint64_t a) FUSESIM_INLINE {
        const uint64_t first = std::min(run_bytes, burst_len - (a & burst_mask));
        step(a, first);
        if (first < run_bytes) step(a + first, run_bytes - first);
      });
    }
  } else {
    for_runs([&](uint64_t a) FUSESIM_INLINE {
      for (uint64_t b = a, end = a + run_bytes; b < end;) {
        const uint64_t n = std::min(end, (b | burst_mask) + 1) - b;
        step(b, n);
        b += n;
      }
    });
  }
  busy_ = {busy_cycle, busy_rem};
  if (row_lo != uint64_t{1} << 63) row_lo_ = row_lo, row_hi_ = row_lo + row_bytes;
  window.set_next(static_cast<size_t>(slot - ring));
  if constexpr (kCounted) {
    Stats& st = ctx_.stats();
    st.dram_runs += pat.runs();
    st.dram_row_hits += bursts - misses;
    st.dram_row_misses += misses;
    (write ? st.dram_write_bytes : st.dram_read_bytes) += pat.runs() * run_bytes;
  }
  return last_done;
}

uint64_t DramModel::schedule_pattern(const DramPattern& pat, bool write, uint64_t issue_cycle,
                                     uint32_t burst_bytes, BurstWindow* window, bool counted) {
  const uint64_t burst_len = std::max<uint32_t>(1, burst_bytes);
  if (!reference_ && window && open_page_ && row_shift_ >= 0 && (burst_len & (burst_len - 1)) == 0 &&
      burst_len <= row_bytes_ && pat.run_bytes < 2 * row_bytes_)
    return counted ? short_runs<true>(pat, write, issue_cycle, burst_len, *window)
                   : short_runs<false>(pat, write, issue_cycle, burst_len, *window);
  struct Source {
    const DramPattern* pattern;
  };
  return one_pass<true>(pat.runs(), Source{&pat}, write, issue_cycle, burst_bytes, window, counted);
}

uint64_t DramModel::schedule_runs(const DramRun* runs, size_t count, bool write, uint64_t issue_cycle,
                                  uint32_t burst_bytes, BurstWindow* window, bool counted) {
  return one_pass<false>(
      count, [&](uint64_t i) { return runs[i]; }, write, issue_cycle, burst_bytes, window, counted);
}

// A new page is zero except where the write about to fill it goes: a page written whole (the
// host placing tensors, a long STORE) is never zero-filled first. A borrowed image page is
// copied on its first write.
uint8_t* DramModel::page_for_write(uint64_t index, uint64_t off, uint64_t len) {
  auto& own = owned_[index];
  if (!own) {
    own.reset(new uint8_t[kPageBytes]);
    if (const uint8_t* image = pages_[index]) {
      std::memcpy(own.get(), image, kPageBytes);
    } else {
      std::memset(own.get(), 0, off);
      std::memset(own.get() + off + len, 0, kPageBytes - off - len);
    }
    pages_[index] = own.get();
  }
  return own.get();
}

template <class Fn>
void DramModel::for_each_page(uint64_t addr, uint64_t len, Fn fn) {
  for (uint64_t done = 0; done < len;) {
    const uint64_t a = addr + done, off = a % kPageBytes, n = std::min(len - done, kPageBytes - off);
    fn(a / kPageBytes, off, done, n);
    done += n;
  }
}

namespace {
// n <= 64 bytes as at most two overlapping fixed-size moves each way (a LOAD's rows are a few
// dozen bytes: a call to memcpy per row costs more than the copy).
inline void copy_small(uint8_t* dst, const uint8_t* src, uint64_t n) {
  auto two = [&](auto tag) {
    constexpr uint64_t w = sizeof(tag);
    std::memcpy(dst, src, w);
    std::memcpy(dst + n - w, src + n - w, w);
  };
  struct B32 { uint8_t b[32]; };
  struct B16 { uint8_t b[16]; };
  if (n >= 32) two(B32{});
  else if (n >= 16) two(B16{});
  else if (n >= 8) two(uint64_t{});
  else if (n >= 4) two(uint32_t{});
  else for (uint64_t i = 0; i < n; ++i) dst[i] = src[i];
}
}  // namespace

void DramModel::read(uint64_t addr, uint8_t* dst, uint64_t len) {
  const uint64_t off = addr % kPageBytes;
  if (len <= 64 && off + len <= kPageBytes) {  // the usual row of a tile: one page
    if (const uint8_t* p = pages_[addr / kPageBytes])
      copy_small(dst, p + off, len);
    else
      std::memset(dst, 0, len);
    return;
  }
  for_each_page(addr, len, [&](uint64_t pg, uint64_t off, uint64_t done, uint64_t n) {
    const uint8_t* p = pages_[pg];
    if (p)
      std::memcpy(dst + done, p + off, n);
    else
      std::memset(dst + done, 0, n);
  });
}

void DramModel::write(uint64_t addr, const uint8_t* src, uint64_t len) {
  for_each_page(addr, len, [&](uint64_t pg, uint64_t off, uint64_t done, uint64_t n) {
    std::memcpy(page_for_write(pg, off, n) + off, src + done, n);
  });
}

void DramModel::map_image(uint64_t addr, const uint8_t* data, uint64_t len) {
  for_each_page(addr, len, [&](uint64_t pg, uint64_t off, uint64_t done, uint64_t n) {
    if (n == kPageBytes && !pages_[pg])
      pages_[pg] = data + done;  // whole and untouched: borrowed, not copied
    else
      std::memcpy(page_for_write(pg, off, n) + off, data + done, n);
  });
}

// Byte enables and streaming (a streaming width below the length) are not modelled; a width
// of 0 is taken as unset. Debug transport ignores both, as TLM-2.0 specifies.
bool DramModel::supported(const tlm::tlm_generic_payload& p) {
  const unsigned sw = p.get_streaming_width();
  return p.get_byte_enable_ptr() == nullptr && (sw == 0 || sw >= p.get_data_length());
}

template <class RunAt>
void DramModel::move_runs(tlm::tlm_generic_payload& p, const DramRequest& req, size_t count, RunAt run_at) {
  const bool write = p.is_write();
  if (!write && req.scatter) {  // each run's bytes go on filling the pieces where the last one stopped
    const DramPiece* piece = req.scatter;
    const DramPiece* const pieces_end = req.scatter + req.scatter_count;
    uint64_t filled = 0;  // bytes of *piece already filled
    for (size_t i = 0; i < count && piece != pieces_end; ++i) {
      const DramRun r = run_at(i);
      for (uint64_t a = r.addr, left = r.bytes; left > 0 && piece != pieces_end;) {
        const uint64_t n = std::min(left, piece->bytes - filled);
        read(a, piece->dst + filled, n);
        a += n, left -= n, filled += n;
        if (filled == piece->bytes) ++piece, filled = 0;
      }
    }
    return;
  }
  uint8_t* data = p.get_data_ptr();
  for (size_t i = 0; i < count; ++i) {
    const DramRun r = run_at(i);
    if (write)
      this->write(r.addr, data, r.bytes);
    else
      read(r.addr, data, r.bytes);
    data += r.bytes;
  }
}

// Scatter-gather: the runs lie back to back in the payload's data; each is timed as its own
// request. Returns the completion cycle; a run that leaves the DRAM stops it with an address
// error and is noted in `failed_run`.
uint64_t DramModel::serve_runs(tlm::tlm_generic_payload& p, DramRequest& req) {
  const bool write = p.is_write();
  const std::vector<DramRun>& runs = *req.runs;
  size_t ok = 0;  // the runs before the first outside the DRAM are timed and moved
  while (ok < runs.size() && in_range(runs[ok].addr, runs[ok].bytes)) ++ok;
  const uint64_t done =
      schedule_runs(runs.data(), ok, write, req.issue_cycle, req.burst_bytes, req.window, true);
  if (req.move_data) move_runs(p, req, ok, [&](size_t i) { return runs[i]; });
  if (ok < runs.size()) {
    req.failed_run = ok;
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return done;
  }
  p.set_response_status(tlm::TLM_OK_RESPONSE);
  return done;
}

// A pattern whose runs all lie in the DRAM is timed in one pass; one that leaves it is served run
// by run, so that it stops with an address error where a run list would.
uint64_t DramModel::serve_pattern(tlm::tlm_generic_payload& p, DramRequest& req) {
  const DramPattern& pat = *req.pattern;
  if (pat.end() > bytes_) {
    std::vector<DramRun> runs;
    for (uint64_t k = 0; k < pat.planes; ++k)
      for (uint64_t r = 0; r < pat.rows; ++r) runs.push_back({pat.run_addr(k, r), pat.run_bytes});
    DramRequest listed = req;
    listed.runs = &runs;
    const uint64_t done = serve_runs(p, listed);
    req.failed_run = listed.failed_run;
    return done;
  }
  const bool write = p.is_write();
  const uint64_t done = schedule_pattern(pat, write, req.issue_cycle, req.burst_bytes, req.window, true);
  if (req.move_data && !write && req.scatter_pattern) {
    const DramScatterPattern& to = *req.scatter_pattern;
    for (uint64_t k = 0; k < pat.planes; ++k)
      for (uint64_t r = 0; r < pat.rows; ++r)
        read(pat.run_addr(k, r), to.base + k * to.plane_pitch + r * to.row_pitch, pat.run_bytes);
  } else if (req.move_data) {
    const uint64_t rows = std::max<uint64_t>(1, pat.rows);
    uint64_t row = 0, plane_addr = pat.addr;  // move_runs asks for the runs in order
    move_runs(p, req, pat.runs(), [&](size_t) {
      const DramRun r{plane_addr + row * pat.row_stride, pat.run_bytes};
      if (++row == rows) row = 0, plane_addr += pat.plane_stride;
      return r;
    });
  }
  p.set_response_status(tlm::TLM_OK_RESPONSE);
  return done;
}

void DramModel::b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
  DramRequest* req = nullptr;
  p.get_extension(req);
  if (req && (req->runs || req->pattern)) {
    if (!supported(p)) {
      p.set_response_status(p.get_byte_enable_ptr() ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE
                                                    : tlm::TLM_BURST_ERROR_RESPONSE);
      return;
    }
    req->done_cycle = req->runs ? serve_runs(p, *req) : serve_pattern(p, *req);
    delay = ctx_.delay_until(req->done_cycle);
    return;
  }
  if (!in_range(p.get_address(), p.get_data_length())) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (!supported(p)) {
    p.set_response_status(p.get_byte_enable_ptr() ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE
                                                  : tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  const bool write = p.is_write();
  const uint64_t issue = req ? req->issue_cycle : ctx_.cycle_of(sc_core::sc_time_stamp() + delay);
  const uint64_t done = schedule(p.get_address(), p.get_data_length(), write, issue,
                                 req ? req->burst_bytes : ctx_.arch().dma_burst_bytes,
                                 req ? req->window : nullptr, req != nullptr);
  if (!req || req->move_data) transport_dbg(p);
  if (req) req->done_cycle = done;
  delay = ctx_.delay_until(done);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned DramModel::transport_dbg(tlm::tlm_generic_payload& p) {
  if (!in_range(p.get_address(), p.get_data_length()) || p.get_command() == tlm::TLM_IGNORE_COMMAND) return 0;
  if (p.is_write())
    write(p.get_address(), p.get_data_ptr(), p.get_data_length());
  else
    read(p.get_address(), p.get_data_ptr(), p.get_data_length());
  p.set_response_status(tlm::TLM_OK_RESPONSE);
  return p.get_data_length();
}

// DMI is granted one page at a time (storage is sparse); the page is allocated on request.
bool DramModel::get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi) {
  if (p.get_address() >= bytes_) return false;
  const uint64_t index = p.get_address() / kPageBytes;
  dmi.set_dmi_ptr(page_for_write(index, 0, 0));
  dmi.set_start_address(index * kPageBytes);
  dmi.set_end_address(std::min(bytes_, (index + 1) * kPageBytes) - 1);
  dmi.allow_read_write();
  dmi.set_read_latency(sc_core::SC_ZERO_TIME);
  dmi.set_write_latency(sc_core::SC_ZERO_TIME);
  return true;
}

}  // namespace fusesim::hw
