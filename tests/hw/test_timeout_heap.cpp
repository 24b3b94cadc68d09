// TimeoutHeap against SystemC's own timed-event queue (sc_core::sc_ppq, compared on the time
// alone, as sc_simcontext's is): the controller's local scheduler wakes processes whose timeouts
// fall in one cycle in the order the heap yields them, which must be the order SystemC's kernel
// would have woken the threads in (hw/controller.cpp, "The local scheduler").
#include <gtest/gtest.h>

#include <random>
#include <sysc/utils/sc_pq.h>
#include <vector>

#include "timeout_heap.h"

namespace fusesim::testing {
namespace {

struct Timed {
  uint64_t cycle;
  int proc;
};

// sc_notify_time_compare's order: earlier first, equal times compare equal.
int compare(const void* a, const void* b) {
  const uint64_t ta = static_cast<const Timed*>(a)->cycle, tb = static_cast<const Timed*>(b)->cycle;
  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

// Random inserts and extractions with many equal cycles (a few processes, small cycle steps, as a
// run has): both queues give the same entries in the same order.
TEST(TimeoutHeap, PopsEqualCyclesInSystemCsOrder) {
  std::mt19937_64 rng(20261204);
  for (int trial = 0; trial < 2000; ++trial) {
    sc_core::sc_ppq<Timed*> reference(2, compare);  // grows as SystemC's does
    hw::TimeoutHeap heap;
    std::vector<Timed> pool;
    pool.reserve(4096);
    const int procs = 1 + static_cast<int>(rng() % 6);
    uint64_t now = 0;
    int ties = 0;
    for (int op = 0; op < 400; ++op) {
      if (heap.size() < static_cast<size_t>(procs) && (heap.empty() || rng() % 3 != 0)) {
        pool.push_back({now + 1 + rng() % 4, static_cast<int>(pool.size())});
        reference.insert(&pool.back());
        heap.insert({pool.back().cycle, pool.back().proc});
      } else {
        ASSERT_EQ(reference.size(), static_cast<int>(heap.size()));
        const Timed* want = reference.extract_top();
        const hw::TimeoutHeap::Entry got = heap.extract_top();
        ASSERT_EQ(got.cycle, want->cycle) << "trial " << trial << " op " << op;
        ASSERT_EQ(got.proc, want->proc) << "trial " << trial << " op " << op;
        if (!heap.empty() && heap.top().cycle == got.cycle) ++ties;
        now = got.cycle;
      }
    }
    if (procs > 2) {
      EXPECT_GT(ties, 0) << "trial " << trial << ": no equal cycles were popped";
    }
  }
}

// The order among equal cycles is the heap's, not the insertion order: a stable queue would
// differ, so the test above can tell them apart.
TEST(TimeoutHeap, EqualCyclesAreNotInInsertionOrder) {
  hw::TimeoutHeap heap;
  for (int p = 0; p < 4; ++p) heap.insert({10, p});
  std::vector<int> order;
  while (!heap.empty()) order.push_back(heap.extract_top().proc);
  EXPECT_EQ(order, (std::vector<int>{0, 3, 2, 1}));
}

}  // namespace
}  // namespace fusesim::testing
