// isa::MapView, the addressing of ISA v4 map descriptors: element addresses, the pieces of a
// row that are contiguous in the buffer and the bytes an operand may touch, each checked
// against positions worked out by hand from docs/isa.md.
#include "isa/map_desc.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

using namespace fusesim::isa;

namespace {

using Piece = std::tuple<uint64_t, uint64_t, uint64_t>;  // byte address, offset, count

std::vector<Piece> pieces(const MapView& v, uint64_t c, uint64_t y, uint64_t x0, uint64_t n) {
  std::vector<Piece> out;
  v.for_each_piece(c, y, x0, n, 0, 0,
                   [&](uint64_t a, uint64_t off, uint64_t cnt) { out.emplace_back(a, off, cnt); });
  return out;
}

}  // namespace

// Register 0 keeps the v3 layout: (c, y, x) at start + ((c * rows + y) * cols + x) * esize, a
// whole row is one piece, and the bytes touched run from the start to the last element.
TEST(MapView, DenseIsTheV3Layout) {
  const MapView v(MapDesc{}, 100, 2);
  EXPECT_EQ(v.addr(1, 2, 3, 5, 7), 100u + ((1 * 5 + 2) * 7 + 3) * 2);
  std::vector<Piece> row;
  v.for_each_piece(1, 2, 1, 6, 5, 7,
                   [&](uint64_t a, uint64_t off, uint64_t n) { row.emplace_back(a, off, n); });
  EXPECT_EQ(row, (std::vector<Piece>{{100u + ((1 * 5 + 2) * 7 + 1) * 2, 0, 6}}));
  // a 3x4 window of a map with 5x7 planes, 2 planes: up to element (1, 2, 3) of the big map
  const auto [lo, hi] = v.byte_range(2, 3, 4, 5, 7);
  EXPECT_EQ(lo, 100u);
  EXPECT_EQ(hi, 100u + ((1 * 5 + 2) * 7 + 3) * 2 + 2);
  EXPECT_TRUE(v.start_ok());
}

// Group 2, gpitch 4, cpitch 32, base 64, int16. A plane places (Y, X) at ((Y/2)*4 + X)*2 + Y%2.
// The operand starts in plane 1 at (Y=3, X=0): position ((1*4)+0)*2 + 1 = 9, byte 64 + 41*2.
TEST(MapView, GroupsInterleaveRowsByColumn) {
  const MapView v(MapDesc::of(64, 32, 4, 2, 0), 64 + (32 + 9) * 2, 2);
  ASSERT_TRUE(v.start_ok());
  EXPECT_EQ(v.addr(0, 0, 0, 0, 0), 64u + (32 + 9) * 2);   // (Y=3, X=0)
  EXPECT_EQ(v.addr(0, 0, 1, 0, 0), 64u + (32 + 11) * 2);  // (Y=3, X=1): (4+1)*2+1
  EXPECT_EQ(v.addr(0, 1, 0, 0, 0), 64u + (32 + 16) * 2);  // (Y=4, X=0): (2*4+0)*2+0
  EXPECT_EQ(v.addr(1, 2, 3, 0, 0), 64u + (64 + 23) * 2);  // plane 2, (Y=5, X=3): (2*4+3)*2+1
  // Columns of a row are 2 elements apart: every element is its own piece.
  EXPECT_EQ(pieces(v, 0, 0, 0, 3),
            (std::vector<Piece>{{64 + 41 * 2, 0, 1}, {64 + 43 * 2, 1, 1}, {64 + 45 * 2, 2, 1}}));
  // 2 planes x 3 rows x 4 columns: from the start to (1, 2, 3) inclusive.
  const auto [lo, hi] = v.byte_range(2, 3, 4, 0, 0);
  EXPECT_EQ(lo, 64u + 41 * 2);
  EXPECT_EQ(hi, 64u + (64 + 23) * 2 + 2);
}

// Group 1, row pitch 5, ring 20 in planes of 20, fp32 (4 bytes). The operand starts at
// position 17 (Y=3, X=2); positions wrap modulo 20, so its row 0 is positions 17, 18, 19, 0, 1.
TEST(MapView, RingWrapsInsideThePlaneAndSplitsTheRow) {
  const MapView v(MapDesc::of(0, 20, 5, 1, 20), 17 * 4, 4);
  ASSERT_TRUE(v.start_ok());
  EXPECT_EQ(v.addr(0, 0, 3, 0, 0), 0u);
  EXPECT_EQ(v.addr(0, 1, 0, 0, 0), 2u * 4);          // 17 + 5 = 22 -> 2
  EXPECT_EQ(v.addr(1, 0, 0, 0, 0), (20u + 17) * 4);  // plane 1, same position
  EXPECT_EQ(v.contiguous(0, 0, 5), 3u);
  EXPECT_EQ(pieces(v, 0, 0, 0, 5), (std::vector<Piece>{{17 * 4, 0, 3}, {0, 3, 2}}));
  EXPECT_EQ(pieces(v, 1, 0, 1, 4), (std::vector<Piece>{{(20 + 18) * 4, 0, 2}, {20 * 4, 2, 2}}));
  // With a ring, the bytes are the planes' whole ring regions.
  const auto [lo, hi] = v.byte_range(3, 2, 5, 0, 0);
  EXPECT_EQ(lo, 0u);
  EXPECT_EQ(hi, (2u * 20 + 20) * 4);
}

// A ring of 16 with group 2 and gpitch 4: a row group spans 8 positions, so the ring holds two.
// From (Y=2, X=0) (position 8), row y=2 is absolute row 4, position 16, wrapped to 0.
TEST(MapView, RingWithGroupsWrapsWholeRowGroups) {
  const MapView v(MapDesc::of(0, 16, 4, 2, 16), 8 * 2, 2);
  EXPECT_EQ(v.addr(0, 0, 0, 0, 0), 8u * 2);
  EXPECT_EQ(v.addr(0, 1, 3, 0, 0), (8u + 6 + 1) * 2);  // (Y=3, X=3): (4+3)*2+1 = 15
  EXPECT_EQ(v.addr(0, 2, 0, 0, 0), 0u);
  EXPECT_EQ(v.addr(0, 3, 1, 0, 0), 3u * 2);  // (Y=5, X=1): (2*4+1)*2+1 = 19 -> 3
}

// gpitch 0 folds every row group onto the same positions: rows that cross a group boundary
// reach row-in-group 0 below the start. From (Y=1, X=0) (position 1), 2 rows x 3 columns are
// positions 1, 3, 5 and 0, 2, 4.
TEST(MapView, ByteRangeCoversFoldedRowGroups) {
  const MapView v(MapDesc::of(10, 8, 0, 2, 0), 10 + 1 * 2, 2);
  EXPECT_EQ(v.addr(0, 1, 0, 0, 0), 10u);
  const auto [lo, hi] = v.byte_range(1, 2, 3, 0, 0);
  EXPECT_EQ(lo, 10u);
  EXPECT_EQ(hi, 10u + 6 * 2);
}

TEST(MapView, StartMustLieInsideTheDescriptor) {
  const MapDesc d = MapDesc::of(64, 32, 8, 1, 16);
  EXPECT_TRUE(MapView(d, 64, 2).start_ok());
  EXPECT_TRUE(MapView(d, 64 + (32 + 15) * 2, 2).start_ok());  // last position of plane 1's ring
  EXPECT_FALSE(MapView(d, 62, 2).start_ok());                 // below the base
  EXPECT_FALSE(MapView(d, 65, 2).start_ok());                 // between two elements
  const MapView past(d, 64 + 16 * 2, 2);                      // position 16 of a 16-element ring
  EXPECT_FALSE(past.start_ok());
  EXPECT_NE(past.start_error().find("past the ring"), std::string::npos) << past.start_error();
  EXPECT_FALSE(MapView(MapDesc::of(0, 0, 8, 1, 0), 0, 2).start_ok());  // cpitch 0: unusable, no division
}

TEST(MapDesc, CheckNamesUnusableValues) {
  EXPECT_EQ(MapDesc::of(0, 32, 8, 2, 16).check(), "");
  EXPECT_NE(MapDesc::of(0, 32, 8, 0, 0).check(), "");   // group 0
  EXPECT_NE(MapDesc::of(0, 0, 8, 1, 0).check(), "");    // cpitch 0
  EXPECT_NE(MapDesc::of(0, 32, 8, 3, 16).check(), "");  // ring not a multiple of group
  EXPECT_NE(MapDesc::of(0, 32, 8, 1, 33).check(), "");  // ring beyond the plane
}
