// fusesim ISA: the contract between compiler/ and hw/. One field table drives the encoder,
// decoder and disassembler. Plain C++ with no SystemC. Semantics are documented in docs/isa.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fusesim::isa {

// Bump when the encoding or the meaning of any field changes.
constexpr uint32_t kIsaVersion = 4;
constexpr std::size_t kInstrBytes = 32;  // fixed 256-bit words
using Word = std::array<uint64_t, 4>;

enum class Opcode : uint32_t { Nop = 0, Load = 1, Store = 2, Compute = 3, Sync = 4, End = 5, Desc = 6 };
// The queue an instruction executes on. Tokens flow between neighbouring queues:
// Load <-> Compute <-> Store.
enum class Queue : uint32_t { Load = 0, Compute = 1, Store = 2, Control = 3 };

enum class Buffer : uint32_t { NBin = 0, SB = 1, NBout = 2 };
enum class ComputeOp : uint32_t {
  Conv = 0,     // dense convolution (FC is a conv over a 1x1 map)
  DwConv = 1,   // depthwise: channel c of input with filter c
  MaxPool = 2,
  AvgPool = 3,
  Add = 4,      // NBout[o] = NBout[o] + input[o], element-wise
  Act = 5,      // NBout[o] = NFU3(input[o]) : activation only / copy
  Mul = 6,      // NBout[o] = NBout[o] * input[o], element-wise (an LSTM's gating); int16: Q8.8 product
};
constexpr ComputeOp kLastComputeOp = ComputeOp::Mul;
// NFU-3's functions (hw/isa/numerics.h). The smooth ones are piecewise-linear tables in int16.
enum class Activation : uint32_t {
  None = 0,
  Relu = 1,
  Relu6 = 2,
  Sigmoid = 3,
  Tanh = 4,
  LeakyRelu = 5,
  Elu = 6,
  Selu = 7,
  HardSigmoid = 8,
  HardSwish = 9,
  Softplus = 10,
  Exp = 11,         // the element-wise functions of softmax, reductions and division (issue 10)
  Log = 12,
  Reciprocal = 13,
  Sqrt = 14,
  Abs = 15,
};
constexpr Activation kLastActivation = Activation::Abs;
enum class DType : uint32_t { Int16 = 0, Fp32 = 1 };
enum class PadValue : uint32_t { Zero = 0, Min = 1 };

// Every field of every opcode. Fields an opcode does not use stay zero.
struct Instr {
  uint32_t opcode = 0;
  // dependency tokens (as VTA): pop waits for a token before executing, push sends one after
  uint32_t pop_prev = 0, pop_next = 0, push_prev = 0, push_next = 0;
  uint32_t layer = 0;  // layer or fused-group index, for statistics and traces
  uint32_t dtype = 0;  // DType

  // LOAD / STORE
  uint32_t buf = 0;        // Buffer (LOAD destination; STORE source is always NBout)
  uint32_t dram_addr = 0;  // byte address of the first non-padding element
  uint32_t buf_addr = 0;   // byte address in the buffer
  uint32_t size0 = 0, size1 = 0, size2 = 0;  // pattern extent in elements, innermost first
  uint32_t stride1 = 0, stride2 = 0;         // DRAM strides in elements of dims 1 and 2
  uint32_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // padding of dims 1/0
  uint32_t pad_value = 0;  // PadValue
  // LOAD only (v3): a store fence. With store_fence set the LOAD starts only when every STORE
  // dispatched before it, except the latest fence_slack of them, has completed: the consumer of
  // a tensor waits for the stores that wrote it, and no barrier stops the other queues.
  uint32_t store_fence = 0, fence_slack = 0;
  // LOAD / STORE (v4): the map descriptor register (0: dense, as v3) that places the pattern's
  // elements (k, r, c) = (channel, row, column) in the buffer (docs/isa.md, Map descriptors).
  uint32_t buf_desc = 0;

  // COMPUTE
  uint32_t op = 0;       // ComputeOp
  uint32_t in_buf = 0;   // Buffer holding the input map: NBin or NBout
  uint32_t in_addr = 0;  // byte address of the input map [cin][in_h][in_w]
  uint32_t w_addr = 0;   // SB byte address of weights [cout][cin][kh][kw] (DwConv: [c][kh][kw]),
                         // followed directly by cout biases when has_bias
  uint32_t out_addr = 0;   // NBout byte address of the output map [cout][out_h][out_w]
  // Output halo (v2): the output map written is [cout][out_pad_top + out_h + out_pad_bottom]
  // [out_pad_left + out_w + out_pad_right]; computed values land inside, the ring holds the pad
  // value. A fused consumer reads it as a ready-padded input map.
  uint32_t out_pad_top = 0, out_pad_bottom = 0, out_pad_left = 0, out_pad_right = 0;
  uint32_t out_pad_value = 0;  // PadValue
  uint32_t cin = 0, cout = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  uint32_t kh = 0, kw = 0, stride_h = 0, stride_w = 0, dil_h = 0, dil_w = 0;
  uint32_t accumulate = 0;  // 1: NFU-2 starts from the partial sums in NBout; 0: from bias/zero
  uint32_t has_bias = 0;
  uint32_t final = 0;       // 1: last partial sum; NFU-3 requantizes and activates
  uint32_t act = 0;         // Activation applied by NFU-3 when final
  uint32_t shift = 0;       // int16: right shift from accumulator to activation scale
  uint32_t fine = 0;        // fine-grained pipeline: NFU-1/2/3 overlap, no per-block drain
  uint32_t divisor = 0;     // AvgPool: divisor (0 means kh*kw)
  // COMPUTE (v4): map descriptor registers of the input and output maps (0: dense, as v3), and
  // out_nbin: the output is written to NBin as data elements (final values, narrowed as STORE
  // narrows) instead of to NBout as accumulators. A fused group keeps its intermediates there.
  uint32_t in_desc = 0, out_desc = 0, out_nbin = 0;

  // DESC (v4, executed by the controller at dispatch): sets descriptor register desc_id (1..7)
  // to { desc_base, desc_cpitch, desc_gpitch, desc_group, desc_ring }; see isa::MapDesc.
  uint32_t desc_id = 0, desc_base = 0, desc_cpitch = 0, desc_gpitch = 0, desc_group = 0, desc_ring = 0;

  bool operator==(const Instr& o) const;
  bool operator!=(const Instr& o) const { return !(*this == o); }
};

struct FieldSpec {
  const char* name;
  uint32_t Instr::*member;
  uint16_t lsb;    // bit position in the 256-bit word
  uint16_t width;  // bits
};

// The one table: the fields of each opcode, in encoding order. Common fields first.
const std::vector<FieldSpec>& fields_of(Opcode op);
const char* opcode_name(Opcode op);
const char* queue_name(Queue q);
const char* buffer_name(Buffer b);
const char* compute_op_name(ComputeOp op);
const char* activation_name(Activation a);
Queue queue_of(Opcode op);

// Encode throws std::invalid_argument naming the field when a value does not fit its width.
Word encode(const Instr& in);
// Decode returns nullopt for an undecodable word (bad opcode or bits set outside fields).
std::optional<Instr> decode(const Word& w);
std::string disassemble(const Instr& in);

void to_bytes(const Word& w, uint8_t* out);  // little endian, 32 bytes
Word from_bytes(const uint8_t* in);

// Size in bytes of one element in a buffer. NBout holds accumulators (always 4 bytes);
// NBin, SB and DRAM hold data elements (2 bytes in int16, 4 in fp32).
inline uint32_t data_bytes(DType t) { return t == DType::Int16 ? 2u : 4u; }
inline uint32_t elem_bytes(Buffer b, DType t) { return b == Buffer::NBout ? 4u : data_bytes(t); }

}  // namespace fusesim::isa
