// VCD trace file setup: one group of signals per concern, named as they appear in GTKWave.
#include "tracer.h"

namespace fusesim::hw {

Tracer::Tracer(const std::string& vcd_path) {
  std::string base = vcd_path;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0) base.resize(base.size() - 4);
  file_ = sc_core::sc_create_vcd_trace_file(base.c_str());
  file_->set_time_unit(1, sc_core::SC_PS);
  for (const auto* s : busy_) sc_core::sc_trace(file_, *s, s->name());
  for (const auto* s : depth_) sc_core::sc_trace(file_, *s, s->name());
  for (const auto* s : {&layer_, &pc_}) sc_core::sc_trace(file_, *s, s->name());
  for (const auto* s : {&dram_read_, &dram_write_}) sc_core::sc_trace(file_, *s, s->name());
}

Tracer::~Tracer() { sc_core::sc_close_vcd_trace_file(file_); }

}  // namespace fusesim::hw
