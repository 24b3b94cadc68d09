// The ISA field table and the encoder, decoder and disassembler it drives.
#include "isa.h"

#include <cstring>
#include <sstream>
#include <type_traits>
#include <stdexcept>

namespace fusesim::isa {

namespace {

#define F(name, lsb, width) FieldSpec{#name, &Instr::name, lsb, width}

std::vector<FieldSpec> common_fields() {
  return {F(opcode, 0, 4),    F(pop_prev, 4, 1),  F(pop_next, 5, 1), F(push_prev, 6, 1),
          F(push_next, 7, 1), F(layer, 8, 16),    F(dtype, 24, 1)};
}

std::vector<FieldSpec> with_common(std::vector<FieldSpec> extra) {
  auto all = common_fields();
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

std::vector<FieldSpec> transfer_fields(bool is_load) {
  std::vector<FieldSpec> f = {F(buf, 32, 2),      F(dram_addr, 34, 32), F(buf_addr, 66, 24),
                              F(size0, 90, 16),   F(size1, 106, 16),    F(size2, 122, 16),
                              F(stride1, 138, 24), F(stride2, 162, 24)};
  if (is_load) {  // padding and the store fence
    f.insert(f.end(), {F(pad_top, 186, 4), F(pad_bottom, 190, 4), F(pad_left, 194, 4),
                       F(pad_right, 198, 4), F(pad_value, 202, 1), F(store_fence, 203, 1),
                       F(fence_slack, 204, 20)});
  }
  f.push_back(F(buf_desc, 224, 3));
  return with_common(f);
}

std::vector<FieldSpec> compute_fields() {
  return with_common({F(op, 32, 4),         F(in_buf, 36, 2),     F(in_addr, 38, 22),
                      F(w_addr, 60, 22),    F(out_pad_top, 82, 4),  F(out_pad_bottom, 86, 4),
                      F(out_pad_left, 90, 4), F(out_pad_right, 94, 4), F(out_pad_value, 98, 1),
                      F(act, 99, 5),        F(out_addr, 104, 22),
                      F(cin, 126, 16),      F(cout, 142, 16),     F(in_h, 158, 12),
                      F(in_w, 170, 12),     F(out_h, 182, 12),    F(out_w, 194, 12),
                      F(kh, 206, 8),        F(kw, 214, 8),        F(stride_h, 222, 4),
                      F(stride_w, 226, 4),  F(dil_h, 230, 3),     F(dil_w, 233, 3),
                      F(accumulate, 236, 1), F(has_bias, 237, 1), F(final, 238, 1),
                      F(shift, 242, 5),     F(fine, 247, 1),
                      F(divisor, 248, 8),   F(in_desc, 25, 3),    F(out_desc, 28, 3),
                      F(out_nbin, 31, 1)});
}

std::vector<FieldSpec> desc_fields() {
  return with_common({F(desc_id, 32, 3), F(desc_base, 35, 22), F(desc_cpitch, 57, 22), F(desc_gpitch, 79, 22),
                      F(desc_group, 101, 8), F(desc_ring, 109, 22)});
}
#undef F

uint64_t get_bits(const Word& w, unsigned lsb, unsigned width) {
  // A field spans at most two 64-bit words (widths are <= 32).
  const unsigned i = lsb / 64, off = lsb % 64;
  uint64_t v = w[i] >> off;
  if (off + width > 64) v |= w[i + 1] << (64 - off);
  return width >= 64 ? v : v & ((uint64_t{1} << width) - 1);
}

void set_bits(Word& w, unsigned lsb, unsigned width, uint64_t v) {
  if (width < 64) v &= (uint64_t{1} << width) - 1;
  const unsigned i = lsb / 64, off = lsb % 64;
  w[i] |= v << off;
  if (off + width > 64) w[i + 1] |= v >> (64 - off);
}

}  // namespace

bool Instr::operator==(const Instr& o) const {
  // Compare every field of every opcode's table; unused fields must match too.
  for (auto op : {Opcode::Load, Opcode::Compute, Opcode::Desc})
    for (const auto& f : fields_of(op))
      if (this->*(f.member) != o.*(f.member)) return false;
  return true;
}

const std::vector<FieldSpec>& fields_of(Opcode op) {
  static const std::vector<FieldSpec> common = common_fields();
  static const std::vector<FieldSpec> load = transfer_fields(true);
  static const std::vector<FieldSpec> store = transfer_fields(false);
  static const std::vector<FieldSpec> compute = compute_fields();
  static const std::vector<FieldSpec> desc = desc_fields();
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
// The field table of each opcode in the form the encoder and decoder walk (every word of a
// program goes through both): the member as an index into Instr's uint32_t fields, the 64-bit
// word and shift of its low bit, and whether it runs into the next word. Built from fields_of.
struct PackedField {
  uint16_t member;  // byte offset of the uint32_t member in Instr
  uint8_t word, shift;
  uint32_t mask;
  bool spans;       // continues into word + 1
  const FieldSpec* spec;
};
struct PackedTable {
  std::vector<PackedField> fields;
};
static_assert(std::is_trivially_copyable_v<Instr>, "fields are copied by byte offset");

const PackedTable& packed(uint32_t opcode) {
  static const std::array<PackedTable, 7> tables = [] {
    std::array<PackedTable, 7> t{};
    const Instr probe{};
    const char* base = reinterpret_cast<const char*>(&probe);
    for (uint32_t o = 0; o < t.size(); ++o)
      for (const FieldSpec& f : fields_of(static_cast<Opcode>(o))) {
        PackedField p;
        p.member = static_cast<uint16_t>(reinterpret_cast<const char*>(&(probe.*(f.member))) - base);
        p.word = static_cast<uint8_t>(f.lsb / 64);
        p.shift = static_cast<uint8_t>(f.lsb % 64);
        p.mask = f.width >= 32 ? ~uint32_t{0} : (uint32_t{1} << f.width) - 1;
        p.spans = p.shift + f.width > 64;
        p.spec = &f;
        t[o].fields.push_back(p);
      }
    return t;
  }();
  return tables[opcode];
}
}  // namespace

Word encode(const Instr& in) {
  if (in.opcode > static_cast<uint32_t>(Opcode::Desc))
    throw std::invalid_argument("isa: unknown opcode " + std::to_string(in.opcode));
  Word w{};
  const auto* bytes = reinterpret_cast<const char*>(&in);
  for (const PackedField& p : packed(in.opcode).fields) {
    uint32_t v;
    std::memcpy(&v, bytes + p.member, sizeof v);
    if (v & ~p.mask) {
      const FieldSpec& f = *p.spec;
      throw std::invalid_argument(std::string("isa: field '") + f.name + "' of " +
                                  opcode_name(static_cast<Opcode>(in.opcode)) + " value " +
                                  std::to_string(v) + " does not fit in " +
                                  std::to_string(f.width) + " bits");
    }
    w[p.word] |= uint64_t{v} << p.shift;
    if (p.spans) w[p.word + 1] |= uint64_t{v} >> (64 - p.shift);
  }
  return w;
}

std::optional<Instr> decode(const Word& w) {
  uint32_t opc = static_cast<uint32_t>(get_bits(w, 0, 4));
  if (opc > static_cast<uint32_t>(Opcode::Desc)) return std::nullopt;
  // The bits each opcode's fields cover, computed once from the table.
  static const std::array<Word, 7> used_bits = [] {
    std::array<Word, 7> u{};
    for (uint32_t o = 0; o < u.size(); ++o)
      for (const auto& f : fields_of(static_cast<Opcode>(o)))
        set_bits(u[o], f.lsb, f.width, f.width >= 64 ? ~0ull : ((1ull << f.width) - 1));
    return u;
  }();
  const Word& used = used_bits[opc];
  for (int i = 0; i < 4; ++i)
    if (w[i] & ~used[i]) return std::nullopt;
  Instr in;
  auto* bytes = reinterpret_cast<char*>(&in);
  for (const PackedField& p : packed(opc).fields) {
    uint64_t v = w[p.word] >> p.shift;
    if (p.spans) v |= w[p.word + 1] << (64 - p.shift);
    const uint32_t field = static_cast<uint32_t>(v) & p.mask;
    std::memcpy(bytes + p.member, &field, sizeof field);
  }
  // Enumerated fields must name a known value.
  if (opc == static_cast<uint32_t>(Opcode::Compute)) {
    if (in.op > static_cast<uint32_t>(kLastComputeOp) || in.act > static_cast<uint32_t>(kLastActivation) ||
        in.in_buf == static_cast<uint32_t>(Buffer::SB) || in.in_buf > 2)
      return std::nullopt;
  }
  if ((opc == static_cast<uint32_t>(Opcode::Load) || opc == static_cast<uint32_t>(Opcode::Store)) && in.buf > 2)
    return std::nullopt;
  return in;
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

void to_bytes(const Word& w, uint8_t* out) {
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<uint8_t>(w[i] >> (8 * b));
}

Word from_bytes(const uint8_t* in) {
  Word w{};
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 8; ++b) w[i] |= static_cast<uint64_t>(in[i * 8 + b]) << (8 * b);
  return w;
}

}  // namespace fusesim::isa
