// Host driver thread: load, start, wait for the interrupt, read back.
#include "host.h"

#include <algorithm>
#include <stdexcept>

#include "hw/accelerator.h"

namespace fusesim {

using namespace sc_core;

HostDriver::HostDriver(sc_module_name name, const compiler::Program& program,
                       const std::vector<uint8_t>* input, bool constants_in_dram, bool program_in_dram,
                       int64_t prog_len)
    : sc_module(name),
      socket("socket"),
      irq("irq"),
      program_(program),
      input_(input),
      constants_in_dram_(constants_in_dram),
      program_in_dram_(program_in_dram),
      prog_len_(prog_len) {
  SC_HAS_PROCESS(HostDriver);
  SC_THREAD(run);
}

void HostDriver::write_dram(uint64_t addr, const uint8_t* data, std::size_t len) {
  // Bulk placement is untimed (debug transport): it happens before the accelerator starts and
  // must not occupy the DRAM timeline the run is measured on.
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t off = 0; off < len; off += kChunk) {
    tlm::tlm_generic_payload p;
    std::size_t n = std::min(kChunk, len - off);
    p.set_command(tlm::TLM_WRITE_COMMAND);
    p.set_address(addr + off);
    p.set_data_ptr(const_cast<uint8_t*>(data + off));
    p.set_data_length(static_cast<unsigned>(n));
    if (socket->transport_dbg(p) != n) throw std::runtime_error("host: DRAM write failed at " + std::to_string(addr + off));
  }
}

void HostDriver::read_dram(uint64_t addr, uint8_t* data, std::size_t len) {
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t off = 0; off < len; off += kChunk) {
    tlm::tlm_generic_payload p;
    std::size_t n = std::min(kChunk, len - off);
    p.set_command(tlm::TLM_READ_COMMAND);
    p.set_address(addr + off);
    p.set_data_ptr(data + off);
    p.set_data_length(static_cast<unsigned>(n));
    if (socket->transport_dbg(p) != n) throw std::runtime_error("host: DRAM read failed at " + std::to_string(addr + off));
  }
}

void HostDriver::csr_access(tlm::tlm_command cmd, uint32_t offset, uint32_t& value) {
  tlm::tlm_generic_payload p;
  sc_time delay = SC_ZERO_TIME;
  p.set_command(cmd);
  p.set_address(hw::kCsrBase + offset);
  p.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
  p.set_data_length(4);
  p.set_streaming_width(4);
  p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  socket->b_transport(p, delay);
  if (p.is_response_error()) throw std::runtime_error("host: CSR access failed at offset " + std::to_string(offset));
  wait(delay);
}

void HostDriver::write_csr(uint32_t offset, uint32_t value) { csr_access(tlm::TLM_WRITE_COMMAND, offset, value); }
uint32_t HostDriver::read_csr(uint32_t offset) {
  uint32_t v = 0;
  csr_access(tlm::TLM_READ_COMMAND, offset, v);
  return v;
}

void HostDriver::run() {
  // 1. Program words, a block at a time in the DRAM's byte order (a whole VGG-16 program is
  // 26 MB of words), then (functional runs) constants and the input tensor.
  constexpr std::size_t kBlock = 1 << 15;
  const std::size_t to_write = program_in_dram_ ? 0 : program_.instrs.size();
  std::vector<uint8_t> words(std::min(kBlock, to_write) * isa::kInstrBytes);
  for (std::size_t first = 0; first < to_write; first += kBlock) {
    const std::size_t n = std::min(kBlock, program_.instrs.size() - first);
    for (std::size_t i = 0; i < n; ++i) isa::to_bytes(program_.instrs.word(first + i), &words[i * isa::kInstrBytes]);
    write_dram(program_.prog_addr + first * isa::kInstrBytes, words.data(), n * isa::kInstrBytes);
  }
  if (input_) {
    if (!constants_in_dram_)
      for (const auto& seg : program_.constants) write_dram(seg.addr, seg.bytes.data(), seg.bytes.size());
    write_dram(program_.input.addr, input_->data(), input_->size());
  }
  // 2. Program the CSRs and start.
  write_csr(hw::kProgAddr, program_.prog_addr);
  write_csr(hw::kProgLen, static_cast<uint32_t>(prog_len_ >= 0 ? prog_len_ : static_cast<int64_t>(program_.instrs.size())));
  write_csr(hw::kIrqEnable, 1);
  write_csr(hw::kCtrl, 1);
  // 3. Sleep until the interrupt.
  if (!irq.read()) wait(irq.posedge_event());
  result_.irq_seen = true;
  result_.status = read_csr(hw::kStatus);
  result_.error = read_csr(hw::kError);
  result_.error_instr = read_csr(hw::kErrorInstr);
  result_.cycles = read_csr(hw::kCycleLo) | (static_cast<uint64_t>(read_csr(hw::kCycleHi)) << 32);
  write_csr(hw::kIrqStatus, 1);
  // 4. Read the outputs back.
  if (input_ && result_.error == 0) {
    const uint32_t esize = isa::data_bytes(program_.dtype);
    for (const auto& out : program_.outputs) {
      // sample by sample: an output that is a view into a larger tensor has a wider stride
      const std::size_t sample = static_cast<std::size_t>(out.shape.elems()) * esize;
      std::vector<uint8_t> bytes(sample * static_cast<std::size_t>(program_.batch));
      for (int64_t s = 0; s < program_.batch; ++s)
        read_dram(out.addr + static_cast<uint64_t>(s) * out.sample_stride,
                  bytes.data() + static_cast<std::size_t>(s) * sample, sample);
      result_.outputs.push_back(std::move(bytes));
    }
  }
  sc_stop();
}

}  // namespace fusesim
