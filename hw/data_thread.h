// The data thread of a functional run. The simulation thread times every LOAD, COMPUTE and STORE
// exactly as timing mode does and hands the instruction's data work (moving its bytes between
// DRAM and the buffers, running the NFU kernels) to this thread, which does it in the order it
// was handed over: the order in which the simulation thread would have done it itself. Data never
// feeds back into timing, so the cycles are timing mode's and the bytes are the single-thread
// run's; the two threads only meet where something outside the data path reads the data (the end
// of a run, the host, words the controller fetches; see docs/performance.md).
//
// One producer (the simulation thread), one consumer, a bounded ring of jobs: the producer blocks
// when the ring is full and resumes once half of it is free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "isa/isa.h"

namespace fusesim::hw {

class DataThread {
 public:
  static constexpr std::size_t kArgBytes = 224;  // a unit's own arguments, copied with the job
  struct Job {
    void (*run)(void* unit, const Job& job);
    void* unit;
    isa::Instr in;  // a copy: the controller's decoded words are reused
    alignas(16) unsigned char args[kArgBytes];
    template <class T>
    const T& arg() const {
      return *reinterpret_cast<const T*>(args);
    }
  };

  explicit DataThread(std::size_t capacity = 1024);  // rounded up to a power of two
  ~DataThread();                                     // finishes the jobs handed over, then stops
  DataThread(const DataThread&) = delete;
  DataThread& operator=(const DataThread&) = delete;

  // Hands over `run(unit, job)` for `in` with `args` (trivially copyable), after every job handed
  // over before it. Blocks while the ring is full.
  template <class Args>
  void post(void (*run)(void*, const Job&), void* unit, const isa::Instr& in, const Args& args) {
    static_assert(std::is_trivially_copyable_v<Args> && sizeof(Args) <= kArgBytes && alignof(Args) <= 16);
    Job& j = claim();
    j.run = run;
    j.unit = unit;
    j.in = in;
    std::memcpy(j.args, &args, sizeof(Args));
    publish();
  }
  // Waits until every job handed over is done; rethrows the first exception a job threw.
  void drain();
  // True when every job handed over is done (then the data may be read without drain()).
  bool idle() const { return done_.load() == posted_; }
  uint64_t jobs() const { return posted_; }

 private:
  std::vector<Job> ring_;
  const uint64_t mask_;
  const uint64_t wake_batch_;  // kWakeBatch, or half a smaller ring
  uint64_t posted_ = 0;                   // jobs handed over (the producer's own count)
  alignas(64) std::atomic<uint64_t> head_{0};  // jobs handed over, as the consumer sees them
  alignas(64) std::atomic<uint64_t> done_{0};  // jobs done
  std::atomic<bool> consumer_waiting_{false}, producer_waiting_{false}, stop_{false};
  std::atomic<uint64_t> wake_at_{0};  // the producer sleeps until at most this many jobs are left
  std::mutex mutex_;
  std::condition_variable jobs_cv_, room_cv_;
  std::exception_ptr error_;  // written by the consumer before done_ moves past the job
  std::thread thread_;

  Job& claim();
  void publish();
  void wake_consumer();
  static constexpr uint64_t kWakeBatch = 64;
  void wait_until_left(uint64_t left);
  void loop();
};

}  // namespace fusesim::hw
