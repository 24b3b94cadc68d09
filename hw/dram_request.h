// TLM extension carried by the accelerator's own DRAM requests (instruction fetch, load and
// store DMA): how the initiator pipelines its bursts and whether data really moves. Requests
// without it (the host) are timed like any other but are not counted in the run statistics.
#pragma once

#include <algorithm>
#include <cstdint>
#include <tlm>
#include <vector>

namespace fusesim::hw {

// Completion cycles of an initiator's last `outstanding` bursts: burst n may issue only when
// burst n - outstanding has completed. Owned by the initiator, updated by the DRAM.
class BurstWindow {
 public:
  explicit BurstWindow(uint32_t outstanding) : done_(std::max<uint32_t>(1, outstanding), 0) {}
  size_t size() const { return done_.size(); }
  uint64_t earliest_issue() const { return done_[next_]; }
  void push(uint64_t done_cycle) {
    done_[next_] = done_cycle;
    if (++next_ == done_.size()) next_ = 0;
  }
  // The ring itself, for a loop that keeps the position in a local (DramModel::one_pass): entry
  // next() is the completion the next burst waits for; set_next() hands the position back.
  uint64_t* ring() { return done_.data(); }
  size_t next() const { return next_; }
  void set_next(size_t n) { next_ = n; }
  // The i-th oldest completion cycle (0 = the one the next burst waits for).
  uint64_t oldest(size_t i) const {
    const size_t j = next_ + i;
    return done_[j < done_.size() ? j : j - done_.size()];
  }
  // The state after `bursts` more bursts whose completions are the current ones, oldest
  // first, each `cycles` later: how the DRAM replays a repeating stretch in one step.
  void replay(uint64_t bursts, uint64_t cycles) {
    const size_t turn = static_cast<size_t>(bursts % done_.size());
    std::rotate(done_.rbegin(), done_.rbegin() + turn, done_.rend());
    for (uint64_t& d : done_) d += cycles;
    next_ += turn;
    if (next_ >= done_.size()) next_ -= done_.size();
  }

 private:
  std::vector<uint64_t> done_;
  size_t next_ = 0;
};

// One contiguous piece of a gathered (LOAD) or scattered (STORE) transfer.
struct DramRun {
  uint64_t addr = 0;   // DRAM byte address
  uint64_t bytes = 0;  // length; the payload's data holds the runs back to back
};

// A regular strided set of runs, as a dense LOAD/STORE pattern gives: `planes` x `rows` runs of
// `run_bytes` each, run (p, r) at addr + p * plane_stride + r * row_stride, rows innermost.
struct DramPattern {
  uint64_t addr = 0, run_bytes = 0;
  uint64_t rows = 0, row_stride = 0;
  uint64_t planes = 0, plane_stride = 0;

  uint64_t runs() const { return rows * planes; }
  uint64_t run_addr(uint64_t plane, uint64_t row) const {
    return addr + plane * plane_stride + row * row_stride;
  }
  // The highest byte any run reaches, plus one (strides are not negative).
  uint64_t end() const { return runs() ? run_addr(planes - 1, rows - 1) + run_bytes : addr; }
};

// Where a functional read puts its bytes when they do not go to the payload's data: a piece of the
// initiator's own memory (a DMA's destination buffer).
struct DramPiece {
  uint8_t* dst = nullptr;
  uint64_t bytes = 0;
};

// The same for a read with `pattern` whose destinations are regular too: run (plane k, row r)
// goes to base + k * plane_pitch + r * row_pitch.
struct DramScatterPattern {
  uint8_t* base = nullptr;
  uint64_t row_pitch = 0, plane_pitch = 0;
};

struct DramRequest : tlm::tlm_extension<DramRequest> {
  uint64_t issue_cycle = 0;  // absolute cycle the first burst may issue
  uint32_t burst_bytes = 64;
  BurstWindow* window = nullptr;  // null: every burst issues at issue_cycle
  bool move_data = true;          // false in timing-only mode: reserve time, copy nothing
  // Scatter-gather: when non-null, the runs are served in order, all issued at issue_cycle, as if
  // each were its own request; the payload's address is the first run's (for routing) and its
  // length the runs' total. On a run outside the DRAM it stops there with an address error.
  const std::vector<DramRun>* runs = nullptr;
  // The same as a pattern: when non-null (and `runs` null), its runs are served as `runs` would
  // serve them listed in order, timed in one pass (DramModel::schedule_pattern).
  const DramPattern* pattern = nullptr;
  // Reads with `runs` or `pattern` (move_data set): when non-null, the runs' bytes, in order, fill
  // these `scatter_count` pieces in order instead of the payload's data back to back (a LOAD
  // placing its rows straight into the buffer, without a staging copy). The pieces hold exactly
  // the bytes of the runs.
  const DramPiece* scatter = nullptr;
  size_t scatter_count = 0;
  const DramScatterPattern* scatter_pattern = nullptr;  // reads with `pattern`, instead of scatter
  uint64_t done_cycle = 0;  // out: absolute cycle the last byte has moved
  size_t failed_run = 0;    // out: on an address error with `runs`, the run that failed

  tlm::tlm_extension_base* clone() const override { return new DramRequest(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const DramRequest&>(other);
  }
};

}  // namespace fusesim::hw
