// Elaborates host + accelerator, runs sc_start and checks that the run really ended.
#include "simulation.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <systemc>

#include "host.h"
#include "hw/accelerator.h"
#include "hw/asan_fiber.h"

namespace fusesim {

using namespace sc_core;

namespace {

// The words of a program still being generated, placed in DRAM as they become final: whole
// DRAM pages are borrowed (as a whole program's are), a page's words are copied only where the
// run needs them before the page is final.
class StreamFeed : public hw::ProgramFeed {
 public:
  StreamFeed(compiler::WordStream& stream, const compiler::Program& program)
      : stream_(stream), program_(program) {}
  void attach(hw::Accelerator* accel) { accel_ = accel; }
  int64_t await(uint64_t end) override {
    const int64_t known = stream_.await(static_cast<std::size_t>(end));
    if (known < 0) return -1;
    uint64_t upto = static_cast<uint64_t>(known);
    if (upto > mapped_) {
      if (!stream_.complete()) {  // stop at the last whole page, unless the words needed go beyond
        const uint64_t page = hw::Accelerator::kImagePageBytes;
        const uint64_t edge = (program_.prog_addr + upto * isa::kInstrBytes) / page * page;
        const uint64_t whole = edge > program_.prog_addr ? (edge - program_.prog_addr) / isa::kInstrBytes : 0;
        upto = std::max({std::min(upto, end), whole, mapped_});
      }
      accel_->map_dram_image(program_.prog_addr + mapped_ * isa::kInstrBytes,
                             reinterpret_cast<const uint8_t*>(program_.instrs.data() + mapped_),
                             (upto - mapped_) * isa::kInstrBytes);
      mapped_ = upto;
    }
    return known;
  }

 private:
  compiler::WordStream& stream_;
  const compiler::Program& program_;
  hw::Accelerator* accel_ = nullptr;
  uint64_t mapped_ = 0;  // words [0, mapped_) are in DRAM
};

struct Top : sc_module {
  std::unique_ptr<hw::Accelerator> accel;
  std::unique_ptr<HostDriver> host;
  sc_signal<bool> irq{"irq"};

  Top(sc_module_name name, const ArchParams& arch, const compiler::Program& program,
      const std::vector<uint8_t>* input, const hw::AcceleratorOptions& aopt, StreamFeed* feed)
      : sc_module(name) {
    accel = std::make_unique<hw::Accelerator>("accel", arch, aopt);
    // The weights are the DRAM's initial image, borrowed from the program rather than copied
    // (the program outlives the run); the host driver still writes the input.
    if (input)
      for (const auto& seg : program.constants) accel->map_dram_image(seg.addr, seg.bytes.data(), seg.bytes.size());
    // So are the program words where their host order is the DRAM's (little endian): vgg16's
    // 27 MB of words are then not copied.
    // (A program that does not fit is left to the host, whose write fails.)
    static_assert(sizeof(isa::Word) == isa::kInstrBytes);
    const uint16_t probe = 1;
    const bool little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
    if (feed) {  // the words arrive as the run fetches them; PROG_LEN is the room they have
      if (!little) throw std::logic_error("simulate: a streamed program needs a little-endian host");
      feed->attach(accel.get());
      const uint64_t room = std::min<uint64_t>(program.instrs.capacity(),
                                               (arch.dram_bytes - program.prog_addr) / isa::kInstrBytes);
      host = std::make_unique<HostDriver>("host", program, input, input != nullptr, true,
                                          static_cast<int64_t>(std::min<uint64_t>(room, UINT32_MAX)));
    } else {
      const uint64_t words = program.instrs.size() * isa::kInstrBytes;
      const bool mapped = little && uint64_t{program.prog_addr} + words <= arch.dram_bytes;
      if (mapped)
        accel->map_dram_image(program.prog_addr, reinterpret_cast<const uint8_t*>(program.instrs.data()),
                              words);
      host = std::make_unique<HostDriver>("host", program, input, input != nullptr, mapped);
    }
    host->socket.bind(accel->host_socket);
    accel->irq.bind(irq);
    host->irq.bind(irq);
  }
};

std::string describe_fault(const hw::Fault& f) {
  std::string s = "fault " + f.kind;
  if (f.instr_index >= 0) s += " at instruction " + std::to_string(f.instr_index);
  if (!f.unit.empty()) s += " (" + f.unit + " unit)";
  if (!f.message.empty()) s += ": " + f.message;
  return s;
}

}  // namespace

SimResult simulate(const ArchParams& arch, const compiler::Program& program,
                   const std::vector<uint8_t>& input, const SimOptions& opt, compiler::WordStream* stream) {
  auto t0 = std::chrono::steady_clock::now();
  // SystemC's report handler would print warnings about sc_stop on stdout; keep them quiet.
  sc_report_handler::set_actions(SC_WARNING, SC_DO_NOTHING);
  sc_report_handler::set_actions(SC_INFO, SC_DO_NOTHING);
  hw::AcceleratorOptions aopt;
  aopt.mode = opt.functional ? hw::Mode::Functional : hw::Mode::Timing;
  aopt.bw_window = opt.bw_window;
  aopt.keep_timeline = opt.timeline;
  aopt.vcd_path = opt.vcd_path;
  aopt.trace_from = opt.trace_from;
  aopt.trace_to = opt.trace_to;
  aopt.data_thread = opt.data_thread;
  aopt.bw_sink = opt.bw_sink;
  std::unique_ptr<StreamFeed> feed;
  if (stream) feed = std::make_unique<StreamFeed>(*stream, program);
  aopt.feed = feed.get();
  Top top("top", arch, program, opt.functional ? &input : nullptr, aopt, feed.get());
  sc_start();
  hw::asan_reset_main_stack();
  SimResult r;
  if (!top.accel->done()) top.accel->diagnose_unfinished();
  r.stats = std::move(top.accel->stats());  // (the accelerator is done with them: no 4.5 MB copy of vgg16's bandwidth series)
  const HostResult& h = top.host->result();
  r.finished = h.irq_seen && h.error == 0 && !r.stats.fault.raised;
  if (r.stats.fault.raised) r.fault = describe_fault(r.stats.fault);
  else if (!h.irq_seen) r.fault = "the accelerator never raised its interrupt";
  r.outputs = h.outputs;
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace fusesim
