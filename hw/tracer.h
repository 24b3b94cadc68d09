// Optional VCD waveform of a run (AcceleratorOptions::vcd_path): unit busy lines, queue depths,
// the NFU's current layer, the controller's pc and cumulative DRAM bytes. Every signal changes
// per event (instruction, transaction), never per cycle, so tracing stays cheap.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <systemc>

namespace fusesim::hw {

class Tracer {
 public:
  // Creates the signals and opens `vcd_path` (".vcd" appended if missing); elaboration only.
  explicit Tracer(const std::string& vcd_path);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  void busy(int unit, bool on) { busy_[unit]->write(on); }
  void queue_depth(int unit, uint32_t depth) { depth_[unit]->write(depth); }
  void layer(uint32_t id) { layer_.write(id); }
  void pc(uint32_t index) { pc_.write(index); }
  void dram(uint64_t read_bytes, uint64_t write_bytes) {
    dram_read_.write(read_bytes);
    dram_write_.write(write_bytes);
  }

 private:
  // Written from several processes (the DRAM is called from each initiator's thread).
  template <class T>
  using Signal = sc_core::sc_signal<T, sc_core::SC_UNCHECKED_WRITERS>;
  sc_core::sc_trace_file* file_;
  Signal<bool> busy_load_{"busy_load"}, busy_compute_{"busy_compute"}, busy_store_{"busy_store"};
  Signal<uint32_t> depth_load_{"queue_load"}, depth_compute_{"queue_compute"}, depth_store_{"queue_store"};
  Signal<uint32_t> layer_{"nfu_layer"}, pc_{"pc"};
  Signal<uint64_t> dram_read_{"dram_read_bytes"}, dram_write_{"dram_write_bytes"};
  std::array<Signal<bool>*, 3> busy_{&busy_load_, &busy_compute_, &busy_store_};
  std::array<Signal<uint32_t>*, 3> depth_{&depth_load_, &depth_compute_, &depth_store_};
};

}  // namespace fusesim::hw
