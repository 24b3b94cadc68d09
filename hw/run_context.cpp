// Clock conversions, run lifecycle and fault latch of one accelerator run.
#include "run_context.h"

#include <cmath>

namespace fusesim::hw {

RunContext::RunContext(const ArchParams& arch, const AcceleratorOptions& opt)
    : arch_(arch),
      opt_(opt),
      period_ps_(static_cast<uint64_t>(std::llround(1000.0 / arch.clock_ghz))),
      sim_(sc_core::sc_get_curr_simcontext()) {
  // Cycle <-> time conversion is exact integer math in units of the time resolution.
  const uint64_t res_ps =
      static_cast<uint64_t>(std::llround(sc_core::sc_get_time_resolution().to_seconds() * 1e12));
  if (res_ps != 1) throw std::logic_error("fusesim requires the SystemC time resolution of 1 ps");
  period_ = sc_core::sc_time::from_value(period_ps_);
  stats_.bw_window = opt_.bw_window;
}

uint64_t RunContext::cycle_of(const sc_core::sc_time& t) const {
  return (t.value() + period_ps_ - 1) / period_ps_;
}

sc_core::sc_time RunContext::time_of(uint64_t cycle) const {
  return sc_core::sc_time::from_value(cycle * period_ps_);
}

// In whole picoseconds (the time resolution), without building sc_time values on the way: every
// instruction of every unit waits once.
sc_core::sc_time RunContext::delay_until(uint64_t cycle) const {
  const uint64_t t = cycle * period_ps_, now = local_ ? local_cycle_ * period_ps_ : sim_->time_stamp().value();
  return t > now ? sc_core::sc_time::from_value(t - now) : sc_core::SC_ZERO_TIME;
}

void RunContext::wait_until(uint64_t cycle) const {
  const uint64_t t = cycle * period_ps_, now = sim_->time_stamp().value();
  if (t > now) sc_core::wait(sc_core::sc_time::from_value(t - now));
}

void RunContext::leave_local() {
  local_ = false;
  wait_until(local_cycle_);
  if (finish_deferred_) {
    finish_deferred_ = false;
    finished_ = true;
    for (auto& listener : finish_listeners_) listener(start_cycle_ + stats_.cycles);
  }
}

void RunContext::begin_run() {
  stats_ = Stats{};
  stats_.bw_window = opt_.bw_window;
  start_cycle_ = now();
  started_ = true;
  finished_ = false;
}

void RunContext::finish(uint64_t end_cycle) {
  if (ended()) return;
  stats_.cycles = end_cycle - start_cycle_;
  if (local_) {
    finish_deferred_ = true;  // the listeners run in leave_local()
    return;
  }
  finished_ = true;
  for (auto& listener : finish_listeners_) listener(end_cycle);
}

void RunContext::fault(const std::string& kind, int64_t index, const std::string& unit,
                       const std::string& msg) {
  if (stats_.fault.raised || ended()) return;
  stats_.fault = Fault{true, kind, index, unit, msg};
  finish(std::max(now(), start_cycle_));
}

uint64_t RunContext::elapsed() const {
  if (!started_) return 0;
  return finished_ ? stats_.cycles : now() - start_cycle_;
}

}  // namespace fusesim::hw
