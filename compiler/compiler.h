// The compiler's public API: load a model, run the pass pipeline, produce a Program, and
// execute the reference. The CLI, the simulator and sweeps use only this header.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "compiler/graph.h"
#include "isa/arch_params.h"
#include "isa/isa.h"

namespace fusesim::compiler {

enum class Fusion { None, Greedy, Optimal };
enum class Pipeline { None, Fine, Coarse, Full };
// How a fused group treats the rows and columns that neighbouring tiles share (docs/compiler.md,
// "Overlap modes"): recompute them per tile, keep the rows in line buffers (cache-rows), or keep
// rows and columns (cache-all). Auto: the cost model chooses per group.
enum class Overlap { Recompute, CacheRows, CacheAll, Auto };
const char* overlap_name(Overlap o);
Overlap parse_overlap(const std::string& s);  // throws InputError
const char* fusion_name(Fusion f);
const char* pipeline_name(Pipeline p);
Fusion parse_fusion(const std::string& s);      // throws InputError
Pipeline parse_pipeline(const std::string& s);  // throws InputError

// A manual tile for one layer (intra-layer loop unrolling); 0 means "choose automatically".
struct TileOverride {
  int64_t cout = 0, cin = 0, rows = 0, cols = 0;
  int64_t samples = 0;  // samples sharing each weight tile of an fc layer (Tile::tb)
};

struct CompileOptions {
  isa::DType dtype = isa::DType::Int16;
  Fusion fusion = Fusion::None;
  Pipeline pipeline = Pipeline::Full;
  bool elimination = true;
  Overlap overlap = Overlap::Auto;  // fused groups' overlap mode (--fusion-overlap)
  std::map<std::string, TileOverride> tiles;  // by layer name
  bool materialize = true;  // false (timing-only runs): no weight bytes are generated
  // Manual fused groups, FIRST..LAST by layer name (inclusive, a chain in topological order).
  // They override --fusion for their layers; the other layers follow --fusion.
  std::vector<std::pair<std::string, std::string>> fuse;
  // Replay the schedule in this YAML file (docs/schedule.md) instead of planning one: its
  // groups and tiles replace fusion planning and tiling, so --fusion greedy|optimal, --fuse
  // and --tile are errors next to it.
  std::string schedule_file;
  bool emit_schedule = false;  // fill Program::schedule_yaml
  // Samples per run (--batch); 0: the model's own (its `batch:` or ONNX dim 0, else 1).
  int64_t batch = 0;
};

// An allocator that leaves new elements uninitialized (default- rather than value-initialized):
// a weight segment is written whole right after it is sized, so zero-filling hundreds of MB
// first would only cost time.
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Asks the kernel to back [p, p + bytes) with transparent huge pages where it may (Linux, THP
// in madvise mode): a freshly allocated weight array of hundreds of MB is then faulted in 2 MB
// at a time instead of 4 KB. A hint only: nothing changes where it is not honoured.
void advise_huge_pages(const void* p, std::size_t bytes);

struct Segment {  // bytes placed in DRAM before the run
  uint32_t addr = 0;
  std::vector<uint8_t, UninitAllocator<uint8_t>> bytes;  // every byte is written when sized
};

struct TensorPlacement {
  std::string name;
  Shape shape;        // one sample
  uint32_t addr = 0;  // DRAM byte address of sample 0; elements are C x H x W, data width of the dtype
  // Bytes from one sample to the next: the sample size, or more for a view into a larger tensor
  // (an output that is a channel slice of another), which the host gathers sample by sample.
  uint64_t sample_stride = 0;
};

// One entry per value of Instr::layer: a layer or a fused group.
struct ScheduleEntry {
  std::string name;                  // the group's name (its first layer's, or the layer's)
  std::vector<std::string> members;  // layer names in the group
  std::string tiles;                 // human-readable tile decision, e.g. "co=16 ci=32 rows=4 cols=13"
  int64_t macs = 0;                  // the whole batch's
  int64_t est_cycles = 0;            // cost model estimate
  int64_t est_dram_bytes = 0;
  int64_t onchip_bytes = 0;          // NBin + NBout + SB bytes the tiling uses (all halves)
};

// Allocates arrays of 1 MiB and more straight from the kernel without reserving memory for the
// pages never written (MAP_NORESERVE where the kernel honours it; std::bad_alloc where it
// refuses): a program that streams to a simulation reserves room for as many words as the DRAM
// holds. Smaller arrays come from operator new.
void* map_pages(std::size_t bytes);
void unmap_pages(void* p, std::size_t bytes);
template <class T>
struct PageAllocator {
  using value_type = T;
  static constexpr std::size_t kMapped = std::size_t{1} << 20;
  PageAllocator() = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    return static_cast<T*>(bytes >= kMapped ? map_pages(bytes) : ::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kMapped)
      unmap_pages(p, bytes);
    else
      ::operator delete(p);
  }
  template <class U>
  bool operator==(const PageAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const PageAllocator<U>&) const noexcept { return false; }
};

// The instructions of a program as the ISA's own encoded 32-byte words (docs/isa.md): what the
// DRAM image holds and the controller fetches and decodes, at an eighth of the memory of decoded
// Instr structs. Indexing decodes; only the token flags codegen sets after the fact are patched
// in place.
class InstrWords {
 public:
  std::size_t size() const { return words_.size(); }
  bool empty() const { return words_.empty(); }
  // Reserves n words, on transparent huge pages where the kernel offers them (vgg16's 27 MB of
  // words fault in as 14 pages rather than 6,600).
  void reserve(std::size_t n);
  std::size_t capacity() const { return words_.capacity(); }
  // Encodes `in`; an instruction that does not encode is a codegen bug (std::logic_error).
  void push_back(const isa::Instr& in);
  const isa::Instr operator[](std::size_t i) const;
  const isa::Instr back() const { return (*this)[words_.size() - 1]; }
  const isa::Word& word(std::size_t i) const { return words_[i]; }
  // The words back to back in host order: on a little-endian host, the DRAM image's bytes.
  const isa::Word* data() const { return words_.data(); }
  // Sets push_prev of instruction i (a later instruction pops the token it pushes).
  void set_push_prev(std::size_t i);
  // From now on the words stay where they are (a simulation reads them while codegen appends):
  // a push_back beyond the reserved room throws ProgramOverflow instead of moving them.
  void pin() { pinned_ = true; }
  bool operator==(const InstrWords& o) const { return words_ == o.words_; }
  bool operator!=(const InstrWords& o) const { return !(*this == o); }

  // Decoding iteration: for (const isa::Instr& in : prog.instrs).
  class const_iterator {
   public:
    const_iterator(const InstrWords* w, std::size_t i) : w_(w), i_(i) {}
    const isa::Instr operator*() const { return (*w_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }

   private:
    const InstrWords* w_;
    std::size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, words_.size()}; }

 private:
  std::vector<isa::Word, PageAllocator<isa::Word>> words_;
  bool pinned_ = false;
};

// Thrown by a pinned InstrWords that runs out of its reserved room (a streamed program's room
// is all the DRAM after its start: the program does not fit).
struct ProgramOverflow : std::runtime_error {
  ProgramOverflow() : std::runtime_error("codegen: the program outgrew the room reserved for its words") {}
};

// Instruction words handed from codegen, on a thread of its own, to a simulation that runs the
// program while it is being generated (StreamedCompile). A word is final once nothing will
// change it any more: codegen sets a token flag (push_prev) on an earlier COMPUTE or STORE when
// a later instruction turns out to wait for it, so the words it may still patch are held back.
class WordStream {
 public:
  // Codegen's side. begin(): the program's layout is fixed (Program::prog_addr, constants,
  // input and outputs) and its words are pinned. publish(n): words [0, n) are final (n only
  // grows). complete(n): all n words are final. fail(): generation stopped with an error.
  void begin();
  void publish(std::size_t n);
  void complete(std::size_t n);
  void fail();
  // The simulation's side. await_begin(): blocks until begin() (true) or fail() (false).
  // await(end): blocks until words [0, end) are final or the program is complete, then returns
  // the number of final words: at least `end`, or the program's length when it is shorter;
  // -1 when generation failed.
  bool await_begin();
  int64_t await(std::size_t end);
  bool complete() const { return state_.load(std::memory_order_acquire) == kComplete; }

 private:
  enum : int { kPlanning, kEmitting, kComplete, kFailed };
  std::atomic<std::size_t> final_{0};
  std::atomic<int> state_{kPlanning};
  std::mutex m_;
  std::condition_variable cv_;
  void set(int state, std::size_t n);
};

struct Program {
  isa::DType dtype = isa::DType::Int16;
  int64_t batch = 1;                // samples per run: the input and outputs hold this many
  InstrWords instrs;                // encoded words; ends with END
  uint32_t prog_addr = 0;           // DRAM byte address of the instruction words
  std::vector<Segment> constants;   // weights and biases, already in the dtype's format
  TensorPlacement input;
  std::vector<TensorPlacement> outputs;
  std::vector<ScheduleEntry> schedule;
  std::string schedule_yaml;        // the Schedule as YAML, when CompileOptions::emit_schedule
  uint64_t dram_footprint = 0;      // highest DRAM byte used + 1
  int64_t macs = 0;                 // the whole batch's
  uint64_t weight_bytes = 0;        // every weight and bias once, in the dtype
  uint64_t compulsory_bytes = 0;    // weights once + every sample's input and outputs
};

// YAML (*.yaml, *.yml) or ONNX (*.onnx), by extension. Throws InputError.
Graph load_model(const std::string& path);

// Shape inference and validation only (what `fusesim inspect` needs). Throws InputError.
void infer_shapes(Graph& g);

// Shape inference then canonicalization (BatchNorm folding, activation merging), without
// weights and without layer elimination: the layers the NFU will run (`fusesim inspect
// --canonical`). Throws InputError.
void canonicalize_for_inspect(Graph& g);

// Runs the pass pipeline on `g` (which is left canonicalized, as the reference needs it) and
// generates the program. Throws InputError when the arch cannot hold any tile of some layer.
Program compile(Graph& g, const ArchParams& arch, const CompileOptions& opt);

// compile() on a thread of its own that hands the instruction words over as they become final,
// so that a simulation runs the program while codegen is still generating it: `fusesim run`
// overlaps the two on two cores (docs/performance.md). The program and the run are the same as
// compile() then simulate().
class StreamedCompile {
 public:
  // Starts compiling `g`. The caller leaves `g` alone until finish(), except that it may read
  // it once started() returned true.
  StreamedCompile(Graph& g, const ArchParams& arch, const CompileOptions& opt);
  ~StreamedCompile();
  StreamedCompile(const StreamedCompile&) = delete;
  StreamedCompile& operator=(const StreamedCompile&) = delete;
  // Blocks until the program's layout is fixed (true: program() has its DRAM placement,
  // constants, input and outputs, and words() delivers its instructions), or until compiling
  // failed before that (false: finish() throws why).
  bool started();
  const Program& program() const { return prog_; }
  WordStream& words() { return stream_; }
  // Joins and returns the complete program, or throws what compile() would have thrown.
  Program finish();
  // After finish(): when codegen ended.
  std::chrono::steady_clock::time_point done_at() const { return done_at_; }

 private:
  Graph& g_;
  const ArchParams& arch_;
  CompileOptions opt_;
  Program prog_;
  WordStream stream_;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point done_at_;
  std::thread worker_;
  void run();
};

// The deterministic network input, in the dtype's data format (g.batch samples of C x H x W;
// sample 0 is the batch-1 input, the others continue the same stream).
std::vector<uint8_t> make_input(const Graph& g, isa::DType dtype, uint64_t seed = 1);

// Golden executor: runs the canonicalized graph on `input` (data format, g.batch samples) sample
// by sample and returns each network output in data format (every sample's, one after another).
// int16 follows hw/isa/numerics.h exactly.
std::vector<std::vector<uint8_t>> run_reference(const Graph& g, isa::DType dtype,
                                                const std::vector<uint8_t>& input);

}  // namespace fusesim::compiler
