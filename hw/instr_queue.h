// A bounded in-order instruction queue between the controller and one unit (load, compute or
// store). Waiters re-check the condition in a loop, so immediate notification is safe.
#pragma once

#include <cstdint>
#include <deque>
#include <systemc>

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

  explicit InstrQueue(size_t depth) : depth_(depth ? depth : 1) {}

  bool empty() const { return q_.empty(); }
  bool full() const { return q_.size() >= depth_; }
  size_t size() const { return q_.size(); }
  const Entry& front() const { return q_.front(); }
  void push(const Entry& e) {
    q_.push_back(e);
    pushed_.notify();
  }
  void pop() {
    q_.pop_front();
    popped_.notify();
  }
  const sc_core::sc_event& pushed() const { return pushed_; }
  const sc_core::sc_event& popped() const { return popped_; }

 private:
  std::deque<Entry> q_;
  size_t depth_;
  sc_core::sc_event pushed_, popped_;
};

}  // namespace fusesim::hw
