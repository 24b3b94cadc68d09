// ISA round trip: every field of every opcode survives encode -> bytes -> decode.
#include <gtest/gtest.h>

#include "isa/isa.h"

using namespace fusesim::isa;

namespace {
Instr with_all_fields(Opcode op, bool max_values, unsigned salt) {
  Instr in;
  for (const auto& f : fields_of(op)) {
    uint64_t maxv = (f.width >= 32) ? 0xFFFFFFFFull : ((1ull << f.width) - 1);
    in.*(f.member) = static_cast<uint32_t>(max_values ? maxv : (salt * 2654435761u + f.lsb) % (maxv + 1));
  }
  in.opcode = static_cast<uint32_t>(op);
  if (op == Opcode::Compute) {  // keep enumerated fields within their sets
    in.op = max_values ? static_cast<uint32_t>(ComputeOp::Act) : salt % 6;
    in.act = max_values ? static_cast<uint32_t>(kLastActivation) : salt % (static_cast<uint32_t>(kLastActivation) + 1);
    in.in_buf = (salt % 2) ? 2 : 0;
  }
  if (op == Opcode::Load || op == Opcode::Store) in.buf = salt % 3;
  return in;
}
}  // namespace

TEST(Isa, RoundTripEveryFieldOfEveryOpcode) {
  for (auto op :
       {Opcode::Nop, Opcode::Load, Opcode::Store, Opcode::Compute, Opcode::Sync, Opcode::End, Opcode::Desc}) {
    for (unsigned salt = 0; salt < 50; ++salt) {
      for (bool maxv : {false, true}) {
        Instr in = with_all_fields(op, maxv, salt);
        uint8_t bytes[kInstrBytes];
        to_bytes(encode(in), bytes);
        auto out = decode(from_bytes(bytes));
        ASSERT_TRUE(out.has_value()) << opcode_name(op);
        for (const auto& f : fields_of(op))
          EXPECT_EQ(in.*(f.member), (*out).*(f.member)) << opcode_name(op) << "." << f.name;
      }
    }
  }
}

TEST(Isa, EachFieldIsIndependent) {
  // Setting one field to its maximum changes that field and no other.
  for (auto op : {Opcode::Load, Opcode::Store, Opcode::Compute, Opcode::Desc}) {
    for (const auto& f : fields_of(op)) {
      if (f.member == &Instr::opcode) continue;
      Instr in;
      in.opcode = static_cast<uint32_t>(op);
      uint32_t v = f.width >= 32 ? 0xFFFFFFFFu : (1u << f.width) - 1;
      if (f.member == &Instr::op) v = 5;
      if (f.member == &Instr::act) v = static_cast<uint32_t>(kLastActivation);
      if (f.member == &Instr::buf || f.member == &Instr::in_buf) v = 2;
      in.*(f.member) = v;
      auto out = decode(encode(in));
      ASSERT_TRUE(out) << f.name;
      EXPECT_EQ(*out, in) << f.name;
    }
  }
}

TEST(Isa, FieldsDoNotOverlapAndFitTheWord) {
  for (auto op : {Opcode::Load, Opcode::Store, Opcode::Compute, Opcode::Desc}) {
    std::vector<int> owner(256, -1);
    const auto& fs = fields_of(op);
    for (std::size_t i = 0; i < fs.size(); ++i) {
      ASSERT_LE(fs[i].lsb + fs[i].width, 256u) << fs[i].name;
      for (unsigned b = fs[i].lsb; b < fs[i].lsb + fs[i].width; ++b) {
        EXPECT_EQ(owner[b], -1) << fs[i].name << " overlaps " << (owner[b] >= 0 ? fs[owner[b]].name : "");
        owner[b] = static_cast<int>(i);
      }
    }
  }
}

TEST(Isa, OversizedValueIsRejectedNamingTheField) {
  Instr in;
  in.opcode = static_cast<uint32_t>(Opcode::Compute);
  in.kh = 256;  // 8-bit field
  try {
    encode(in);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("kh"), std::string::npos);
  }
}

TEST(Isa, StrayBitsAndBadOpcodesAreUndecodable) {
  Word w{};
  w[0] = 0xF;  // opcode 15
  EXPECT_FALSE(decode(w).has_value());
  Instr end;
  end.opcode = static_cast<uint32_t>(Opcode::End);
  Word e = encode(end);
  e[3] |= 1ull << 60;  // outside END's fields
  EXPECT_FALSE(decode(e).has_value());
}

TEST(Isa, DisassemblyNamesOpAndFields) {
  Instr in;
  in.opcode = static_cast<uint32_t>(Opcode::Compute);
  in.op = static_cast<uint32_t>(ComputeOp::Conv);
  in.cin = 32;
  in.act = static_cast<uint32_t>(Activation::Relu);
  std::string s = disassemble(in);
  EXPECT_NE(s.find("COMPUTE.conv"), std::string::npos) << s;
  EXPECT_NE(s.find("cin=32"), std::string::npos) << s;
  EXPECT_NE(s.find("act=relu"), std::string::npos) << s;
}

// ISA v4: DESC carries a descriptor register's values and nothing else; the v4 fields of
// LOAD/STORE and COMPUTE sit where the table says, and bits beside them stay undecodable.
TEST(Isa, DescAndTheV4FieldsRoundTrip) {
  Instr d;
  d.opcode = static_cast<uint32_t>(Opcode::Desc);
  d.desc_id = 7;
  d.desc_base = (1u << 22) - 2;
  d.desc_cpitch = 4096;
  d.desc_gpitch = 56;
  d.desc_group = 255;
  d.desc_ring = 1u << 21;
  Word w = encode(d);
  EXPECT_EQ(decode(w), d);
  EXPECT_EQ(queue_of(Opcode::Desc), Queue::Control);
  // desc_ring ends at bit 130; bit 131 and a bit near the top belong to no DESC field.
  for (unsigned bit : {131u, 250u}) {
    Word stray = w;
    stray[bit / 64] |= 1ull << (bit % 64);
    EXPECT_FALSE(decode(stray).has_value()) << bit;
  }
  // LOAD's buf_desc is bits 224..226, COMPUTE's in_desc, out_desc and out_nbin bits 25..31.
  Instr l;
  l.opcode = static_cast<uint32_t>(Opcode::Load);
  l.buf_desc = 5;
  EXPECT_EQ(encode(l)[3], 5ull << (224 - 192));
  Word lw = encode(l);
  lw[3] |= 1ull << (227 - 192);
  EXPECT_FALSE(decode(lw).has_value());
  Instr c;
  c.opcode = static_cast<uint32_t>(Opcode::Compute);
  c.in_desc = 3;
  c.out_desc = 6;
  c.out_nbin = 1;
  EXPECT_EQ(encode(c)[0], static_cast<uint64_t>(Opcode::Compute) | 3ull << 25 | 6ull << 28 | 1ull << 31);
  EXPECT_EQ(decode(encode(c)), c);
  // A DESC field value that does not fit is refused by name.
  d.desc_group = 256;
  try {
    encode(d);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("desc_group"), std::string::npos) << e.what();
  }
}

TEST(Isa, DisassemblyOfDesc) {
  Instr d;
  d.opcode = static_cast<uint32_t>(Opcode::Desc);
  d.desc_id = 2;
  d.desc_base = 512;
  d.desc_cpitch = 64;
  d.desc_gpitch = 8;
  d.desc_group = 2;
  d.desc_ring = 32;
  EXPECT_EQ(disassemble(d),
            "DESC layer=0 desc_id=2 desc_base=512 desc_cpitch=64 desc_gpitch=8 desc_group=2 desc_ring=32");
}

// v4 moved `act` to bits 99..103 (5 bits) so that NFU-3 has room for more functions: the field
// sits there, a code past the last activation is undecodable, and its old bits 239..241 are free.
TEST(Isa, ActIsFiveBitsAt99AndUnknownCodesAreUndecodable) {
  Instr in;
  in.opcode = static_cast<uint32_t>(Opcode::Compute);
  in.op = static_cast<uint32_t>(ComputeOp::Act);
  in.act = static_cast<uint32_t>(Activation::Softplus);
  Word w = encode(in);
  EXPECT_EQ((w[1] >> (99 - 64)) & 0x1F, static_cast<uint64_t>(Activation::Softplus));
  EXPECT_EQ(decode(w), in);
  Word unknown = w;
  unknown[1] |= uint64_t{0x1F} << (99 - 64);  // code 31
  EXPECT_FALSE(decode(unknown).has_value());
  Word old_bits = encode(in);
  old_bits[3] |= uint64_t{1} << (239 - 192);
  EXPECT_FALSE(decode(old_bits).has_value());
}
