// The controller: fetches instruction words from DRAM through TLM, decodes them and dispatches
// them in program order into the load, compute and store queues; one process per queue runs its
// instructions with VTA-style dependency tokens. Executes SYNC, END and DESC (the map descriptor
// registers, copied into each queue entry at dispatch), detects token deadlock.
//
// Temporal decoupling: a run's four processes (fetch and the three queues) are state machines
// scheduled by the controller's one SC_THREAD on a local clock ahead of SystemC's time, in the
// order SystemC's kernel would run them as threads (see "The local scheduler" in
// controller.cpp); SystemC's time catches up when the run ends.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "accelerator.h"
#include "dma.h"
#include "instr_queue.h"
#include "nfu.h"
#include "run_context.h"
#include "timeout_heap.h"

namespace fusesim::hw {

class Controller : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Controller> fetch_socket;

  Controller(sc_core::sc_module_name name, RunContext& ctx, Dma& load, Nfu& nfu, Dma& store);

  // CTRL.start: run `len` instructions from DRAM byte address `addr`.
  void start(uint32_t addr, uint32_t len);
  // A program still being generated (AcceleratorOptions::feed).
  void set_feed(ProgramFeed* feed) { feed_ = feed; }
  // After sc_start returned with the run unfinished: report what each queue waits for.
  void diagnose_unfinished();

 private:
  enum class UnitState { WaitQueue, WaitToken, WaitFence, Busy };
  enum class CtrlState { Idle, Fetching, WaitQueueFull, WaitDrain, Done };
  // Token channels between neighbouring queues: hw::Channel in stats.h.

  // A block of fetched instruction words, usable from `ready` on, each decoded once on arrival
  // (nullopt: not a valid word).
  struct Chunk {
    uint32_t first = 0, count = 0;
    uint64_t ready = 0;
    std::vector<uint8_t> bytes;
    std::vector<std::optional<isa::Instr>> instrs;
  };

  // ---- the local scheduler (controller.cpp) ----
  // Processes: kFetchProc, and unit u's queue as u + 1.
  static constexpr int kFetchProc = 0, kNumProcs = kNumUnits + 1;
  // Events a process waits for: one waiter at most each (a queue's unit, the fetch process, the
  // token channel's receiver, the load unit for stores).
  enum Event : int {
    kPushed = 0,                         // + unit: an instruction entered the unit's queue
    kPopped = kPushed + kNumUnits,       // + unit: the unit took its head
    kToken = kPopped + kNumUnits,        // + channel: a token was sent
    kDrained = kToken + kNumChannels,    // an instruction completed
    kStoreDone = kDrained + 1,           // a STORE completed
    kNumEvents = kStoreDone + 1
  };
  // Resume points of the processes' state machines.
  enum class FetchPc { Top, Ready, Dispatch, Full, Drain };
  enum class UnitPc { Top, Fence, FenceWait, Tokens, TokenWait, Execute, Complete };
  struct UnitProc {
    UnitPc pc = UnitPc::Top;
    int token = 0;           // which of the head's two pops take_tokens is at (prev, next)
    int channel = -1;        // the channel of that pop
    uint64_t wait_from = 0;  // when the fence or token wait began
    uint64_t start = 0, done = 0;
    uint32_t index = 0, layer = 0;
    bool push_prev = false, push_next = false;
  };

  RunContext& ctx_;
  Dma &load_, &store_;
  Nfu& nfu_;
  uint32_t prog_addr_ = 0, prog_len_ = 0;
  ProgramFeed* feed_ = nullptr;
  sc_core::sc_event start_event_;
  std::array<std::unique_ptr<InstrQueue>, kNumUnits> queues_;
  std::array<uint64_t, kNumChannels> tokens_{};
  std::array<UnitState, kNumUnits> unit_state_{};
  std::array<int, kNumUnits> waiting_channel_{};
  std::array<uint64_t, kNumUnits> mark_{};         // start of the unit's current accounting interval
  std::array<uint64_t, kNumUnits> phase_start_{};  // when the current token wait or execution began
  CtrlState ctrl_state_ = CtrlState::Idle;
  uint32_t ctrl_index_ = 0;  // instruction the controller is working on
  uint64_t pending_ = 0;     // dispatched but not completed
  // Map descriptor registers (ISA v4), written by DESC at dispatch; register 0 is the dense layout.
  std::array<isa::MapDesc, 8> maps_{};
  // Store fences (LOAD.store_fence): STOREs dispatched and completed so far (in order).
  uint64_t stores_dispatched_ = 0, stores_completed_ = 0, fence_wait_ = 0;
  tlm::tlm_generic_payload payload_;
  DramRequest* request_;  // owned by payload_

  // Scheduler state: the runnable processes in order (a ring: each process is in it once at
  // most), the timeouts (in SystemC's heap order), each event's waiter (-1: none).
  std::array<int, kNumProcs> runnable_{};
  int run_head_ = 0, run_count_ = 0;
  TimeoutHeap timeouts_;
  std::array<int, kNumEvents> waiter_{};
  int current_ = kFetchProc;
  // The fetch process's state.
  FetchPc fetch_pc_ = FetchPc::Top;
  Chunk cur_, next_;
  uint32_t fetch_i_ = 0;  // the word of cur_ being dispatched
  bool more_ = false;     // words follow cur_
  std::array<UnitProc, kNumUnits> units_{};

  void run_thread();
  void schedule();
  void make_runnable(int proc);
  void notify(int event);
  void wait_for(int event) { waiter_[event] = current_; }
  void wait_until(uint64_t cycle) { timeouts_.insert({cycle, current_}); }  // SystemC's wait(t), t > 0
  void fetch_step();
  void unit_step(int unit);

  int64_t length_to(uint32_t end);
  bool request(uint32_t first, Chunk& chunk);
  bool set_map(const isa::Instr& in, uint32_t index);
  void end_run();
  void close_accounting(uint64_t end);

  static int channel(int from, int to);
  bool neighbours_exist(int unit, const InstrQueue::Entry& e);
  uint64_t execute(int unit, const InstrQueue::Entry& e);
  void account(int unit, const UnitProc& p);
  void give_tokens(int unit, const UnitProc& p);
  void trace_started(int unit, const InstrQueue::Entry& e);
  void attribute_fetch(const Chunk& chunk);

  bool unit_stuck(int unit) const;
  void check_deadlock();
  std::string blocked_report(int64_t& first_index, std::string& units) const;
};

}  // namespace fusesim::hw
