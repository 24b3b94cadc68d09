// The accelerator top module: owns and wires the submodules (as DRAMSys does, through
// std::unique_ptr) and forwards the host's socket into the interconnect.
#include "accelerator.h"

#include <tlm_utils/simple_initiator_socket.h>

#include "buffer.h"
#include "controller.h"
#include "data_thread.h"
#include "csr_block.h"
#include "dma.h"
#include "dram_model.h"
#include "interconnect.h"
#include "nfu.h"
#include "run_context.h"
#include "tracer.h"

namespace fusesim::hw {

struct Accelerator::Impl {
  RunContext ctx;
  // Functional runs on a host with a second core: the data thread (hw/data_thread.h).
  std::unique_ptr<DataThread> data_thread;
  std::unique_ptr<Tracer> tracer;  // only with a VCD path
  Buffer nbin, sb, nbout;
  std::unique_ptr<DramModel> dram;
  std::unique_ptr<Interconnect> interconnect;
  std::unique_ptr<Dma> load_dma, store_dma;
  Nfu nfu;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<CsrBlock> csr;
  tlm_utils::simple_initiator_socket<Impl> host_out;  // host_socket -> interconnect

  Impl(const ArchParams& arch, const AcceleratorOptions& opt)
      : ctx(arch, opt),
        data_thread(opt.mode == Mode::Functional && opt.data_thread && std::thread::hardware_concurrency() > 1
                        ? std::make_unique<DataThread>()
                        : nullptr),
        tracer(opt.vcd_path.empty() ? nullptr
                                    : std::make_unique<Tracer>(ctx, opt.vcd_path, opt.trace_from, opt.trace_to)),
        nbin("NBin", arch.nbin),
        sb("SB", arch.sb),
        nbout("NBout", arch.nbout),
        dram(std::make_unique<DramModel>("dram", ctx)),
        interconnect(std::make_unique<Interconnect>("interconnect", arch.dram_bytes)),
        load_dma(
            std::make_unique<Dma>("load_dma", ctx, std::array<Buffer*, 3>{&nbin, &sb, &nbout}, kLoadUnit)),
        store_dma(
            std::make_unique<Dma>("store_dma", ctx, std::array<Buffer*, 3>{&nbin, &sb, &nbout}, kStoreUnit)),
        nfu(ctx, nbin, sb, nbout),
        controller(std::make_unique<Controller>("controller", ctx, *load_dma, nfu, *store_dma)),
        csr(std::make_unique<CsrBlock>(
            "csr", ctx, [this](uint32_t addr, uint32_t len) { controller->start(addr, len); })),
        host_out("host_out") {
    controller->set_feed(opt.feed);
    ctx.set_data_thread(data_thread.get());
    load_dma->set_dram(dram.get());
    store_dma->set_dram(dram.get());
    // The run's data is complete when it ends, before the interrupt lets the host read it.
    if (data_thread) ctx.on_finish([this](uint64_t) { data_thread->drain(); });
    controller->fetch_socket.bind(interconnect->target);
    load_dma->socket.bind(interconnect->target);
    store_dma->socket.bind(interconnect->target);
    host_out.bind(interconnect->target);
    interconnect->to_dram.bind(dram->socket);
    interconnect->to_csr.bind(csr->socket);
    ctx.on_finish([this](uint64_t) { csr->run_finished(); });
    ctx.set_tracer(tracer.get());
  }
  // A run abandoned unfinished may have left jobs that use the units: they finish first.
  ~Impl() {
    if (data_thread) try {
        data_thread->drain();
      } catch (...) {
      }
  }
  // The host reads or writes DRAM: after the data thread's work, as in a run on one thread.
  void sync_data(const tlm::tlm_generic_payload& p) {
    if (data_thread && p.get_address() < kCsrBase && !data_thread->idle()) data_thread->drain();
  }
};

Accelerator::Accelerator(sc_core::sc_module_name name, const ArchParams& arch, const AcceleratorOptions& opt)
    : sc_module(name), host_socket("host_socket"), irq("irq"), impl_(std::make_unique<Impl>(arch, opt)) {
  impl_->csr->irq(irq);
  host_socket.register_b_transport(this, &Accelerator::host_b_transport);
  host_socket.register_transport_dbg(this, &Accelerator::host_transport_dbg);
  host_socket.register_get_direct_mem_ptr(this, &Accelerator::host_get_direct_mem_ptr);
}

Accelerator::~Accelerator() = default;

const Stats& Accelerator::stats() const { return impl_->ctx.stats(); }
Stats& Accelerator::stats() { return impl_->ctx.stats(); }
bool Accelerator::done() const { return impl_->ctx.finished(); }
static_assert(Accelerator::kImagePageBytes == DramModel::kPageBytes);
void Accelerator::map_dram_image(uint64_t addr, const uint8_t* data, uint64_t len) {
  impl_->dram->map_image(addr, data, len);
}
void Accelerator::diagnose_unfinished() { impl_->controller->diagnose_unfinished(); }
uint64_t Accelerator::data_jobs() const { return impl_->data_thread ? impl_->data_thread->jobs() : 0; }

void Accelerator::host_b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
  impl_->sync_data(p);
  impl_->host_out->b_transport(p, delay);
}
unsigned Accelerator::host_transport_dbg(tlm::tlm_generic_payload& p) {
  impl_->sync_data(p);
  return impl_->host_out->transport_dbg(p);
}
bool Accelerator::host_get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi) {
  impl_->sync_data(p);
  return impl_->host_out->get_direct_mem_ptr(p, dmi);
}

}  // namespace fusesim::hw
