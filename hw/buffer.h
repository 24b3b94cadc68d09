// One on-chip SRAM (NBin, NBout or SB): a byte array with a capacity, a port width and access
// counters. Every access is bounds-checked by the caller through contains() before it happens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/arch_params.h"
#include "stats.h"

namespace fusesim::hw {

class Buffer {
 public:
  Buffer(std::string name, const BufferParams& params);

  const std::string& name() const { return name_; }
  uint64_t capacity() const { return params_.bytes; }
  uint32_t port_bytes() const { return params_.port_bytes; }
  uint32_t banks() const { return params_.banks; }

  // True when [addr, addr + len) lies inside the buffer (64-bit math: no wrap-around).
  bool contains(uint64_t addr, uint64_t len) const { return addr <= capacity() && len <= capacity() - addr; }
  // Cycles the port needs to move `bytes` (a lower bound on any access).
  uint64_t port_cycles(uint64_t bytes) const;

  uint8_t* at(uint64_t addr) { return storage_.data() + addr; }
  const uint8_t* at(uint64_t addr) const { return storage_.data() + addr; }

  // Counts an access in the run totals and in the layer's totals; `end` is the highest byte
  // address touched + 1.
  void count(BufferStats& run, BufferStats& layer, uint64_t read, uint64_t written, uint64_t end) const;

 private:
  std::string name_;
  BufferParams params_;
  std::vector<uint8_t> storage_;
};

}  // namespace fusesim::hw
