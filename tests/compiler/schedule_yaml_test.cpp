// Schedule YAML: what --emit-schedule writes reads back to the same decisions and the same
// program, and a hand-edited schedule with a mistake fails with the file:line:col and key path
// of the node to fix.
#include "compiler/schedule_yaml.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include "compiler/passes/passes.h"
#include "compiler/schedule.h"
#include "graph_builders.h"
#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

// input 8x16x16 -> a: conv 8 3x3 pad 1 + relu -> b: depthwise 3x3 pad 1 -> s = b + a (Add)
//   -> p: maxpool 2/2 (8x8x8) -> c: conv 16 1x1 -> f: fc 10
// a's output has two readers (b and s), so a -> b is not fusable; p -> c is; the relu merges
// into a and is not scheduled.
Graph net() {
  Graph g = graph_with_input({8, 16, 16}, "t");
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(8, 3, 1, 1, true));
  const int r =
      g.add_layer("a_relu", OpKind::Activation, {out_of(g, a)}, "a_relu", act_attrs(isa::Activation::Relu));
  LayerAttrs dw = conv_attrs(8, 3, 1, 1);
  dw.groups = 8;
  const int b = g.add_layer("b", OpKind::Conv, {out_of(g, r)}, "b", dw);
  const int s = g.add_layer("s", OpKind::Add, {out_of(g, b), out_of(g, r)}, "s");
  const int p = g.add_layer("p", OpKind::MaxPool, {out_of(g, s)}, "p", pool_attrs(2, 2));
  const int c = g.add_layer("c", OpKind::Conv, {out_of(g, p)}, "c", conv_attrs(16, 1));
  const int f = g.add_layer("f", OpKind::FullyConnected, {out_of(g, c)}, "f", fc_attrs(10, true));
  g.outputs = {out_of(g, f)};
  return g;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("fusesim_schedule_test_" + std::to_string(::getpid()) + "_" + name + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

void expect_same_decisions(const Graph& g, const Schedule& want, const Schedule& got) {
  ASSERT_EQ(want.groups.size(), got.groups.size());
  for (std::size_t i = 0; i < want.groups.size(); ++i) {
    SCOPED_TRACE("group " + std::to_string(i) + " (" + g.layer(want.groups[i].layers.front()).name + ")");
    const GroupSchedule &w = want.groups[i], &r = got.groups[i];
    EXPECT_EQ(w.layers, r.layers);
    EXPECT_EQ(w.depth, r.depth);
    EXPECT_EQ(w.fused_plan.tr, r.fused_plan.tr);
    EXPECT_EQ(w.fused_plan.tc, r.fused_plan.tc);
    EXPECT_EQ(w.fused_plan.resident, r.fused_plan.resident);
    EXPECT_EQ(w.fused_plan.chunked, r.fused_plan.chunked);
    EXPECT_EQ(w.fused_plan.add_id, r.fused_plan.add_id);
    ASSERT_EQ(w.fused_plan.layers.size(), r.fused_plan.layers.size());
    for (std::size_t k = 0; k < w.fused_plan.layers.size(); ++k) {
      EXPECT_EQ(w.fused_plan.layers[k].id, r.fused_plan.layers[k].id);
      EXPECT_EQ(w.fused_plan.layers[k].tco, r.fused_plan.layers[k].tco);
      EXPECT_EQ(w.fused_plan.layers[k].tci, r.fused_plan.layers[k].tci);
    }
    ASSERT_EQ(w.plans.size(), r.plans.size());
    for (const auto& [id, tp] : w.plans) {
      ASSERT_TRUE(r.plans.count(id)) << g.layer(id).name;
      const TilePlan& rp = r.plans.at(id);
      EXPECT_EQ(tp.tile.str(), rp.tile.str()) << g.layer(id).name;
      EXPECT_EQ(tp.resident_weights, rp.resident_weights) << g.layer(id).name;
      EXPECT_EQ(tp.weight_stationary, rp.weight_stationary) << g.layer(id).name;
    }
    // check_group recomputes the estimate from the decisions: the planner's own numbers
    EXPECT_EQ(w.est.cycles, r.est.cycles);
    EXPECT_EQ(w.est.dram_bytes(), r.est.dram_bytes());
    EXPECT_EQ(w.est.onchip, r.est.onchip);
    EXPECT_EQ(w.tiles, r.tiles);
  }
}

// compile() with --emit-schedule, read the YAML back, and replay it through compile(): the same
// decisions and the same instruction words.
struct FusedCount {
  int groups = 0, residual = 0, chunked = 0;  // fused groups; those closed by an Add; chunked ones
};
FusedCount round_trip(const std::function<Graph()>& make, const std::string& arch_name, CompileOptions opt,
                      const std::string& tag) {
  const ArchParams arch = arch_preset(arch_name);
  opt.materialize = false;
  opt.emit_schedule = true;
  Graph g = make();
  const Program planned = compile(g, arch, opt);
  const Schedule want = schedule_groups(g, arch, opt, plan_groups(g, arch, opt));
  const std::string file = temp_file(tag, planned.schedule_yaml);

  CompileOptions replay = opt;
  replay.fusion = Fusion::None;
  replay.fuse.clear();
  replay.schedule_file = file;
  const Schedule got = read_schedule_yaml(file, g, arch, replay);
  expect_same_decisions(g, want, got);

  Graph g2 = make();
  const Program replayed = compile(g2, arch, replay);
  EXPECT_EQ(planned.instrs, replayed.instrs);
  // and the replay writes the schedule it replayed, apart from the header's origin
  auto body = [](const std::string& y) { return y.substr(y.find("\nmodel:")); };
  EXPECT_EQ(body(planned.schedule_yaml), body(replayed.schedule_yaml));
  std::filesystem::remove(file);
  FusedCount n;
  for (const GroupSchedule& gs : want.groups) {
    n.groups += gs.fused();
    n.residual += gs.fused() && gs.fused_plan.add_id >= 0;
    n.chunked += gs.fused() && gs.fused_plan.chunked;
  }
  return n;
}

std::string tag_of(const std::string& name, const std::string& arch, Pipeline p, const std::string& fusion) {
  return name + "_" + arch + "_" + pipeline_name(p) + "_" + fusion;
}

TEST(ScheduleYaml, RoundTripOfAHandBuiltGraph) {
  int fused = 0;
  for (const std::string arch : {"diannao", "diannao-large"})
    for (Pipeline pipe : {Pipeline::None, Pipeline::Full}) {
      CompileOptions none;
      none.pipeline = pipe;
      CompileOptions manual = none;
      manual.fuse = {{"p", "c"}};
      CompileOptions optimal = none;
      optimal.fusion = Fusion::Optimal;
      SCOPED_TRACE(arch + " pipeline " + pipeline_name(pipe));
      EXPECT_EQ(round_trip(net, arch, none, tag_of("t", arch, pipe, "none")).groups, 0);
      EXPECT_EQ(round_trip(net, arch, manual, tag_of("t", arch, pipe, "fuse")).groups, 1);
      fused += round_trip(net, arch, optimal, tag_of("t", arch, pipe, "optimal")).groups;
    }
  EXPECT_GT(fused, 0);  // optimal fused p -> c somewhere
}

TEST(ScheduleYaml, RoundTripOfZooModels) {
  for (const std::string model : {"lenet5", "tinydag"}) {
    auto make = [&] { return load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/" + model + ".yaml"); };
    int fused = 0;
    for (const std::string arch : {"diannao", "diannao-large"})
      for (Fusion f : {Fusion::None, Fusion::Optimal}) {
        CompileOptions opt;
        opt.fusion = f;
        SCOPED_TRACE(model + " on " + arch + " fusion " + fusion_name(f));
        fused += round_trip(make, arch, opt, tag_of(model, arch, opt.pipeline, fusion_name(f))).groups;
      }
    EXPECT_GT(fused, 0) << model;
  }
}

// mobilenet_v2's inverted residuals fuse channel-chunked and closed by their residual Add
TEST(ScheduleYaml, RoundTripOfResidualAndChunkedFusedGroups) {
  auto make = [] { return load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/mobilenet_v2.yaml"); };
  CompileOptions opt;
  opt.fusion = Fusion::Optimal;
  const FusedCount n = round_trip(make, "diannao-large", opt, "mobilenet_v2");
  EXPECT_GT(n.residual, 0);
  EXPECT_GT(n.chunked, 0);
}

// A valid hand-written schedule of net() on diannao-large, pipeline full; each error case edits
// one line of it.
const char* kHandWritten =
    "model: t\n"                                                                                  // 1
    "arch: diannao-large\n"                                                                       // 2
    "pipeline: full\n"                                                                            // 3
    "groups:\n"                                                                                   // 4
    "  - layers: [a]\n"                                                                           // 5
    "    buffers: whole\n"                                                                        // 6
    "    tiles: {a: {co: 8, ci: 8, rows: 16, cols: 16, order: spatial, weights: resident}}\n"     // 7
    "  - layers: [b]\n"                                                                           // 8
    "    buffers: halves\n"                                                                       // 9
    "    tiles: {b: {co: 8, rows: 8, cols: 16, order: spatial, weights: streamed}}\n"             // 10
    "  - layers: [s]\n"                                                                           // 11
    "    buffers: whole\n"                                                                        // 12
    "  - layers: [p, c]\n"                                                                        // 13
    "    buffers: halves\n"                                                                       // 14
    "    fused: {rows: 4, cols: 8, weights: resident}\n"                                          // 15
    "    chunks: {p: {co: 8}, c: {co: 16, ci: 8}}\n"                                              // 16
    "  - layers: [f]\n"                                                                           // 17
    "    buffers: whole\n"                                                                        // 18
    "    tiles: {f: {co: 10, ci: 1024, rows: 1, cols: 1, order: spatial, weights: resident}}\n";  // 19

struct Compiled {
  Graph g = net();
  ArchParams arch;
  CompileOptions opt;
  explicit Compiled(const std::string& arch_name, Pipeline pipe = Pipeline::Full)
      : arch(arch_preset(arch_name)) {
    opt.materialize = false;
    opt.pipeline = pipe;
    compile(g, arch, opt);  // leaves g canonicalized and eliminated, as a replay sees it
  }
  Schedule read(const std::string& tag, const std::string& text) {
    return read_schedule_yaml(temp_file(tag, text), g, arch, opt);
  }
};

TEST(ScheduleYaml, AHandWrittenScheduleReadsWithItsEstimates) {
  Compiled c("diannao-large");
  const Schedule s = c.read("valid", kHandWritten);
  ASSERT_EQ(s.groups.size(), 5u);
  EXPECT_EQ(s.groups[0].depth, 1);
  EXPECT_EQ(s.groups[1].depth, 2);
  const TilePlan& a = s.groups[0].plans.at(c.g.topo_order()[0]);
  EXPECT_EQ(a.tile.str(), (Tile{8, 8, 16, 16}.str()));
  EXPECT_TRUE(a.resident_weights);
  EXPECT_TRUE(s.groups[2].plans.empty());  // the Add has no tile
  const GroupSchedule& pc = s.groups[3];
  ASSERT_TRUE(pc.fused());
  EXPECT_EQ(pc.fused_plan.tr, 4);
  EXPECT_EQ(pc.fused_plan.layers[1].tci, 8);
  // the estimate comes from check_group: the group writes c's output (16x8x8, 2 B) once
  EXPECT_EQ(pc.est.dram_write, 16 * 8 * 8 * 2);
  EXPECT_GT(pc.est.cycles, 0);
  // and codegen lowers it
  CompileOptions replay = c.opt;
  replay.schedule_file = temp_file("valid", kHandWritten);
  Graph g = net();
  const Program p = compile(g, c.arch, replay);
  ASSERT_EQ(p.schedule.size(), 5u);
  EXPECT_EQ(p.schedule[3].members, (std::vector<std::string>{"p", "c"}));
}

// b (depthwise, stride 1) reads a_relu and s adds a_relu back: s closes [b, s] as a residual.
TEST(ScheduleYaml, AResidualAddClosesAHandWrittenFusedGroup) {
  Compiled c("diannao-large");
  std::string text = kHandWritten;
  const std::string from = "  - layers: [b]", to = "  - layers: [s]\n    buffers: whole\n";
  text.replace(text.find(from), text.find(to) + to.size() - text.find(from),
               "  - layers: [b, s]\n    buffers: halves\n    fused: {rows: 8, cols: 16, weights: resident}\n"
               "    chunks: {b: {co: 8}}\n");
  const Schedule s = c.read("residual", text);
  ASSERT_EQ(s.groups.size(), 4u);
  const GroupSchedule& bs = s.groups[1];
  ASSERT_TRUE(bs.fused());
  EXPECT_EQ(c.g.layer(bs.fused_plan.add_id).name, "s");
  ASSERT_EQ(bs.fused_plan.layers.size(), 1u);
  // the group reads a_relu's output once (8x16x16, 2 B) and b's weights and writes s's output
  EXPECT_EQ(bs.est.dram_write, 8 * 16 * 16 * 2);
}

struct BadCase {
  const char* name;
  const char* from;  // text of kHandWritten to replace
  const char* to;
  const char* error;  // regex the message must match after "FILE:"
};

const BadCase kBad[] = {
    {"unknown_key", "    buffers: halves\n    tiles: {b", "    buffer: halves\n    tiles: {b",
     "^9:5: groups\\[1\\]\\.buffer: unknown key"},
    {"unknown_tile_key", "rows: 16, cols: 16, order", "rows: 16, colz: 16, order",
     "^7:41: groups\\[0\\]\\.tiles\\.a\\.colz: unknown key"},
    {"ci_of_depthwise", "{b: {co: 8, rows", "{b: {co: 8, ci: 8, rows",
     "^10:24: groups\\[1\\]\\.tiles\\.b\\.ci: unknown key"},
    {"unknown_layer", "layers: [s]", "layers: [zz]",
     "^11:14: groups\\[2\\]\\.layers\\[0\\]: unknown layer 'zz'"},
    {"removed_layer", "layers: [s]", "layers: [a_relu]",
     "^11:14: groups\\[2\\]\\.layers\\[0\\]: layer 'a_relu' is removed by canonicalization"},
    {"out_of_order", "layers: [s]", "layers: [p]",
     "^11:14: groups\\[2\\]\\.layers\\[0\\]: layer 'p' is out of order: the next layer in topological order "
     "is 's'"},
    {"twice", "layers: [s]", "layers: [b]",
     "^11:14: groups\\[2\\]\\.layers\\[0\\]: layer 'b' is already in groups\\[1\\]"},
    {"missing_layer",
     "  - layers: [f]\n    buffers: whole\n    tiles: {f: {co: 10, ci: 1024, rows: 1, cols: 1, order: "
     "spatial, weights: resident}}\n",
     "", "^5:3: groups: layer 'f' is in no group"},
    {"tile_outside_layer", "rows: 16, cols: 16, order", "rows: 17, cols: 16, order",
     "^7:16: groups\\[0\\]\\.tiles\\.a: layer 'a': tile .* is outside the layer"},
    {"not_positive", "rows: 16, cols: 16, order", "rows: 0, cols: 16, order",
     "^7:37: groups\\[0\\]\\.tiles\\.a\\.rows: expected a positive integer, got 0"},
    {"illegal_residency", "{b: {co: 8, rows: 8, cols: 16, order: spatial, weights: streamed}",
     "{b: {co: 4, rows: 8, cols: 16, order: spatial, weights: resident}",
     "^10:16: groups\\[1\\]\\.tiles\\.b: .*resident only when one tile holds them all"},
    {"bad_order_value", "order: spatial, weights: resident}}\n  - layers: [b]",
     "order: sideways, weights: resident}}\n  - layers: [b]",
     "^7:58: groups\\[0\\]\\.tiles\\.a\\.order: expected spatial or weight-stationary, got 'sideways'"},
    {"elementwise_tile", "  - layers: [s]\n    buffers: whole\n",
     "  - layers: [s]\n    buffers: whole\n    tiles: {s: {co: 8, rows: 1, cols: 1}}\n",
     "^13:12: groups\\[2\\]\\.tiles: layer 's' \\(add\\) is elementwise"},
    {"unfusable_kind", "  - layers: [s]\n    buffers: whole\n  - layers: [p, c]", "  - layers: [s, p, c]",
     "^11:14: groups\\[2\\]\\.layers\\[0\\]: layer 's' \\(add\\) cannot be in a fused group"},
    {"unfusable_pair",
     "  - layers: [a]\n    buffers: whole\n    tiles: {a: {co: 8, ci: 8, rows: 16, cols: 16, order: spatial, "
     "weights: resident}}\n  - layers: [b]\n    buffers: halves\n    tiles: {b: {co: 8, rows: 8, cols: 16, "
     "order: spatial, weights: streamed}}\n",
     "  - layers: [a, b]\n    buffers: halves\n    fused: {rows: 4, cols: 16, weights: resident}\n    "
     "chunks: {a: {co: 8, ci: 8}, b: {co: 8}}\n",
     "^5:13: groups\\[0\\]\\.layers: 'a' -> 'b' cannot be fused"},
    {"fused_tile_outside", "fused: {rows: 4,", "fused: {rows: 9,",
     "^15:12: groups\\[3\\]\\.fused: the fused tile does not fit: the tile 9x8 is outside"},
    {"fused_chunk_range", "c: {co: 16, ci: 8}", "c: {co: 17, ci: 8}",
     "^16:13: groups\\[3\\]\\.chunks: .*chunk"},
    {"missing_chunk", "chunks: {p: {co: 8}, c: {co: 16, ci: 8}}", "chunks: {p: {co: 8}}",
     "^16:13: groups\\[3\\]\\.chunks: missing the chunks of layer 'c'"},
    {"tiles_on_fused", "    chunks: {p: {co: 8}, c: {co: 16, ci: 8}}\n",
     "    chunks: {p: {co: 8}, c: {co: 16, ci: 8}}\n    tiles: {}\n",
     "^17:12: groups\\[3\\]\\.tiles: a fused group has fused and chunks"},
    {"chunked_chunks", "fused: {rows: 4, cols: 8, weights: resident}\n    chunks: {p: {co: 8}",
     "fused: {rows: 4, cols: 8, weights: resident, chunked: true}\n    chunks: {p: {co: 4}",
     "^16:13: groups\\[3\\]\\.chunks: the fused tile does not fit: in a chunked group every layer but the "
     "last"},
    {"wrong_model", "model: t\n", "model: lenet5\n",
     "^1:8: model: the schedule is for model 'lenet5', not 't'"},
    {"wrong_pipeline", "pipeline: full", "pipeline: coarse",
     "^3:11: pipeline: the schedule was written for --pipeline coarse, but this compile uses --pipeline "
     "full"},
};

TEST(ScheduleYaml, MistakesNameTheFileLineColumnAndKeyPath) {
  Compiled c("diannao-large");
  for (const BadCase& bc : kBad) {
    SCOPED_TRACE(bc.name);
    std::string text = kHandWritten;
    const auto at = text.find(bc.from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, std::string(bc.from).size(), bc.to);
    const std::string file = temp_file(bc.name, text);
    try {
      c.read(bc.name, text);
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      ASSERT_EQ(msg.rfind(file + ":", 0), 0u) << msg;
      EXPECT_TRUE(std::regex_search(msg.substr(file.size() + 1), std::regex(bc.error))) << msg;
    }
    std::filesystem::remove(file);
  }
}

TEST(ScheduleYaml, TheSameTileThatFitsTheLargeArchDoesNotFitDianNao) {
  Compiled c("diannao");  // NBin 2 KiB: a's whole 8x18x18 input tile (5184 B) does not fit
  try {
    c.read("small", kHandWritten);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(std::regex_search(e.what(),
                                  std::regex(":7:16: groups\\[0\\]\\.tiles\\.a: layer 'a': tile .* does not "
                                             "fit the buffers \\(2048 B NBin")))
        << e.what();
  }
}

TEST(ScheduleYaml, HalvesNeedACoarsePipeline) {
  Compiled c("diannao-large", Pipeline::None);
  std::string text = kHandWritten;
  text.replace(text.find("pipeline: full"), 14, "pipeline: none");
  try {
    c.read("halves", text);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(std::regex_search(
        e.what(), std::regex(":9:14: groups\\[1\\]\\.buffers: ping-pong halves need pipeline")))
        << e.what();
  }
}

TEST(ScheduleYaml, ReplayingCannotBeCombinedWithPlanningOptions) {
  CompileOptions opt;
  opt.materialize = false;
  opt.schedule_file = temp_file("combine", kHandWritten);
  opt.fusion = Fusion::Optimal;
  Graph g = net();
  try {
    compile(g, arch_preset("diannao-large"), opt);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "--schedule cannot be combined with --fusion optimal: the schedule already fixes the groups "
                 "and tiles");
  }
  opt.fusion = Fusion::None;
  opt.tiles["a"] = TileOverride{8, 8, 4, 4};
  Graph g2 = net();
  EXPECT_THROW(compile(g2, arch_preset("diannao-large"), opt), InputError);
}

}  // namespace
}  // namespace fusesim::compiler
