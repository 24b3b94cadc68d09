// State shared by the units of one accelerator run: the clock (integer cycles <-> sc_time),
// the mode, the statistics and the fault latch that stops every unit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <systemc>
#include <vector>

#include "accelerator.h"
#include "isa/arch_params.h"
#include "stats.h"
#include "tracer.h"

namespace fusesim::hw {

class DataThread;

class RunContext {
 public:
  RunContext(const ArchParams& arch, const AcceleratorOptions& opt);

  const ArchParams& arch() const { return arch_; }
  const AcceleratorOptions& options() const { return opt_; }
  bool functional() const { return opt_.mode == Mode::Functional; }

  // Clock: period = 1/clock_ghz ns rounded to the ps. Cycle numbers are absolute (from time 0).
  const sc_core::sc_time& period() const { return period_; }
  uint64_t cycle_of(const sc_core::sc_time& t) const;  // rounded up to a cycle boundary
  // The current cycle (rounded up). Several calls per instruction: inline, reading the time
  // straight from the simulation context (sc_time_stamp() is a library call per question).
  uint64_t now() const {
    if (local_) return local_cycle_;
    const uint64_t ps = sim_->time_stamp().value();
    if (ps != now_ps_) {
      now_ps_ = ps;
      now_cycle_ = (ps + period_ps_ - 1) / period_ps_;
    }
    return now_cycle_;
  }
  sc_core::sc_time time_of(uint64_t cycle) const;
  sc_core::sc_time delay_until(uint64_t cycle) const;  // from now; zero if already past
  void wait_until(uint64_t cycle) const;               // only from a thread

  // Temporal decoupling (the controller's local scheduler, hw/controller.cpp). Between
  // enter_local() and leave_local() the current cycle is the scheduler's local clock, set with
  // set_local(), which runs ahead of SystemC's time; nothing else in the simulation acts
  // meanwhile (the host waits for the interrupt). A run that ends in between is ended() at once
  // but finished() only in leave_local(), which first waits (from the controller's thread) until
  // SystemC's time reaches the local clock, then calls the finish listeners: the interrupt is
  // raised, and the CSRs show the run done, at the cycle the run ended.
  void enter_local() {
    local_cycle_ = now();
    local_ = true;
  }
  void set_local(uint64_t cycle) { local_cycle_ = cycle; }
  void leave_local();

  // Run lifecycle.
  void begin_run();  // at the current (cycle-aligned) time
  uint64_t start_cycle() const { return start_cycle_; }
  bool started() const { return started_; }
  bool finished() const { return finished_; }  // END reached or a fault (as SystemC's time has it)
  // The run ended at the local clock (see enter_local), or finished.
  bool ended() const { return finished_ || finish_deferred_; }
  bool halted() const { return stats_.fault.raised; }
  void finish(uint64_t end_cycle);
  // Latches the first fault, stops the run and tells the CSR block. Later faults are ignored.
  void fault(const std::string& kind, int64_t index, const std::string& unit, const std::string& msg);
  // Called in registration order when the run ends (END or fault), with the end cycle.
  void on_finish(std::function<void(uint64_t)> listener) { finish_listeners_.push_back(std::move(listener)); }
  // Cycles since CTRL.start, frozen at the end of the run.
  uint64_t elapsed() const;

  // Functional runs with a data thread (AcceleratorOptions::data_thread): the units hand their
  // data work to it (hw/data_thread.h); null: they do it themselves.
  DataThread* data_thread() const { return data_thread_; }
  void set_data_thread(DataThread* d) { data_thread_ = d; }
  // The DRAM pages [lo, hi) the program's words may occupy (set at CTRL.start from PROG_ADDR and
  // PROG_LEN): the controller reads them on the simulation thread, so data work touching them is
  // done there too, after the data thread has caught up.
  void set_program_pages(uint64_t lo, uint64_t hi) { prog_lo_ = lo, prog_hi_ = hi; }
  bool touches_program(uint64_t lo, uint64_t hi) const { return lo < prog_hi_ && prog_lo_ < hi; }

  // The waveform tracer, or null when no VCD was asked for.
  Tracer* tracer() const { return tracer_; }
  void set_tracer(Tracer* t) { tracer_ = t; }

  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }
  LayerStats& layer(uint32_t id) {  // several calls per instruction: inline
    if (id >= stats_.layers.size()) stats_.layers.resize(id + 1);
    return stats_.layers[id];
  }

 private:
  ArchParams arch_;
  AcceleratorOptions opt_;
  sc_core::sc_time period_;
  uint64_t period_ps_;
  const sc_core::sc_simcontext* sim_;  // the context the accelerator was elaborated in
  // now()'s last answer: most calls come at the same time stamp, and cycle_of divides.
  mutable uint64_t now_ps_ = 0, now_cycle_ = 0;
  bool local_ = false, finish_deferred_ = false;
  uint64_t local_cycle_ = 0;
  uint64_t start_cycle_ = 0;
  bool started_ = false, finished_ = false;
  Stats stats_;
  std::vector<std::function<void(uint64_t)>> finish_listeners_;
  Tracer* tracer_ = nullptr;
  DataThread* data_thread_ = nullptr;
  uint64_t prog_lo_ = 0, prog_hi_ = 0;
};

}  // namespace fusesim::hw
