// A bounded in-order instruction queue between the controller and one unit (load, compute or
// store). Waiters re-check the condition in a loop, so immediate notification is safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <systemc>
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
  // An immediate notification reaches only the processes waiting for the event at that moment:
  // with none (the usual case: a unit is busy when the controller pushes, the controller is not
  // blocked when a unit pops) it has no effect, and is skipped. Waiters say so (see Waiting).
  void push() {
    ++size_;
    if (push_waiters_) pushed_.notify();
  }
  void pop() {
    head_ = (head_ + 1) % ring_.size();
    --size_;
    if (pop_waiters_) popped_.notify();
  }
  const sc_core::sc_event& pushed() const { return pushed_; }
  const sc_core::sc_event& popped() const { return popped_; }
  // Wakes every process waiting on the queue (the run halted).
  void wake() {
    pushed_.notify();
    popped_.notify();
  }
  int& push_waiters() { return push_waiters_; }
  int& pop_waiters() { return pop_waiters_; }

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
  sc_core::sc_event pushed_, popped_;
  int push_waiters_ = 0, pop_waiters_ = 0;  // processes in a wait for pushed_ / popped_
};

// Counts a process as waiting for an event for the scope of its wait, so that the notifier can
// skip notifications nobody waits for (they have no effect in SystemC).
class Waiting {
 public:
  explicit Waiting(int& count) : count_(count) { ++count_; }
  ~Waiting() { --count_; }
  Waiting(const Waiting&) = delete;
  Waiting& operator=(const Waiting&) = delete;

 private:
  int& count_;
};

}  // namespace fusesim::hw
