// The ISA field table and the encoder, decoder and disassembler it drives.
#include "isa.h"

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace fusesim::isa {

namespace {

// The field tables, one per opcode, as constant arrays: encode and decode are unrolled over
// them at compile time (every word of a program goes through both), fields_of() lists them.
template <size_t A, size_t B>
constexpr std::array<FieldSpec, A + B> cat(const std::array<FieldSpec, A>& a, const std::array<FieldSpec, B>& b) {
  std::array<FieldSpec, A + B> out{};
  for (size_t i = 0; i < A; ++i) out[i] = a[i];
  for (size_t i = 0; i < B; ++i) out[A + i] = b[i];
  return out;
}

#define F(name, lsb, width) FieldSpec{#name, &Instr::name, lsb, width}

constexpr std::array<FieldSpec, 7> kCommon = {F(opcode, 0, 4),    F(pop_prev, 4, 1),  F(pop_next, 5, 1),
                                              F(push_prev, 6, 1), F(push_next, 7, 1), F(layer, 8, 16),
                                              F(dtype, 24, 1)};
constexpr std::array<FieldSpec, 8> kTransfer = {F(buf, 32, 2),       F(dram_addr, 34, 32), F(buf_addr, 66, 24),
                                                F(size0, 90, 16),    F(size1, 106, 16),    F(size2, 122, 16),
                                                F(stride1, 138, 24), F(stride2, 162, 24)};
// LOAD only: padding and the store fence
constexpr std::array<FieldSpec, 7> kLoadOnly = {F(pad_top, 186, 4),   F(pad_bottom, 190, 4), F(pad_left, 194, 4),
                                                F(pad_right, 198, 4), F(pad_value, 202, 1),  F(store_fence, 203, 1),
                                                F(fence_slack, 204, 20)};
constexpr std::array<FieldSpec, 1> kBufDesc = {F(buf_desc, 224, 3)};
constexpr auto kLoad = cat(cat(cat(kCommon, kTransfer), kLoadOnly), kBufDesc);
constexpr auto kStore = cat(cat(kCommon, kTransfer), kBufDesc);
constexpr auto kCompute = cat(
    kCommon, std::array<FieldSpec, 32>{
                 F(op, 32, 4),           F(in_buf, 36, 2),         F(in_addr, 38, 22),      F(w_addr, 60, 22),
                 F(out_pad_top, 82, 4),  F(out_pad_bottom, 86, 4), F(out_pad_left, 90, 4),  F(out_pad_right, 94, 4),
                 F(out_pad_value, 98, 1), F(act, 99, 5),           F(out_addr, 104, 22),    F(cin, 126, 16),
                 F(cout, 142, 16),       F(in_h, 158, 12),         F(in_w, 170, 12),        F(out_h, 182, 12),
                 F(out_w, 194, 12),      F(kh, 206, 8),            F(kw, 214, 8),           F(stride_h, 222, 4),
                 F(stride_w, 226, 4),    F(dil_h, 230, 3),         F(dil_w, 233, 3),        F(accumulate, 236, 1),
                 F(has_bias, 237, 1),    F(final, 238, 1),         F(shift, 242, 5),        F(fine, 247, 1),
                 F(divisor, 248, 8),     F(in_desc, 25, 3),        F(out_desc, 28, 3),      F(out_nbin, 31, 1)});
constexpr auto kDesc = cat(kCommon, std::array<FieldSpec, 6>{F(desc_id, 32, 3), F(desc_base, 35, 22),
                                                             F(desc_cpitch, 57, 22), F(desc_gpitch, 79, 22),
                                                             F(desc_group, 101, 8), F(desc_ring, 109, 22)});
#undef F

}  // namespace

bool Instr::operator==(const Instr& o) const {
  // Compare every field of every opcode's table; unused fields must match too.
  for (auto op : {Opcode::Load, Opcode::Compute, Opcode::Desc})
    for (const auto& f : fields_of(op))
      if (this->*(f.member) != o.*(f.member)) return false;
  return true;
}

const std::vector<FieldSpec>& fields_of(Opcode op) {
  static const std::vector<FieldSpec> common(kCommon.begin(), kCommon.end());
  static const std::vector<FieldSpec> load(kLoad.begin(), kLoad.end());
  static const std::vector<FieldSpec> store(kStore.begin(), kStore.end());
  static const std::vector<FieldSpec> compute(kCompute.begin(), kCompute.end());
  static const std::vector<FieldSpec> desc(kDesc.begin(), kDesc.end());
  switch (op) {
    case Opcode::Desc: return desc;
    case Opcode::Load: return load;
    case Opcode::Store: return store;
    case Opcode::Compute: return compute;
    default: return common;
  }
}

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::Nop: return "NOP";
    case Opcode::Load: return "LOAD";
    case Opcode::Store: return "STORE";
    case Opcode::Compute: return "COMPUTE";
    case Opcode::Sync: return "SYNC";
    case Opcode::End: return "END";
    case Opcode::Desc: return "DESC";
  }
  return "?";
}

const char* queue_name(Queue q) {
  switch (q) {
    case Queue::Load: return "load";
    case Queue::Compute: return "compute";
    case Queue::Store: return "store";
    case Queue::Control: return "control";
  }
  return "?";
}

const char* buffer_name(Buffer b) {
  switch (b) {
    case Buffer::NBin: return "NBin";
    case Buffer::SB: return "SB";
    case Buffer::NBout: return "NBout";
  }
  return "?";
}

const char* compute_op_name(ComputeOp op) {
  switch (op) {
    case ComputeOp::Conv: return "conv";
    case ComputeOp::DwConv: return "dwconv";
    case ComputeOp::MaxPool: return "maxpool";
    case ComputeOp::AvgPool: return "avgpool";
    case ComputeOp::Add: return "add";
    case ComputeOp::Act: return "act";
    case ComputeOp::Mul: return "mul";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::Relu: return "relu";
    case Activation::Relu6: return "relu6";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::LeakyRelu: return "leaky_relu";
    case Activation::Elu: return "elu";
    case Activation::Selu: return "selu";
    case Activation::HardSigmoid: return "hard_sigmoid";
    case Activation::HardSwish: return "hard_swish";
    case Activation::Softplus: return "softplus";
    case Activation::Exp: return "exp";
    case Activation::Log: return "log";
    case Activation::Reciprocal: return "reciprocal";
    case Activation::Sqrt: return "sqrt";
    case Activation::Abs: return "abs";
  }
  return "?";
}

Queue queue_of(Opcode op) {
  switch (op) {
    case Opcode::Load: return Queue::Load;
    case Opcode::Compute: return Queue::Compute;
    case Opcode::Store: return Queue::Store;
    default: return Queue::Control;
  }
}

namespace {

// Encoding and decoding unrolled over an opcode's constant table: each field is a load, a shift
// and an or at fixed positions.
template <const auto& Table, size_t I>
[[gnu::always_inline]] inline void put(Word& w, const Instr& in, uint32_t& overflow) {
  constexpr FieldSpec F = Table[I];
  constexpr uint32_t mask = F.width >= 32 ? ~uint32_t{0} : (uint32_t{1} << F.width) - 1;
  constexpr unsigned word = F.lsb / 64, shift = F.lsb % 64;
  const uint32_t v = in.*(F.member);
  overflow |= v & ~mask;
  w[word] |= uint64_t{v} << shift;
  if constexpr (shift + F.width > 64) w[word + 1] |= uint64_t{v} >> (64 - shift);
}

template <const auto& Table, size_t I>
[[gnu::always_inline]] inline void get(const Word& w, Instr& in) {
  constexpr FieldSpec F = Table[I];
  constexpr uint32_t mask = F.width >= 32 ? ~uint32_t{0} : (uint32_t{1} << F.width) - 1;
  constexpr unsigned word = F.lsb / 64, shift = F.lsb % 64;
  uint64_t v = w[word] >> shift;
  if constexpr (shift + F.width > 64) v |= w[word + 1] << (64 - shift);
  in.*(F.member) = static_cast<uint32_t>(v) & mask;
}

template <const auto& Table, size_t... I>
Word pack(const Instr& in, uint32_t& overflow, std::index_sequence<I...>) {
  Word w{};
  (put<Table, I>(w, in, overflow), ...);
  return w;
}

template <const auto& Table, size_t... I>
void unpack(const Word& w, Instr& in, std::index_sequence<I...>) {
  (get<Table, I>(w, in), ...);
}

template <const auto& Table>
Word pack(const Instr& in, uint32_t& overflow) {
  return pack<Table>(in, overflow, std::make_index_sequence<std::tuple_size_v<std::decay_t<decltype(Table)>>>{});
}

template <const auto& Table>
void unpack(const Word& w, Instr& in) {
  unpack<Table>(w, in, std::make_index_sequence<std::tuple_size_v<std::decay_t<decltype(Table)>>>{});
}

// The bits an opcode's fields cover.
template <const auto& Table>
constexpr Word used_bits() {
  Word u{};
  for (const FieldSpec& f : Table) {
    const uint64_t ones = f.width >= 64 ? ~uint64_t{0} : (uint64_t{1} << f.width) - 1;
    const unsigned word = f.lsb / 64, shift = f.lsb % 64;
    u[word] |= ones << shift;
    if (shift + f.width > 64) u[word + 1] |= ones >> (64 - shift);
  }
  return u;
}

}  // namespace

Word encode(const Instr& in) {
  uint32_t overflow = 0;
  Word w;
  switch (static_cast<Opcode>(in.opcode)) {
    case Opcode::Load: w = pack<kLoad>(in, overflow); break;
    case Opcode::Store: w = pack<kStore>(in, overflow); break;
    case Opcode::Compute: w = pack<kCompute>(in, overflow); break;
    case Opcode::Desc: w = pack<kDesc>(in, overflow); break;
    case Opcode::Nop:
    case Opcode::Sync:
    case Opcode::End: w = pack<kCommon>(in, overflow); break;
    default: throw std::invalid_argument("isa: unknown opcode " + std::to_string(in.opcode));
  }
  if (overflow) {  // name the first field that does not fit
    for (const FieldSpec& f : fields_of(static_cast<Opcode>(in.opcode))) {
      const uint32_t v = in.*(f.member);
      if (f.width < 32 && (v >> f.width) != 0)
        throw std::invalid_argument(std::string("isa: field '") + f.name + "' of " +
                                    opcode_name(static_cast<Opcode>(in.opcode)) + " value " + std::to_string(v) +
                                    " does not fit in " + std::to_string(f.width) + " bits");
    }
  }
  return w;
}

std::optional<Instr> decode(const Word& w) {
  static constexpr Word kUsedCommon = used_bits<kCommon>(), kUsedLoad = used_bits<kLoad>(),
                        kUsedStore = used_bits<kStore>(), kUsedCompute = used_bits<kCompute>(),
                        kUsedDesc = used_bits<kDesc>();
  auto outside = [&](const Word& used) {
    return ((w[0] & ~used[0]) | (w[1] & ~used[1]) | (w[2] & ~used[2]) | (w[3] & ~used[3])) != 0;
  };
  Instr in;
  switch (static_cast<Opcode>(w[0] & 0xf)) {
    case Opcode::Load:
      if (outside(kUsedLoad)) return std::nullopt;
      unpack<kLoad>(w, in);
      if (in.buf > 2) return std::nullopt;
      return in;
    case Opcode::Store:
      if (outside(kUsedStore)) return std::nullopt;
      unpack<kStore>(w, in);
      if (in.buf > 2) return std::nullopt;
      return in;
    case Opcode::Compute:
      if (outside(kUsedCompute)) return std::nullopt;
      unpack<kCompute>(w, in);
      // Enumerated fields must name a known value.
      if (in.op > static_cast<uint32_t>(kLastComputeOp) || in.act > static_cast<uint32_t>(kLastActivation) ||
          in.in_buf == static_cast<uint32_t>(Buffer::SB) || in.in_buf > 2)
        return std::nullopt;
      return in;
    case Opcode::Desc:
      if (outside(kUsedDesc)) return std::nullopt;
      unpack<kDesc>(w, in);
      return in;
    case Opcode::Nop:
    case Opcode::Sync:
    case Opcode::End:
      if (outside(kUsedCommon)) return std::nullopt;
      unpack<kCommon>(w, in);
      return in;
  }
  return std::nullopt;
}

std::string disassemble(const Instr& in) {
  std::ostringstream os;
  auto opc = static_cast<Opcode>(in.opcode);
  os << opcode_name(opc);
  if (opc == Opcode::Compute) os << "." << compute_op_name(static_cast<ComputeOp>(in.op));
  for (const auto& f : fields_of(opc)) {
    if (f.member == &Instr::opcode) continue;
    uint32_t v = in.*(f.member);
    if (v == 0 && f.member != &Instr::layer) continue;  // keep listings short: zero fields omitted
    os << " " << f.name << "=";
    if (f.member == &Instr::buf || f.member == &Instr::in_buf)
      os << buffer_name(static_cast<Buffer>(v));
    else if (f.member == &Instr::act)
      os << activation_name(static_cast<Activation>(v));
    else if (f.member == &Instr::dram_addr)
      os << "0x" << std::hex << v << std::dec;
    else
      os << v;
  }
  return os.str();
}

// Words are held little endian in DRAM: on a little-endian host that is the Word's own layout.
void to_bytes(const Word& w, uint8_t* out) {
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    std::memcpy(out, w.data(), kInstrBytes);
  } else {
    for (int i = 0; i < 4; ++i)
      for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<uint8_t>(w[i] >> (8 * b));
  }
}

Word from_bytes(const uint8_t* in) {
  Word w{};
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    std::memcpy(w.data(), in, kInstrBytes);
  } else {
    for (int i = 0; i < 4; ++i)
      for (int b = 0; b < 8; ++b) w[i] |= static_cast<uint64_t>(in[i * 8 + b]) << (8 * b);
  }
  return w;
}

}  // namespace fusesim::isa
