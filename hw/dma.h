// A DMA engine (one for the load queue, one for the store queue): executes LOAD and STORE
// patterns (dense, or laid out in the buffer by a map descriptor) as TLM reads/writes of
// contiguous runs, pipelined in bursts with a bounded number in flight, and moves
// (widens/narrows) the data between DRAM and the on-chip buffers.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <cstdint>
#include <systemc>
#include <tlm>
#include <vector>

#include "buffer.h"
#include "data_thread.h"
#include "dram_request.h"
#include "isa/isa.h"
#include "isa/map_desc.h"
#include "run_context.h"

namespace fusesim::hw {

class DramModel;

class Dma : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Dma> socket;

  // `buffers` is indexed by isa::Buffer; `unit` is kLoadUnit or kStoreUnit.
  Dma(sc_core::sc_module_name name, RunContext& ctx, std::array<Buffer*, 3> buffers, Unit unit);

  // Executes one LOAD or STORE whose tokens are taken, starting now; `buf_map` is the value of
  // its buf_desc register at dispatch. Returns the absolute completion cycle. On a fault it
  // latches it in the context and returns now.
  uint64_t execute(const isa::Instr& in, uint32_t index, const isa::MapDesc& buf_map);

  // The DRAM byte ranges a LOAD (`load`) or STORE touches, in issue order, and the same as a
  // DramPattern when they form one (false when not): for tests that compare the two.
  static std::vector<DramRun> dram_runs_of(const isa::Instr& in, bool load, const isa::MapDesc& map);
  static bool pattern_of(const isa::Instr& in, bool load, const isa::MapDesc& map, DramPattern& pat);
  // The DRAM whose untimed access moves the data of transfers handed to the data thread.
  void set_dram(DramModel* dram) { dram_ = dram; }

 private:
  // A contiguous stretch: `count` elements from DRAM element `dram` to buffer byte address `buf`.
  struct Run {
    uint64_t dram, buf, count;
  };
  // The validated geometry of one LOAD/STORE.
  struct Transfer {
    const isa::Instr* in;
    uint32_t index;
    Buffer* buffer;
    uint32_t esize, belem;  // bytes per element in DRAM and in the buffer
    uint32_t pad_top, pad_bottom, pad_left, pad_right;
    isa::MapView view;  // where pattern element (k, r, c) lies in the buffer
    bool dense;         // no map descriptor
    uint64_t lo, hi;    // the buffer bytes [lo, hi) the pattern may touch
    uint64_t dram_lo, dram_hi;  // the DRAM bytes it may touch (none when empty)
  };
  // What the data thread needs besides the instruction (move_data()).
  struct DataArgs {
    isa::MapDesc map;
    uint64_t moved;  // DRAM bytes of the runs that completed
    bool whole;      // every run completed
  };

  RunContext& ctx_;
  DramModel* dram_ = nullptr;
  std::array<Buffer*, 3> buffers_;
  Unit unit_;
  BurstWindow window_;
  tlm::tlm_generic_payload payload_;
  DramRequest* request_;            // owned by payload_
  std::vector<Run> runs_;           // the current transfer's runs
  std::vector<DramRun> dram_runs_;  // the same runs as DRAM byte ranges, unless they are regular:
  DramPattern pattern_;             // then this
  std::vector<uint8_t> staging_;    // functional mode: the runs' DRAM-format bytes, back to back
  std::vector<DramPiece> pieces_;   // functional LOAD of same-size elements: the runs in the buffer
  DramScatterPattern scatter_;      // the same when the runs are a pattern (dense)
  std::vector<uint8_t> data_staging_;  // the data thread's (move_data()): one run's DRAM-format bytes

  static void shape(Transfer& t, bool load, const isa::MapDesc& map);
  bool validate(Transfer& t, const isa::MapDesc& map);
  static bool regular_runs(const Transfer& t, DramPattern& pat);
  void fail(const Transfer& t, const char* kind, const std::string& msg);
  template <class Fn>
  static void for_each_run(const Transfer& t, Fn fn);
  void fill_padding(const Transfer& t);
  bool transfer(const Transfer& t, bool regular, bool functional, uint64_t issue_cycle, uint64_t& done,
                uint64_t& dram_bytes, uint64_t& moved);
  void hand_over(DataThread& data_thread, const Transfer& t, const isa::MapDesc& map, uint64_t moved, bool whole);
  static void data_job(void* dma, const DataThread::Job& job);
  void move_data(const isa::Instr& in, const DataArgs& a);
  void pack(const Transfer& t);
  void unpack(const Transfer& t);
  static void pack_run(const Transfer& t, const uint8_t* src, uint64_t count, uint8_t* out);
  static void unpack_run(const Transfer& t, const uint8_t* in, uint64_t count, uint8_t* dst);
};

}  // namespace fusesim::hw
