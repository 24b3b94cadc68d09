// A bounded in-order instruction queue between the controller and one unit (load, compute or
// store). The controller's scheduler wakes whoever waits for a push or a pop (controller.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "isa/isa.h"
#include "isa/map_desc.h"

namespace fusesim::hw {

class InstrQueue {
 public:
  struct Entry {
    isa::Instr instr;
    uint32_t index;  // position in the program
    uint64_t fence_stores = 0;  // LOAD with store_fence: STOREs that must have completed first
    // Map descriptor registers copied at dispatch (ISA v4), so that a later DESC does not change
    // an instruction already queued. LOAD/STORE: buf_desc; COMPUTE: in_desc and out_desc.
    isa::MapDesc buf_map, in_map, out_map;
  };

  explicit InstrQueue(size_t depth) : depth_(depth ? depth : 1), ring_(std::min<size_t>(depth_, 64)) {}

  bool empty() const { return size_ == 0; }
  bool full() const { return size_ >= depth_; }
  size_t size() const { return size_; }
  const Entry& front() const { return ring_[head_]; }
  // Pushing is in two steps, so that the entry is written in place: slot() is the entry the next
  // push() appends, filled by the caller in between. The caller checks full() first, as the
  // controller does before dispatching.
  Entry& slot() {
    if (size_ == ring_.size()) grow();
    return ring_[(head_ + size_) % ring_.size()];
  }
  void push() { ++size_; }
  void pop() {
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }

 private:
  // A ring of entries, grown (up to depth_) only when a deep queue really fills: no allocation
  // per instruction.
  size_t depth_;
  std::vector<Entry> ring_;
  size_t head_ = 0, size_ = 0;

  void grow() {
    std::vector<Entry> bigger(std::min(depth_, 2 * ring_.size()));
    for (size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_.swap(bigger);
    head_ = 0;
  }
};

}  // namespace fusesim::hw
