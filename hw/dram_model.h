// DRAM behind a TLM-2.0 target socket: a shared bandwidth reservation (busy-until) plus
// first-word latency and per-bank row buffers, over sparse storage of the 32-bit space.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "dram_request.h"
#include "run_context.h"

namespace fusesim::hw {

class DramModel : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<DramModel> socket;

  DramModel(sc_core::sc_module_name name, RunContext& ctx);

  // Times `len` bytes at `addr` split into bursts; returns the absolute cycle the last byte
  // has moved. `counted` requests go into the run statistics.
  uint64_t schedule(uint64_t addr, uint64_t len, bool write, uint64_t issue_cycle, uint32_t burst_bytes,
                    BurstWindow* window, bool counted);
  // Times the runs of `pattern` in order, each exactly as schedule() times it as its own
  // request issued at `issue_cycle` (same cycles, row-buffer outcomes, bank and bus state,
  // statistics), in one pass with the per-request work hoisted; returns the latest completion.
  uint64_t schedule_pattern(const DramPattern& pattern, bool write, uint64_t issue_cycle,
                            uint32_t burst_bytes, BurstWindow* window, bool counted);
  // The same for `count` listed runs (a transfer through a map descriptor).
  uint64_t schedule_runs(const DramRun* runs, size_t count, bool write, uint64_t issue_cycle,
                         uint32_t burst_bytes, BurstWindow* window, bool counted);
  // Reference mode: every burst is timed on its own, without the shortcuts (rows replayed,
  // patterns in one pass). It defines what the shortcuts must reproduce; tests compare them.
  void set_reference(bool on) { reference_ = on; }
  // The timing state, for tests that compare two ways of reaching it.
  struct Snapshot {
    uint64_t busy_cycle, busy_rem;
    std::vector<int64_t> open_rows;
    bool operator==(const Snapshot& o) const {
      return busy_cycle == o.busy_cycle && busy_rem == o.busy_rem && open_rows == o.open_rows;
    }
  };
  Snapshot snapshot() const { return {busy_.cycle, busy_.rem, open_row_}; }
  // Places `len` bytes at `addr` as a DRAM image, untimed. Whole pages are borrowed rather than
  // copied (copied on their first write), so `data` must outlive the model unchanged.
  void map_image(uint64_t addr, const uint8_t* data, uint64_t len);
  // Untimed data access (reads of never-written memory give 0).
  void read(uint64_t addr, uint8_t* dst, uint64_t len);
  void write(uint64_t addr, const uint8_t* src, uint64_t len);
  static constexpr uint64_t kPageBytes = 64 * 1024;  // the image's pages

 private:

  // A time on the bus in ticks, held as whole cycles plus the ticks past the last cycle
  // boundary (rem < cycle_ticks_), so that no burst needs a division.
  struct BusTime {
    uint64_t cycle = 0, rem = 0;
  };
  // How long `bytes` occupy the bus, in the same form.
  struct Occupancy {
    uint64_t bytes = ~uint64_t{0}, cycles = 0, rem = 0;
  };
  // A burst size's bus occupancy: whole cycles plus ticks (short_runs' table).
  struct BusStep {
    uint64_t cycles = 0, rem = 0;
  };
  // What one schedule() call has in common for all its bursts.
  struct Stream {
    uint64_t issue_cycle;
    BurstWindow* window;
    bool write, counted;
  };
  // The outcome of one exactly timed row, replayed for the following rows while they repeat it
  // (see replay_rows in the .cpp).
  struct RowTemplate {
    bool first_hit = false;
    uint64_t shift = 0;             // cycles every later copy of the row is shifted by
    uint64_t hits = 0, misses = 0;  // row-buffer outcomes of its bursts
    uint64_t last_done = 0;
    std::vector<uint64_t> starts;  // start cycle of each burst on the bus
  };

  RunContext& ctx_;
  uint64_t bytes_;
  // Bandwidth as an exact ratio: one byte takes byte_ticks_ ticks, a cycle is cycle_ticks_.
  uint64_t byte_ticks_, cycle_ticks_;
  BusTime busy_;  // the bus is reserved up to here
  uint64_t latency_, row_miss_;
  uint64_t row_bytes_;
  bool open_page_;
  bool reference_ = false;
  std::vector<int64_t> open_row_;  // per bank; -1 none
  // log2 of row_bytes_ and of the bank count when both are powers of two (the usual case: the
  // row lookup then shifts and masks instead of dividing), else -1
  int row_shift_ = -1, bank_shift_ = -1;
  // [row_lo_, row_hi_): the row of the latest burst, open in its bank (open page only), so the
  // bursts that follow it in that row are hits without a lookup.
  uint64_t row_lo_ = 0, row_hi_ = 0;
  std::array<Occupancy, 2> occupancy_;  // the two burst sizes seen last
  std::vector<Occupancy> occupancy_table_;  // by burst size, filled on demand (schedule_pattern)
  std::vector<Occupancy> plane_bursts_;     // a pattern's bursts per plane alignment, each ended by size 0
  std::vector<int64_t> plane_first_;        // by alignment in a burst: its sizes' start, or -1
  std::vector<BusStep> occupancy_by_size_;  // every burst size's, 0 to burst_len (short_runs)
  size_t occupancy_next_ = 0;
  // The bandwidth window that cycles [bw_lo_, bw_hi_) fall into, for a run starting at bw_base_
  // with bw_len_-cycle windows.
  uint64_t bw_base_ = 0, bw_len_ = 0, bw_lo_ = 1, bw_hi_ = 0, bw_index_ = 0;
  uint64_t bw_published_ = 0;  // windows handed to AcceleratorOptions::bw_sink
  void publish_final_windows();
  RowTemplate row_template_;
  std::vector<uint64_t> ring_before_;  // a window's completions, oldest first
  // Sparse storage: each page's bytes (null: never written, reads as 0), either its own copy
  // in owned_ or a borrowed page of a mapped image.
  std::vector<const uint8_t*> pages_;
  std::vector<std::unique_ptr<uint8_t[]>> owned_;

  uint8_t* page_for_write(uint64_t index, uint64_t off, uint64_t len);
  template <class Fn>
  void for_each_page(uint64_t addr, uint64_t len, Fn fn);
  bool row_hit(uint64_t addr);
  bool open_row(uint64_t addr);
  const Occupancy& occupancy(uint64_t bytes);
  // Times one burst of `bytes` at `addr` whose row-buffer outcome is `hit`; returns its
  // completion cycle and sets `start` to the cycle it takes the bus.
  uint64_t burst(const Stream& s, uint64_t bytes, bool hit, uint64_t& start);
  uint64_t replay_rows(const Stream& s, uint64_t& addr, uint64_t end, uint64_t burst_bytes);
  bool saturated_bursts(const Stream& s, uint64_t& addr, uint64_t end, uint64_t burst_bytes, uint64_t& done);
  void advance(BusTime& t, uint64_t bursts, const Occupancy& o) const;
  void count(uint64_t bytes, bool write, uint64_t cycle);
  uint64_t& bw_slot(uint64_t cycle, bool write);
  // kPattern: run_at is {const DramPattern* pattern} and the runs are the pattern's, else
  // run_at(i) gives run i.
  template <bool kPattern, class RunAt>
  uint64_t one_pass(uint64_t count, RunAt run_at, bool write, uint64_t issue_cycle, uint32_t burst_bytes,
                    BurstWindow* window, bool counted);
  template <bool kCounted>
  uint64_t short_runs(const DramPattern& pat, bool write, uint64_t issue_cycle, uint64_t burst_len,
                      BurstWindow& window);
  // Moves the data of the first `count` runs (run_at(i) gives run i) for a request: into or out of
  // the payload's data back to back, or, for a read with req.scatter, into its pieces.
  template <class RunAt>
  void move_runs(tlm::tlm_generic_payload& p, const DramRequest& req, size_t count, RunAt run_at);
  uint64_t serve_runs(tlm::tlm_generic_payload& p, DramRequest& req);
  uint64_t serve_pattern(tlm::tlm_generic_payload& p, DramRequest& req);

  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& p);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi);
  bool in_range(uint64_t addr, uint64_t len) const { return addr <= bytes_ && len <= bytes_ - addr; }
  static bool supported(const tlm::tlm_generic_payload& p);
};

}  // namespace fusesim::hw
