// The controller: fetches instruction words from DRAM through TLM, decodes them and dispatches
// them in program order into the load, compute and store queues; one thread per queue runs its
// instructions with VTA-style dependency tokens. Executes SYNC, END and DESC (the map descriptor
// registers, copied into each queue entry at dispatch), detects token deadlock.
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

  RunContext& ctx_;
  Dma &load_, &store_;
  Nfu& nfu_;
  uint32_t prog_addr_ = 0, prog_len_ = 0;
  ProgramFeed* feed_ = nullptr;
  sc_core::sc_event start_event_, drained_event_;
  std::array<std::unique_ptr<InstrQueue>, kNumUnits> queues_;  // sc_event is not movable
  std::array<uint64_t, kNumChannels> tokens_{};
  std::array<sc_core::sc_event, kNumChannels> token_events_;
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
  sc_core::sc_event store_done_event_;
  // Processes waiting for each event (InstrQueue's Waiting): a notification none waits for is
  // skipped.
  std::array<int, kNumChannels> token_waiters_{};
  int drained_waiters_ = 0, store_done_waiters_ = 0;
  tlm::tlm_generic_payload payload_;
  DramRequest* request_;  // owned by payload_

  void fetch_thread();
  void wake_on_halt();
  void serve(int unit);
  void serve_load() { serve(kLoadUnit); }
  void serve_compute() { serve(kComputeUnit); }
  void serve_store() { serve(kStoreUnit); }
  int64_t length_to(uint32_t end);
  bool request(uint32_t first, Chunk& chunk);
  bool dispatch(const isa::Instr& in, uint32_t index);
  bool set_map(const isa::Instr& in, uint32_t index);
  bool wait_drained();
  void end_run();
  void close_accounting(uint64_t end);

  static int channel(int from, int to);
  bool take_tokens(int unit);
  bool pass_fence(int unit);
  // What an executed instruction leaves to do once its unit has waited for its completion (its
  // queue slot may be refilled meanwhile).
  struct Done {
    uint32_t index, layer;
    bool push_prev, push_next;
  };
  void give_tokens(int unit, const Done& d);
  bool neighbours_exist(int unit, const InstrQueue::Entry& e);
  uint64_t execute(int unit, const InstrQueue::Entry& e);
  void account(int unit, const Done& e, uint64_t start, uint64_t done);
  void trace_started(int unit, const InstrQueue::Entry& e);
  void attribute_fetch(const Chunk& chunk);

  bool unit_stuck(int unit) const;
  void check_deadlock();
  std::string blocked_report(int64_t& first_index, std::string& units) const;
};

}  // namespace fusesim::hw
