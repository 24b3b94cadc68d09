// Line-buffered fused groups (overlap cache-rows / cache-all): the firing order and the ring
// sizes line_schedule derives, checked by a shadow replay that is independent of the planner.
// Every ring position holds a tag naming the element last written there; a firing must find
// exactly the elements its window needs (written, and not yet overwritten), every element of an
// intermediate must be computed exactly once (nothing recomputed), and the last layer's output
// must be covered exactly once.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "compiler/linebuf.h"

namespace fusesim::compiler {
namespace {

WinLayer win(WinKind kind, int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
             int64_t d = 1) {
  WinLayer l;
  l.kind = kind;
  l.cin = c_in, l.cout = c_out, l.h = h, l.w = w;
  l.kh = l.kw = k, l.sh = l.sw = s, l.dh = l.dw = d, l.pt = l.pl = p;
  l.oh = (h + 2 * p - d * (k - 1) - 1) / s + 1;
  l.ow = (w + 2 * p - d * (k - 1) - 1) / s + 1;
  l.bias = kind == WinKind::Conv;
  return l;
}

// A chain of layers, each reading the previous one's output.
std::vector<FusedLayer> chain(std::initializer_list<std::tuple<WinKind, int64_t, int64_t, int64_t, int64_t>> specs,
                              int64_t c, int64_t h, int64_t w) {
  std::vector<FusedLayer> L;
  for (const auto& [kind, cout, k, s, p] : specs) {
    FusedLayer f;
    f.id = static_cast<int>(L.size());
    const int64_t co = kind == WinKind::Conv ? cout : c;
    f.wl = win(kind, c, co, h, w, k, s, p);
    f.tco = co;
    f.tci = kind == WinKind::Conv ? c : 1;
    c = co, h = f.wl.oh, w = f.wl.ow;
    L.push_back(f);
  }
  return L;
}

// Replays a schedule on tagged rings; returns the first violation or "". DAG groups too: map
// k is the group's input (k = 0) or the output of layer k - 1; a residual Add's skip must find
// the exit firing's own rows and columns of its map.
std::string replay(const FusedPlan& P, const LineSchedule& S) {
  const std::size_t n = P.layers.size(), M = S.maps.size();
  const std::vector<char> exit = line_exits(P.layers);
  std::vector<std::vector<int64_t>> ring(M);
  for (std::size_t k = 0; k < M; ++k) ring[k].assign(static_cast<std::size_t>(S.maps[k].ring), -1);
  auto tag = [](const LineMap& m, int64_t r, int64_t c) { return r * m.cols + c; };
  auto put = [&](std::size_t k, int64_t r, int64_t c) {
    const LineMap& m = S.maps[k];
    ring[k][static_cast<std::size_t>(m.pos(r, c) % m.ring)] = tag(m, r, c);
  };
  // "" when map k holds padded element (r, c)
  auto holds = [&](std::size_t k, int64_t r, int64_t c, const std::string& who) -> std::string {
    const LineMap& m = S.maps[k];
    if (m.ring == 0) return who + ": map " + std::to_string(k) + " has no ring";
    const int64_t got = ring[k][static_cast<std::size_t>(m.pos(r, c) % m.ring)];
    if (got == tag(m, r, c)) return "";
    return who + ": element (" + std::to_string(r) + ", " + std::to_string(c) + ") of map " + std::to_string(k) + " (" +
           std::to_string(m.rows) + "x" + std::to_string(m.cols) + " padded) is " +
           (got < 0 ? "not written" : "overwritten by (" + std::to_string(got / m.cols) + ", " + std::to_string(got % m.cols) + ")");
  };
  std::vector<std::map<std::pair<int64_t, int64_t>, int>> computed(n);
  for (const LineFiring& f : S.firings) {
    const std::size_t i = static_cast<std::size_t>(f.layer);
    const FusedLayer& fl = P.layers[i];
    const WinLayer& w = fl.wl;
    const std::size_t k = static_cast<std::size_t>(line_src(P.layers, i) + 1);
    const LineMap& in = S.maps[k];
    const LineMap& m0 = S.maps[0];
    for (int64_t r = f.load_r0; r < f.load_r1; ++r)
      for (int64_t c = 0; c < m0.cols; ++c) put(0, r + m0.pt, c);
    if (f.load_r0 == 0 && f.load_r1 > 0)
      for (int64_t r = 0; r < m0.pt; ++r)
        for (int64_t c = 0; c < m0.cols; ++c) put(0, r, c);
    for (int64_t r = in.pt + in.h; r < in.rows; ++r)
      for (int64_t c = f.fill_c0; c < f.fill_c1; ++c) put(k, r, c);
    const std::string who = "layer " + std::to_string(i) + " firing rows " + std::to_string(f.r0) + " cols " + std::to_string(f.c0);
    // the window: every element must be the one written for it
    const int64_t dt = in.pt - w.pt, dl = in.pl - w.pl;
    const int64_t pr0 = f.r0 * w.sh + dt, pr1 = (f.r0 + f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1 + dt;
    const int64_t pc0 = f.c0 * w.sw + dl, pc1 = (f.c0 + f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1 + dl;
    for (int64_t r = pr0; r < pr1; ++r)
      for (int64_t c = pc0; c < pc1; ++c)
        if (std::string e = holds(k, r, c, who); !e.empty()) return e;
    if (fl.add_id >= 0) {  // the skip: this firing's own positions
      const std::size_t sk = static_cast<std::size_t>(fl.add_src + 1);
      const LineMap& sm = S.maps[sk];
      for (int64_t r = f.r0; r < f.r0 + f.rows; ++r)
        for (int64_t c = f.c0; c < f.c0 + f.cols; ++c)
          if (std::string e = holds(sk, r + sm.pt, c + sm.pl, who + " (skip)"); !e.empty()) return e;
    }
    for (int64_t r = f.r0; r < f.r0 + f.rows; ++r)
      for (int64_t c = f.c0; c < f.c0 + f.cols; ++c) ++computed[i][{r, c}];
    if (!exit[i]) {  // the output with its halo (not the bottom padding: filled by the consumer)
      const LineMap& out = S.maps[i + 1];
      const int64_t r0 = f.r0 + out.pt - (f.r0 == 0 ? out.pt : 0), r1 = f.r0 + f.rows + out.pt;
      const int64_t c0 = f.c0 + out.pl - (f.c0 == 0 ? out.pl : 0);
      const int64_t c1 = f.c0 + f.cols + out.pl + (f.c0 + f.cols == w.ow ? out.pr : 0);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) put(i + 1, r, c);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const WinLayer& w = P.layers[i].wl;
    if (static_cast<int64_t>(computed[i].size()) != w.oh * w.ow)
      return "layer " + std::to_string(i) + " computed " + std::to_string(computed[i].size()) + " of " +
             std::to_string(w.oh * w.ow) + " output positions";
    for (const auto& [rc, times] : computed[i])
      if (times != 1) return "layer " + std::to_string(i) + " computed an output position " + std::to_string(times) + " times";
  }
  return "";
}

// Every choice of rows per firing (one row, or the consumer's rows times stride) and several
// column tilings: the schedule is valid and recomputes nothing.
void check_all(const std::vector<FusedLayer>& L0) {
  const std::size_t n = L0.size();
  for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask)
    for (int64_t ct : {1, 2, 3, 5}) {
      FusedPlan P;
      P.layers = L0;
      P.layers.back().rows = 1;
      for (std::size_t i = n - 1; i-- > 0;)
        P.layers[i].rows = (mask >> i) & 1 ? std::min(P.layers[i + 1].rows * P.layers[i + 1].wl.sh, P.layers[i].wl.oh) : 1;
      P.col_tiles = ct;
      P.overlap = ct == 1 ? Overlap::CacheRows : Overlap::CacheAll;
      const LineSchedule S = line_schedule(P, 2);
      EXPECT_EQ(replay(P, S), "") << "mask " << mask << " col_tiles " << ct;
    }
}

TEST(LineBuffer, VggHeadSchedulesAreValidForEveryRowChoice) {
  check_all(chain({{WinKind::Conv, 8, 3, 1, 1},
                   {WinKind::Conv, 8, 3, 1, 1},
                   {WinKind::MaxPool, 0, 2, 2, 0},
                   {WinKind::Conv, 8, 3, 1, 1},
                   {WinKind::Conv, 8, 3, 1, 1},
                   {WinKind::MaxPool, 0, 2, 2, 0},
                   {WinKind::Conv, 8, 3, 1, 1}},
                  3, 28, 30));
}

TEST(LineBuffer, StridesDilationAndOverlappingPoolsAreValid) {
  check_all(chain({{WinKind::Conv, 8, 5, 2, 2},
                   {WinKind::MaxPool, 0, 3, 2, 1},
                   {WinKind::DwConv, 0, 3, 1, 1},
                   {WinKind::Conv, 4, 3, 2, 0}},
                  3, 33, 29));
  std::vector<FusedLayer> dil = chain({{WinKind::Conv, 8, 3, 1, 2}, {WinKind::Conv, 8, 3, 1, 1}}, 3, 20, 17);
  dil[0].wl = win(WinKind::Conv, 3, 8, 20, 17, 3, 1, 2, 2);  // dilation 2 keeps the 20x17 map
  dil[1].wl = win(WinKind::Conv, 8, 8, 20, 17, 3, 1, 1);
  check_all(dil);
}

// A window of W rows over groups of the producer's rows keeps (ceil(W/G) - 1) * G rows plus a
// column tile: for VGG-16's conv1_1..conv3_1, the rings are a few rows of each map, far below
// the maps themselves.
// VGG-16's conv1_1..conv3_1 with pool1 and pool2, as the planner tiles it on diannao-linebuf.
FusedPlan vgg_first5() {
  FusedPlan P;
  P.layers = chain({{WinKind::Conv, 64, 3, 1, 1},
                    {WinKind::Conv, 64, 3, 1, 1},
                    {WinKind::MaxPool, 0, 2, 2, 0},
                    {WinKind::Conv, 128, 3, 1, 1},
                    {WinKind::Conv, 128, 3, 1, 1},
                    {WinKind::MaxPool, 0, 2, 2, 0},
                    {WinKind::Conv, 256, 3, 1, 1}},
                   3, 224, 224);
  const int64_t rows[] = {2, 2, 1, 2, 2, 1, 1};
  for (std::size_t i = 0; i < P.layers.size(); ++i) P.layers[i].rows = rows[i];
  P.layers.back().tco = 32;
  P.overlap = Overlap::CacheAll;
  return P;
}

TEST(LineBuffer, VggRingsHoldAFewRows) {
  FusedPlan P = vgg_first5();
  P.col_tiles = 8;
  const LineSchedule S = line_schedule(P, 2);
  ASSERT_EQ(replay(P, S), "");
  // conv1_2's input (groups of 2 rows, conv1_1 fires 2 rows, conv1_2 reads 4): two rows of
  // the padded 226-wide map plus a column tile of a 2-row window; pool1's input: one column tile
  // of one group; conv3_1's input: two rows plus its 3-row window's column tile.
  EXPECT_GE(S.maps[1].ring, 2 * 226);
  EXPECT_LE(S.maps[1].ring, 2 * 226 + 2 * (224 / 8 + 2) + 2 * 28);
  EXPECT_LE(S.maps[2].ring, 2 * 2 * 28);
  EXPECT_GE(S.maps[6].ring, 2 * 58);
  EXPECT_LE(S.maps[6].ring, 2 * 58 + 3 * 7 + 2);
  // Every ring: the rows a window of W rows over groups of G spans, (ceil(W/G) - 1) * G, plus at
  // most one row for the column tiles in flight; the input ring also has room for one load ahead
  // (conv1_1's rows times stride).
  for (std::size_t i = 0; i < P.layers.size(); ++i) {
    const WinLayer& w = P.layers[i].wl;
    const int64_t W = (P.layers[i].rows - 1) * w.sh + w.kh, G = S.maps[i].group;
    const int64_t ahead = i == 0 ? P.layers[0].rows * w.sh : 0;
    EXPECT_LE(S.maps[i].ring, ((W + G - 1) / G * G - G + 1 + ahead) * S.maps[i].cols) << "map " << i;
  }
  int64_t total = 0;
  for (const LineMap& m : S.maps) total += m.bytes(2);
  EXPECT_LE(total, S.nbin_bytes);  // rings are 64-byte aligned: at most 7 x 63 B more
  EXPECT_LE(S.nbin_bytes, total + 7 * 63);
}

// Every choice of rows per producer (one row, or the most its window consumers advance) and
// several column tilings of a DAG group: valid, nothing recomputed.
void check_dag(const std::vector<FusedLayer>& L0) {
  const std::size_t n = L0.size();
  const std::vector<char> exit = line_exits(L0);
  for (uint32_t mask = 0; mask < (1u << n); ++mask)
    for (int64_t ct : {1, 2, 3, 5}) {
      FusedPlan P;
      P.layers = L0;
      for (std::size_t i = n; i-- > 0;) {
        P.layers[i].rows = 1;
        if (exit[i] || !((mask >> i) & 1)) continue;
        for (std::size_t c = 0; c < n; ++c)
          if (line_src(P.layers, c) == static_cast<int>(i))
            P.layers[i].rows = std::max(P.layers[i].rows, P.layers[c].rows * P.layers[c].wl.sh);
        P.layers[i].rows = std::min(P.layers[i].rows, P.layers[i].wl.oh);
      }
      P.col_tiles = ct;
      P.overlap = ct == 1 ? Overlap::CacheRows : Overlap::CacheAll;
      ASSERT_EQ(line_unfit(P.layers), "");
      const LineSchedule S = line_schedule(P, 2);
      EXPECT_EQ(replay(P, S), "") << "mask " << mask << " col_tiles " << ct;
    }
}

FusedLayer member(WinLayer w, int src, int add_src = -2) {
  FusedLayer f;
  f.wl = w;
  f.src = src;
  f.tco = w.cout;
  f.tci = w.kind == WinKind::Conv ? w.cin : 1;
  if (add_src != -2) f.add_id = 99, f.add_src = add_src;
  return f;
}

// Column strips: each strip is the chain on a narrower map whose windows read exactly the columns
// the full map's windows read there, with padding only at the map's own edges. VGG-16's
// conv1_1..conv3_1 in two strips of conv3_1's 56 columns: going back, a 3x3 conv (pad 1) reads one
// more column past the strip's inner edge, a 2x2 pool twice its columns.
TEST(LineBuffer, VggColumnStripsRecomputeOnlyTheirHalos) {
  FusedPlan P = vgg_first5();
  P.col_tiles = 4;
  P.strips = 2;
  ASSERT_EQ(strips_unfit(P), "");
  const std::vector<LineStrip> strips = line_strips(P);
  ASSERT_EQ(strips.size(), 2u);
  // output columns of conv1_1, conv1_2, pool1, conv2_1, conv2_2, pool2, conv3_1: strip 0 is
  // [0, end0), strip 1 [begin1, full width)
  const int64_t end0[] = {121, 120, 60, 59, 58, 29, 28};
  const int64_t begin1[] = {103, 104, 52, 53, 54, 27, 28};
  const int64_t recomputed[] = {18, 16, 8, 6, 4, 2, 0};  // columns both strips compute
  int64_t macs = 0, macs_strips = 0;
  for (std::size_t i = 0; i < P.layers.size(); ++i) {
    const WinLayer& full = P.layers[i].wl;
    const WinLayer& a = strips[0].plan.layers[i].wl;
    const WinLayer& b = strips[1].plan.layers[i].wl;
    EXPECT_EQ(strips[0].out_c0[i], 0) << i;
    EXPECT_EQ(a.ow, end0[i]) << i;
    EXPECT_EQ(a.pl, full.pl) << i;  // the left edge keeps its padding
    EXPECT_EQ(strips[1].out_c0[i], begin1[i]) << i;
    EXPECT_EQ(b.ow, full.ow - begin1[i]) << i;
    EXPECT_EQ(b.pl, 0) << i;  // an inner edge reads real columns
    EXPECT_EQ(a.ow + b.ow - full.ow, recomputed[i]) << i;
    EXPECT_EQ(a.oh, full.oh);
    const int64_t per_col = full.oh * full.cout * full.cin * full.kh * full.kw;
    if (full.kind == WinKind::Conv) macs += full.ow * per_col, macs_strips += (a.ow + b.ow) * per_col;
  }
  // the group's input: columns [0, 122) and [102, 224), 20 read twice
  EXPECT_EQ(strips[0].in_c0, 0);
  EXPECT_EQ(strips[0].plan.layers[0].wl.w, 122);
  EXPECT_EQ(strips[1].in_c0, 102);
  EXPECT_EQ(strips[1].plan.layers[0].wl.w, 122);
  // 254 M more MACs than the 5.64 G of the layers: 4.5%
  EXPECT_EQ(macs, 5'635'768'320);
  EXPECT_EQ(macs_strips - macs, int64_t{18} * 224 * 64 * 27 + int64_t{16} * 224 * 64 * 576 + int64_t{6} * 112 * 128 * 576 +
                                    int64_t{4} * 112 * 128 * 1152);
  // each strip's schedule is valid and computes each of its output positions once; a strip's
  // rings hold about 122 of the 226 padded columns (54%) plus the column tiles in flight: at
  // most 70% of the full width's
  int64_t widest = 0;
  for (const LineStrip& st : strips) {
    const LineSchedule S = line_schedule(st.plan, 2);
    EXPECT_EQ(replay(st.plan, S), "");
    widest = std::max(widest, S.nbin_bytes);
  }
  FusedPlan whole = vgg_first5();
  whole.col_tiles = 8;  // the same column tile width (7 of conv3_1's columns)
  EXPECT_LE(widest * 10, line_schedule(whole, 2).nbin_bytes * 7);
  EXPECT_EQ(line_schedule_widest(P, 2).nbin_bytes, widest);
}

// Every strip count of a small chain with strides, overlapping -inf-padded pools and a strided
// last layer, down to one output column per strip, gives valid strip schedules that together
// cover the output exactly once; non-chains and too many strips are refused.
TEST(LineBuffer, ColumnStripsCoverTheOutputOnce) {
  FusedPlan P;
  P.layers = chain({{WinKind::Conv, 8, 3, 1, 1},
                    {WinKind::MaxPool, 0, 3, 2, 1},
                    {WinKind::Conv, 8, 3, 2, 1}},
                   3, 21, 37);
  const int64_t ow = P.layers.back().wl.ow;
  for (int64_t strips = 1; strips <= ow; ++strips) {
    P.strips = strips;
    ASSERT_EQ(strips_unfit(P), "") << strips;
    std::vector<int64_t> covered(static_cast<std::size_t>(ow), 0);
    for (const LineStrip& st : line_strips(P)) {
      const LineSchedule S = line_schedule(st.plan, 2);
      EXPECT_EQ(replay(st.plan, S), "") << strips;
      for (int64_t c = 0; c < st.plan.layers.back().wl.ow; ++c) ++covered[static_cast<std::size_t>(st.out_c0.back() + c)];
      // a strip's first layer reads the input columns its first window starts at, padding included
      const WinLayer& w0 = st.plan.layers[0].wl;
      EXPECT_EQ(st.in_c0, std::max<int64_t>(0, st.out_c0[0] * w0.sw - P.layers[0].wl.pl)) << strips;
    }
    for (int64_t c : covered) EXPECT_EQ(c, 1) << strips;
  }
  P.strips = ow + 1;
  EXPECT_NE(strips_unfit(P).find("outside 1.." + std::to_string(ow)), std::string::npos);
  FusedPlan fire;
  fire.layers = {member(win(WinKind::Conv, 6, 3, 12, 10, 1, 1, 0), -1), member(win(WinKind::Conv, 3, 4, 12, 10, 1, 1, 0), 0),
                 member(win(WinKind::Conv, 3, 4, 12, 10, 3, 1, 1), 0)};
  fire.strips = 2;
  EXPECT_NE(strips_unfit(fire).find("chain"), std::string::npos);
  FusedPlan block;
  block.layers = {member(win(WinKind::Conv, 4, 4, 13, 11, 3, 1, 1), -1), member(win(WinKind::Conv, 4, 4, 13, 11, 3, 1, 1), 0, -1)};
  block.strips = 2;
  EXPECT_NE(strips_unfit(block).find("residual"), std::string::npos);
}

// ResNet basic blocks: the identity shortcut reads the group's input, the downsampling one the
// output of a strided 1x1 conv that only the Add reads; and a bottleneck block whose shortcut
// conv comes last in the order.
TEST(LineBuffer, ResidualBlocksAreValid) {
  check_dag({member(win(WinKind::Conv, 4, 4, 13, 11, 3, 1, 1), -1),
             member(win(WinKind::Conv, 4, 4, 13, 11, 3, 1, 1), 0, -1)});
  check_dag({member(win(WinKind::Conv, 4, 6, 13, 11, 3, 2, 1), -1),
             member(win(WinKind::Conv, 6, 6, 7, 6, 3, 1, 1), 0, 2),
             member(win(WinKind::Conv, 4, 6, 13, 11, 1, 2, 0), -1)});
  check_dag({member(win(WinKind::Conv, 8, 4, 15, 9, 1, 1, 0), -1),
             member(win(WinKind::Conv, 4, 4, 15, 9, 3, 2, 1), 0),
             member(win(WinKind::Conv, 4, 8, 8, 5, 1, 1, 0), 1, 3),
             member(win(WinKind::Conv, 8, 8, 15, 9, 1, 2, 0), -1)});
}

// A SqueezeNet fire module: a squeeze read by two expands that both leave the group.
TEST(LineBuffer, FireModuleIsValid) {
  check_dag({member(win(WinKind::Conv, 6, 3, 12, 10, 1, 1, 0), -1),
             member(win(WinKind::Conv, 3, 4, 12, 10, 1, 1, 0), 0),
             member(win(WinKind::Conv, 3, 4, 12, 10, 3, 1, 1), 0)});
}

}  // namespace
}  // namespace fusesim::compiler
