#include "data_thread.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fusesim::hw {

namespace {
std::size_t power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}
}  // namespace

DataThread::DataThread(std::size_t capacity)
    : ring_(power_of_two(capacity < 2 ? 2 : capacity)),
      mask_(ring_.size() - 1),
      wake_batch_(std::min<uint64_t>(kWakeBatch, ring_.size() / 2)),
      thread_([this] { loop(); }) {}

DataThread::~DataThread() {
  try {
    drain();
  } catch (...) {  // reported by the drain() the run made, or moot when the run was abandoned
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  jobs_cv_.notify_one();
  thread_.join();
}

DataThread::Job& DataThread::claim() {
  if (posted_ - done_.load(std::memory_order_acquire) > mask_) wait_until_left(ring_.size() / 2);
  return ring_[posted_ & mask_];
}

// A sleeping consumer is woken once wake_batch_ jobs wait for it (or by a producer that waits
// itself): a wake-up costs a few microseconds of system time on each side, a job one on average.
void DataThread::publish() {
  head_.store(++posted_);  // seq_cst: ordered before the load of consumer_waiting_ (see loop())
  if (posted_ - done_.load(std::memory_order_relaxed) >= wake_batch_) wake_consumer();
}

void DataThread::wake_consumer() {
  if (consumer_waiting_.load()) {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_cv_.notify_one();
  }
}

// Sleeps until at most `left` jobs are outstanding. Each side stores its own flag and then
// loads the other's counter (all seq_cst): one of the two sees the other, and the consumer
// notifies under the mutex, so no wake-up is lost.
void DataThread::wait_until_left(uint64_t left) {
  if (posted_ - done_.load() <= left) return;
  wake_consumer();
  wake_at_.store(left);
  producer_waiting_.store(true);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    room_cv_.wait(lock, [&] { return posted_ - done_.load() <= left; });
  }
  producer_waiting_.store(false);
}

void DataThread::drain() {
  wait_until_left(0);
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void DataThread::loop() {
  uint64_t next = 0;
  for (;;) {
    // Jobs come in bursts of a few hundred nanoseconds apart: spin a little before sleeping.
    for (int spin = 0; spin < 256 && head_.load(std::memory_order_acquire) == next; ++spin) relax();
    if (head_.load(std::memory_order_acquire) == next) {
      consumer_waiting_.store(true);
      std::unique_lock<std::mutex> lock(mutex_);
      jobs_cv_.wait(lock, [&] { return head_.load() != next || stop_.load(); });
      consumer_waiting_.store(false);
      if (head_.load() == next) return;  // stopped with nothing left
    }
    const Job& j = ring_[next & mask_];
    if (!error_) {
      try {
        j.run(j.unit, j);
      } catch (...) {
        error_ = std::current_exception();  // later jobs are skipped; drain() rethrows it
      }
    }
    done_.store(++next);
    if (producer_waiting_.load() && head_.load() - next <= wake_at_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      room_cv_.notify_one();
    }
  }
}

}  // namespace fusesim::hw
