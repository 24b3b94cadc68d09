// On-chip SRAM storage and its access accounting.
#include "buffer.h"

#include <algorithm>
#include <utility>

namespace fusesim::hw {

Buffer::Buffer(std::string name, const BufferParams& params)
    : name_(std::move(name)), params_(params), storage_(params.bytes, 0) {}

uint64_t Buffer::port_cycles(uint64_t bytes) const {
  const uint64_t port = std::max<uint32_t>(1, params_.port_bytes);
  return (bytes + port - 1) / port;
}

void Buffer::count(BufferStats& run, BufferStats& layer, uint64_t read, uint64_t written,
                   uint64_t end) const {
  for (BufferStats* s : {&run, &layer}) {
    s->read_bytes += read;
    s->write_bytes += written;
    s->peak_bytes = std::max(s->peak_bytes, end);
  }
}

}  // namespace fusesim::hw
