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
  uint64_t earliest_issue() const { return done_[next_]; }
  void push(uint64_t done_cycle) {
    done_[next_] = done_cycle;
    next_ = (next_ + 1) % done_.size();
  }

 private:
  std::vector<uint64_t> done_;
  size_t next_ = 0;
};

struct DramRequest : tlm::tlm_extension<DramRequest> {
  uint64_t issue_cycle = 0;  // absolute cycle the first burst may issue
  uint32_t burst_bytes = 64;
  BurstWindow* window = nullptr;  // null: every burst issues at issue_cycle
  bool move_data = true;          // false in timing-only mode: reserve time, copy nothing
  uint64_t done_cycle = 0;        // out: absolute cycle the last byte has moved

  tlm::tlm_extension_base* clone() const override { return new DramRequest(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const DramRequest&>(other);
  }
};

}  // namespace fusesim::hw
