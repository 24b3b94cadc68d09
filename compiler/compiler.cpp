// The compile driver: load, the pass pipeline, codegen.
#include "compiler.h"

#include <filesystem>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "codegen.h"
#include "frontend/onnx_import.h"
#include "frontend/yaml_model.h"
#include "isa/errors.h"
#include "passes/passes.h"
#include "schedule_yaml.h"

namespace fusesim::compiler {

void advise_huge_pages(const void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

void* map_pages(std::size_t bytes) {
#if defined(__linux__)
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
#else
  return ::operator new(bytes);
#endif
}

void unmap_pages(void* p, std::size_t bytes) {
#if defined(__linux__)
  munmap(p, bytes);
#else
  (void)bytes;
  ::operator delete(p);
#endif
}

void InstrWords::reserve(std::size_t n) {
  words_.reserve(n);
  advise_huge_pages(words_.data(), words_.capacity() * sizeof(isa::Word));
}

void InstrWords::push_back(const isa::Instr& in) {
  if (pinned_ && words_.size() == words_.capacity()) throw ProgramOverflow();
  try {
    words_.push_back(isa::encode(in));
  } catch (const std::invalid_argument& ex) {
    throw std::logic_error("codegen: instruction " + std::to_string(words_.size()) + " (" + isa::disassemble(in) +
                           ") does not encode: " + ex.what());
  }
}

const isa::Instr InstrWords::operator[](std::size_t i) const {
  const std::optional<isa::Instr> in = isa::decode(words_[i]);
  if (!in) throw std::logic_error("program word " + std::to_string(i) + " does not decode");
  return *in;
}

void InstrWords::set_push_prev(std::size_t i) {
  // push_prev is a common field: the same bit in every opcode's layout
  static const uint16_t lsb = [] {
    for (const isa::FieldSpec& f : isa::fields_of(isa::Opcode::Load))
      if (f.member == &isa::Instr::push_prev) return f.lsb;
    throw std::logic_error("isa: no push_prev field");
  }();
  words_[i][lsb / 64] |= uint64_t{1} << (lsb % 64);
}

void WordStream::set(int state, std::size_t n) {
  {
    std::lock_guard<std::mutex> lock(m_);
    final_.store(n, std::memory_order_release);
    state_.store(state, std::memory_order_release);
  }
  cv_.notify_all();
}
void WordStream::begin() { set(kEmitting, 0); }
void WordStream::publish(std::size_t n) {
  if (n > final_.load(std::memory_order_relaxed)) set(kEmitting, n);
}
void WordStream::complete(std::size_t n) { set(kComplete, n); }
void WordStream::fail() { set(kFailed, final_.load(std::memory_order_relaxed)); }

bool WordStream::await_begin() {
  std::unique_lock<std::mutex> lock(m_);
  cv_.wait(lock, [&] { return state_.load(std::memory_order_acquire) != kPlanning; });
  return state_.load(std::memory_order_acquire) != kFailed;
}

int64_t WordStream::await(std::size_t end) {
  auto ready = [&] {
    const int st = state_.load(std::memory_order_acquire);
    return st == kFailed || st == kComplete || final_.load(std::memory_order_acquire) >= end;
  };
  if (!ready()) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, ready);
  }
  if (state_.load(std::memory_order_acquire) == kFailed) return -1;
  return static_cast<int64_t>(final_.load(std::memory_order_acquire));
}

const char* fusion_name(Fusion f) {
  switch (f) {
    case Fusion::None: return "none";
    case Fusion::Greedy: return "greedy";
    case Fusion::Optimal: return "optimal";
  }
  return "?";
}

const char* pipeline_name(Pipeline p) {
  switch (p) {
    case Pipeline::None: return "none";
    case Pipeline::Fine: return "fine";
    case Pipeline::Coarse: return "coarse";
    case Pipeline::Full: return "full";
  }
  return "?";
}

Fusion parse_fusion(const std::string& s) {
  if (s == "none") return Fusion::None;
  if (s == "greedy") return Fusion::Greedy;
  if (s == "optimal") return Fusion::Optimal;
  throw InputError("--fusion: expected none, greedy or optimal, got '" + s + "'");
}

const char* overlap_name(Overlap o) {
  switch (o) {
    case Overlap::Recompute: return "recompute";
    case Overlap::CacheRows: return "cache-rows";
    case Overlap::CacheAll: return "cache-all";
    case Overlap::Auto: return "auto";
  }
  return "?";
}

Overlap parse_overlap(const std::string& s) {
  for (Overlap o : {Overlap::Recompute, Overlap::CacheRows, Overlap::CacheAll, Overlap::Auto})
    if (s == overlap_name(o)) return o;
  throw InputError("--fusion-overlap: expected recompute, cache-rows, cache-all or auto, got '" + s + "'");
}

Pipeline parse_pipeline(const std::string& s) {
  if (s == "none") return Pipeline::None;
  if (s == "fine") return Pipeline::Fine;
  if (s == "coarse") return Pipeline::Coarse;
  if (s == "full") return Pipeline::Full;
  throw InputError("--pipeline: expected none, fine, coarse or full, got '" + s + "'");
}

Graph load_model(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(path + ": no such file");
  const std::string ext = std::filesystem::path(path).extension().string();
  Graph g;
  if (ext == ".yaml" || ext == ".yml")
    g = load_yaml_model(path);
  else if (ext == ".onnx")
    g = import_onnx(path);
  else
    throw InputError(path + ": unknown model format '" + ext + "' (expected .yaml, .yml or .onnx)");
  infer_shapes(g);
  return g;
}

void canonicalize_for_inspect(Graph& g) {
  infer_shapes(g);
  canonicalize(g);
}

namespace {

// The options that plan groups and tiles as a command line gives them (" --fusion optimal
// --tile"); a replayed schedule has already decided both.
std::string planning_of(const CompileOptions& opt) {
  std::string planning = opt.fusion == Fusion::None ? "" : std::string(" --fusion ") + fusion_name(opt.fusion);
  if (!opt.fuse.empty()) planning += " --fuse";
  if (!opt.tiles.empty()) planning += " --tile";
  return planning;
}

// The passes and the schedule: everything compile() does before codegen.
Schedule plan(Graph& g, const ArchParams& arch, const CompileOptions& opt) {
  const std::string planning = planning_of(opt);
  const bool replay = !opt.schedule_file.empty();
  if (replay && !planning.empty())
    throw InputError("--schedule cannot be combined with" + planning + ": the schedule already fixes the groups and tiles");
  if (opt.batch) {
    if (const std::string why = batch_problem(opt.batch); !why.empty()) throw InputError("--batch: " + why);
    g.batch = opt.batch;
  }
  infer_shapes(g);
  check_isa_limits(g);
  check_dram_image(g, arch, opt.dtype);
  g.nfu_pwl_segments = arch.nfu_pwl_segments;
  if (opt.materialize) materialize_weights(g);
  canonicalize(g);
  if (opt.elimination) eliminate(g);
  Schedule sched = replay ? read_schedule_yaml(opt.schedule_file, g, arch, opt)
                          : schedule_groups(g, arch, opt, plan_groups(g, arch, opt));
  keep_shared_weights(g, arch, opt, sched);
  return sched;
}

void emit_schedule(const Graph& g, const ArchParams& arch, const CompileOptions& opt, const Schedule& sched,
                   Program& p) {
  if (!opt.emit_schedule) return;
  const std::string planning = planning_of(opt);
  const std::string origin = !opt.schedule_file.empty() ? opt.schedule_file
                             : planning.empty()         ? "--fusion none"
                                                        : planning.substr(1);
  p.schedule_yaml = write_schedule_yaml(g, arch, opt, sched, origin);
}

}  // namespace

Program compile(Graph& g, const ArchParams& arch, const CompileOptions& opt) {
  const Schedule sched = plan(g, arch, opt);
  Program p;
  generate(g, arch, opt, sched, p, nullptr);
  emit_schedule(g, arch, opt, sched, p);
  return p;
}

StreamedCompile::StreamedCompile(Graph& g, const ArchParams& arch, const CompileOptions& opt)
    : g_(g), arch_(arch), opt_(opt), worker_([this] { run(); }) {}

StreamedCompile::~StreamedCompile() {
  if (worker_.joinable()) worker_.join();
}

void StreamedCompile::run() {
  try {
    const Schedule sched = plan(g_, arch_, opt_);
    generate(g_, arch_, opt_, sched, prog_, &stream_);
    emit_schedule(g_, arch_, opt_, sched, prog_);
  } catch (const ProgramOverflow&) {
    error_ = std::make_exception_ptr(InputError(
        "the program and its tensors need more than " + std::to_string(arch_.dram_bytes) + " B of DRAM; arch '" +
        arch_.name + "' has dram.bytes = " + std::to_string(arch_.dram_bytes)));
  } catch (...) {
    error_ = std::current_exception();
  }
  if (error_) stream_.fail();
  done_at_ = std::chrono::steady_clock::now();
}

bool StreamedCompile::started() { return stream_.await_begin(); }

Program StreamedCompile::finish() {
  if (worker_.joinable()) worker_.join();
  if (error_) std::rethrow_exception(error_);
  return std::move(prog_);
}

}  // namespace fusesim::compiler
