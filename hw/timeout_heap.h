// The controller's pending timeouts (hw/controller.cpp, "The local scheduler"): a binary heap
// ordered on the cycle alone, with the insert and heapify steps of SystemC 2.3's timed-event queue
// (sc_ppq), so that timeouts due in the same cycle come out in the order SystemC's kernel would
// wake their threads. A stable order (by insertion) would be simpler, and differ: among equal
// cycles the heap's order depends on its history. tests/hw/test_timeout_heap.cpp compares it with
// sc_ppq itself.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace fusesim::hw {

class TimeoutHeap {
 public:
  struct Entry {
    uint64_t cycle;
    int proc;  // whose timeout
  };

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const Entry& top() const { return heap_[1]; }

  // Moves parents down while strictly later than the new entry.
  void insert(Entry e) {
    if (++size_ >= heap_.size()) heap_.resize(2 * heap_.size());
    size_t i = size_;
    while (i > 1 && heap_[i / 2].cycle > e.cycle) {
      heap_[i] = heap_[i / 2];
      i /= 2;
    }
    heap_[i] = e;
  }

  // The last entry goes to the root and sinks: it swaps with the earlier child, the right one only
  // when strictly earlier than the left, while that child is strictly earlier than it.
  Entry extract_top() {
    const Entry top = heap_[1];
    heap_[1] = heap_[size_--];
    for (size_t i = 1;;) {
      const size_t l = 2 * i, r = l + 1;
      if (l > size_) break;
      size_t first = heap_[l].cycle < heap_[i].cycle ? l : i;
      if (r <= size_ && heap_[r].cycle < heap_[first].cycle) first = r;
      if (first == i) break;
      std::swap(heap_[i], heap_[first]);
      i = first;
    }
    return top;
  }

  void clear() { size_ = 0; }

 private:
  std::vector<Entry> heap_ = std::vector<Entry>(8);  // 1-based: heap_[0] is unused
  size_t size_ = 0;
};

}  // namespace fusesim::hw
