// DRAM timing and storage. Timing of a burst: it issues (subject to the initiator's
// outstanding window), waits the first-word latency plus a row miss if its bank has another
// row open, then occupies the shared data bus for bytes / bandwidth. The bus is reserved in
// request order (busy-until), so concurrent fetch, load and store traffic contends.
#include "dram_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace fusesim::hw {

DramModel::DramModel(sc_core::sc_module_name name, RunContext& ctx)
    : sc_module(name),
      socket("socket"),
      ctx_(ctx),
      bytes_(ctx.arch().dram_bytes),
      latency_(ctx.arch().dram_latency_cycles()),
      row_miss_(ctx.arch().dram_row_miss_cycles()),
      open_row_(std::max<uint32_t>(1, ctx.arch().dram_banks), -1),
      pages_((bytes_ + kPageBytes - 1) / kPageBytes) {
  // bytes per cycle = bandwidth_gbps / clock_ghz, kept as a reduced integer ratio.
  const uint64_t bw = static_cast<uint64_t>(std::llround(ctx.arch().dram_bandwidth_gbps * 1e6));
  const uint64_t clk = static_cast<uint64_t>(std::llround(ctx.arch().clock_ghz * 1e6));
  const uint64_t g = std::gcd(bw, clk);
  cycle_ticks_ = bw / g;
  byte_ticks_ = clk / g;
  socket.register_b_transport(this, &DramModel::b_transport);
  socket.register_transport_dbg(this, &DramModel::transport_dbg);
  socket.register_get_direct_mem_ptr(this, &DramModel::get_direct_mem_ptr);
}

bool DramModel::row_hit(uint64_t addr) {
  const auto& a = ctx_.arch();
  const uint64_t row_index = addr / a.dram_row_bytes;  // rows interleave across banks
  const size_t bank = row_index % open_row_.size();
  const int64_t row = static_cast<int64_t>(row_index / open_row_.size());
  const bool hit = a.dram_open_page && open_row_[bank] == row;
  open_row_[bank] = a.dram_open_page ? row : -1;
  return hit;
}

void DramModel::count(uint64_t bytes, bool write, uint64_t cycle, bool hit) {
  Stats& s = ctx_.stats();
  (write ? s.dram_write_bytes : s.dram_read_bytes) += bytes;
  (hit ? s.dram_row_hits : s.dram_row_misses) += 1;
  const uint64_t w = (cycle - std::min(cycle, ctx_.start_cycle())) / std::max<uint64_t>(1, s.bw_window);
  auto& series = write ? s.bw_write : s.bw_read;
  if (series.size() <= w) {
    s.bw_read.resize(w + 1, 0);
    s.bw_write.resize(w + 1, 0);
  }
  series[w] += bytes;
}

uint64_t DramModel::schedule(uint64_t addr, uint64_t len, bool write, uint64_t issue_cycle,
                             uint32_t burst_bytes, BurstWindow* window, bool counted) {
  const uint64_t burst = std::max<uint32_t>(1, burst_bytes);
  uint64_t done = issue_cycle;
  for (uint64_t a = addr, end = addr + len; a < end;) {
    const uint64_t n = std::min(end, (a / burst + 1) * burst) - a;  // bursts are burst-aligned
    const uint64_t issue = window ? std::max(issue_cycle, window->earliest_issue()) : issue_cycle;
    const bool hit = row_hit(a);
    const uint64_t ready = issue + latency_ + (hit ? 0 : row_miss_);
    const uint64_t start_ticks = std::max(ready * cycle_ticks_, busy_until_ticks_);
    busy_until_ticks_ = start_ticks + n * byte_ticks_;
    const uint64_t burst_done = (busy_until_ticks_ + cycle_ticks_ - 1) / cycle_ticks_;
    if (window) window->push(burst_done);
    if (counted) count(n, write, start_ticks / cycle_ticks_, hit);
    done = std::max(done, burst_done);
    a += n;
  }
  return done;
}

uint8_t* DramModel::page(uint64_t index, bool create) {
  auto& p = pages_[index];
  if (!p && create) {
    p.reset(new uint8_t[kPageBytes]);
    std::memset(p.get(), 0, kPageBytes);
  }
  return p.get();
}

template <class Fn>
void DramModel::for_each_page(uint64_t addr, uint64_t len, Fn fn) {
  for (uint64_t done = 0; done < len;) {
    const uint64_t a = addr + done, off = a % kPageBytes, n = std::min(len - done, kPageBytes - off);
    fn(a / kPageBytes, off, done, n);
    done += n;
  }
}

void DramModel::read(uint64_t addr, uint8_t* dst, uint64_t len) {
  for_each_page(addr, len, [&](uint64_t pg, uint64_t off, uint64_t done, uint64_t n) {
    const uint8_t* p = page(pg, false);
    if (p)
      std::memcpy(dst + done, p + off, n);
    else
      std::memset(dst + done, 0, n);
  });
}

void DramModel::write(uint64_t addr, const uint8_t* src, uint64_t len) {
  for_each_page(addr, len, [&](uint64_t pg, uint64_t off, uint64_t done, uint64_t n) {
    std::memcpy(page(pg, true) + off, src + done, n);
  });
}

bool DramModel::in_range(const tlm::tlm_generic_payload& p) const {
  return p.get_address() <= bytes_ && p.get_data_length() <= bytes_ - p.get_address();
}

// Byte enables and streaming (a streaming width below the length) are not modelled; a width
// of 0 is taken as unset. Debug transport ignores both, as TLM-2.0 specifies.
bool DramModel::supported(const tlm::tlm_generic_payload& p) {
  const unsigned sw = p.get_streaming_width();
  return p.get_byte_enable_ptr() == nullptr && (sw == 0 || sw >= p.get_data_length());
}

void DramModel::b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
  if (!in_range(p)) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (!supported(p)) {
    p.set_response_status(p.get_byte_enable_ptr() ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE
                                                  : tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  const bool write = p.is_write();
  DramRequest* req = nullptr;
  p.get_extension(req);
  const uint64_t issue = req ? req->issue_cycle : ctx_.cycle_of(sc_core::sc_time_stamp() + delay);
  const uint64_t done = schedule(p.get_address(), p.get_data_length(), write, issue,
                                 req ? req->burst_bytes : ctx_.arch().dma_burst_bytes,
                                 req ? req->window : nullptr, req != nullptr);
  if (!req || req->move_data) transport_dbg(p);
  if (req) req->done_cycle = done;
  delay = ctx_.delay_until(done);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned DramModel::transport_dbg(tlm::tlm_generic_payload& p) {
  if (!in_range(p) || p.get_command() == tlm::TLM_IGNORE_COMMAND) return 0;
  if (p.is_write())
    write(p.get_address(), p.get_data_ptr(), p.get_data_length());
  else
    read(p.get_address(), p.get_data_ptr(), p.get_data_length());
  p.set_response_status(tlm::TLM_OK_RESPONSE);
  return p.get_data_length();
}

// DMI is granted one page at a time (storage is sparse); the page is allocated on request.
bool DramModel::get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi) {
  if (p.get_address() >= bytes_) return false;
  const uint64_t index = p.get_address() / kPageBytes;
  dmi.set_dmi_ptr(page(index, true));
  dmi.set_start_address(index * kPageBytes);
  dmi.set_end_address(std::min(bytes_, (index + 1) * kPageBytes) - 1);
  dmi.allow_read_write();
  dmi.set_read_latency(sc_core::SC_ZERO_TIME);
  dmi.set_write_latency(sc_core::SC_ZERO_TIME);
  return true;
}

}  // namespace fusesim::hw
