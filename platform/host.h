// The host driver: software running as a SystemC thread. Like a real driver it places the
// program and tensors in DRAM, programs the CSRs over TLM, sleeps until the IRQ and reads back.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>
#include <vector>

#include "compiler/compiler.h"

namespace fusesim {

struct HostResult {
  bool irq_seen = false;
  uint32_t status = 0, error = 0, error_instr = 0;
  uint64_t cycles = 0;  // CYCLE CSR
  std::vector<std::vector<uint8_t>> outputs;  // functional runs only
};

class HostDriver : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<HostDriver> socket;
  sc_core::sc_in<bool> irq;

  // `input` is null in timing-only runs: then no tensors are moved, only the program. With
  // `constants_in_dram` the weights and biases are already in DRAM (an initial memory image),
  // and with `program_in_dram` so are the program words. PROG_LEN is `prog_len`, by default the
  // program's length (a program still being generated: the room its words have, its END ends it).
  HostDriver(sc_core::sc_module_name name, const compiler::Program& program,
             const std::vector<uint8_t>* input, bool constants_in_dram = false, bool program_in_dram = false,
             int64_t prog_len = -1);
  const HostResult& result() const { return result_; }

 private:
  const compiler::Program& program_;
  const std::vector<uint8_t>* input_;
  bool constants_in_dram_, program_in_dram_;
  int64_t prog_len_;
  HostResult result_;

  void run();
  void write_dram(uint64_t addr, const uint8_t* data, std::size_t len);
  void read_dram(uint64_t addr, uint8_t* data, std::size_t len);
  void write_csr(uint32_t offset, uint32_t value);
  uint32_t read_csr(uint32_t offset);
  void csr_access(tlm::tlm_command cmd, uint32_t offset, uint32_t& value);
};

}  // namespace fusesim
