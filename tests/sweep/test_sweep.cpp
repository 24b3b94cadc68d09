// Sweep engine units: constraint expressions, spec validation and axis expansion, the results
// store's resume logic, the Slurm executor's plan, task table, shards and merge, and the Pareto
// front. No simulation runs here (see the shell tests).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "isa/errors.h"
#include "platform/sweep.h"
#include "platform/sweep_expr.h"
#include "platform/sweep_slurm.h"
#include "platform/sweep_spec.h"
#include "platform/sweep_store.h"

namespace fs = std::filesystem;

namespace fusesim::sweep {
namespace {

// ---------------------------------------------------------------- expressions

Value no_names(const std::string& n) { throw std::runtime_error("unexpected name " + n); }

double eval(const std::string& text, const Resolver& r = no_names) {
  Value v = Expr::parse(text).eval(r);
  EXPECT_TRUE(v.is_number) << text;
  return v.number;
}

TEST(SweepExpr, ArithmeticFollowsPrecedenceAndSizes) {
  EXPECT_EQ(eval("1 + 2 * 3"), 7);
  EXPECT_EQ(eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(eval("10 - 4 - 3"), 3);  // left associative
  EXPECT_EQ(eval("12 / 4 / 3"), 1);
  EXPECT_EQ(eval("-2 * -3"), 6);
  EXPECT_EQ(eval("2KiB + 1MiB"), 2048 + 1048576);
  EXPECT_EQ(eval("64KB"), 64000);
  EXPECT_DOUBLE_EQ(eval("12.8 * 2"), 25.6);
  EXPECT_EQ(eval("2KiB * 2 <= 4096"), 1);
  EXPECT_EQ(eval("3 > 4 || 2 != 2 || !(1 == 2)"), 1);
  EXPECT_EQ(eval("1 < 2 && 2 < 1"), 0);
}

TEST(SweepExpr, NamesResolveAndStringsCompare) {
  auto r = [](const std::string& n) -> Value {
    if (n == "arch.buffers.sb.bytes") return Value::from_scalar("32KiB");
    if (n == "compiler.fusion") return Value::from_scalar("greedy");
    throw std::runtime_error("unknown " + n);
  };
  Expr e = Expr::parse("arch.buffers.sb.bytes / 1KiB == 32 && compiler.fusion != 'none'");
  EXPECT_TRUE(e.holds(r));
  EXPECT_EQ(e.names(), (std::vector<std::string>{"arch.buffers.sb.bytes", "compiler.fusion"}));
  EXPECT_FALSE(Expr::parse("compiler.fusion == \"none\"").holds(r));
}

TEST(SweepExpr, ErrorsNameTheOffset) {
  auto offset_of = [](const std::string& text) -> long {
    try {
      Expr::parse(text);
    } catch (const ExprError& e) {
      return static_cast<long>(e.offset);
    }
    return -1;
  };
  EXPECT_EQ(offset_of("1 + "), 4);
  EXPECT_EQ(offset_of("(1 + 2"), 6);
  EXPECT_EQ(offset_of("1 < 2 < 3"), 6);  // comparisons do not chain
  EXPECT_EQ(offset_of("2XiB"), 0);       // unknown unit
  EXPECT_EQ(offset_of("a = b"), 2);
  EXPECT_THROW(Expr::parse("'x' < 1").eval(no_names), ExprError);  // string vs number
  EXPECT_THROW(Expr::parse("1 / 0").eval(no_names), ExprError);
  EXPECT_THROW(Expr::parse("1 + 1").holds(no_names), ExprError);   // not a comparison
}

// ---------------------------------------------------------------- specs

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch directory with a model file (specs only check that it exists).
struct SpecDir : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("fusesim_sweep_test_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "net.yaml") << "name: net\n";
  }
  void TearDown() override { fs::remove_all(dir); }
  SweepSpec parse(const std::string& text) { return parse_spec(text, (dir / "spec.yaml").string()); }
  // The InputError message of parsing `text`, or "" when it parses.
  std::string error_of(const std::string& text) {
    try {
      expand(parse(text));
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(SpecDir, RangesExpandToPowersOfTwoAndSteps) {
  SweepSpec s = parse(
      "base: {model: net.yaml}\n"
      "axes:\n"
      "  arch.buffers.sb.bytes: {from: 2KiB, to: 1MiB, scale: pow2}\n"
      "  arch.dram.bandwidth_gbps: {from: 6.4, to: 25.6, step: 6.4}\n");
  ASSERT_EQ(s.axes.size(), 2u);
  // 2^11 .. 2^20: ten values.
  std::vector<std::string> sb;
  for (int e = 11; e <= 20; ++e) sb.push_back(std::to_string(1 << e));
  EXPECT_EQ(s.axes[0].values, sb);
  EXPECT_EQ(s.axes[1].values, (std::vector<std::string>{"6.4", "12.8", "19.2", "25.6"}));
  Expansion ex = expand(s);
  EXPECT_EQ(ex.total, 40u);
  EXPECT_EQ(ex.points.size(), 40u);
  // The last axis varies fastest.
  EXPECT_EQ(ex.points[1].get("arch.buffers.sb.bytes"), "2048");
  EXPECT_EQ(ex.points[1].get("arch.dram.bandwidth_gbps"), "12.8");
  EXPECT_EQ(ex.points[4].get("arch.buffers.sb.bytes"), "4096");
  // Base defaults fill the other parameters.
  EXPECT_EQ(ex.points[0].get("mode"), "timing");
  EXPECT_EQ(ex.points[0].get("compiler.pipeline"), "full");
}

TEST_F(SpecDir, CartesianProductOfListsWithStableDistinctIds) {
  const std::string text =
      "base: {model: net.yaml, compiler: {fusion: greedy}}\n"
      "axes:\n"
      "  compiler.pipeline: [none, fine, coarse, full]\n"
      "  compiler.elimination: [on, off]\n"
      "  dtype: [int16, fp32]\n";
  Expansion a = expand(parse(text)), b = expand(parse(text));
  ASSERT_EQ(a.points.size(), 4u * 2u * 2u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.points.size(); ++i) {
    EXPECT_EQ(a.points[i].id, b.points[i].id);
    EXPECT_EQ(a.points[i].index, i);
    ids.insert(a.points[i].id);
  }
  EXPECT_EQ(ids.size(), a.points.size());
  // Every combination appears once.
  std::set<std::string> combos;
  for (const auto& p : a.points)
    combos.insert(p.get("compiler.pipeline") + p.get("compiler.elimination") + p.get("dtype"));
  EXPECT_EQ(combos.size(), 16u);
  // A different base gives different ids: results of another study are never reused.
  Expansion c = expand(parse(std::string(text).replace(text.find("greedy"), 6, "none")));
  EXPECT_NE(c.points[0].id, a.points[0].id);
}

TEST_F(SpecDir, RunArgumentsCarryEveryParameter) {
  Expansion ex = expand(parse(
      "base: {model: net.yaml, mode: functional, compiler: {fusion: optimal, pipeline: coarse, elimination: off}}\n"
      "axes: {arch.buffers.nbin.bytes: [4KiB]}\n"));
  ASSERT_EQ(ex.points.size(), 1u);
  std::vector<std::string> want = {"run", "--model", (dir / "net.yaml").lexically_normal().string(), "--arch",
                                   ex.points[0].arch_path, "--dtype", "int16", "--mode", "functional",
                                   "--fusion", "optimal", "--pipeline", "coarse", "--elimination", "off",
                                   "--fusion-overlap", "auto", "--batch", "1",
                                   "--set", "arch.buffers.nbin.bytes=4KiB"};
  EXPECT_EQ(ex.points[0].run_args(), want);
  EXPECT_TRUE(fs::exists(ex.points[0].arch_path)) << ex.points[0].arch_path;
}

TEST_F(SpecDir, ConstraintsSkipPoints) {
  // nbin + nbout + sb with nbout from configs/arch/diannao.yaml (2 KiB):
  //   sb 32K: nbin 2K, 4K, 8K -> 36K, 38K, 42K  all <= 72K
  //   sb 64K: nbin 2K, 4K, 8K -> 68K, 70K, 74K  two pass
  //   sb 128K: all exceed              -> 5 kept, 4 rejected
  Expansion ex = expand(parse(
      "base: {model: net.yaml}\n"
      "axes:\n"
      "  arch.buffers.sb.bytes: [32KiB, 64KiB, 128KiB]\n"
      "  arch.buffers.nbin.bytes: {from: 2KiB, to: 8KiB, scale: pow2}\n"
      "constraints:\n"
      "  - arch.buffers.nbin.bytes + arch.buffers.nbout.bytes + arch.buffers.sb.bytes <= 72KiB\n"));
  EXPECT_EQ(ex.total, 9u);
  EXPECT_EQ(ex.points.size(), 5u);
  EXPECT_EQ(ex.rejected, 4u);
  EXPECT_EQ(ex.points.back().get("arch.buffers.sb.bytes"), "64KiB");
  EXPECT_EQ(ex.points.back().get("arch.buffers.nbin.bytes"), "4096");
  EXPECT_EQ(ex.points.back().index, 4u);  // indices stay those of the full product
}

TEST_F(SpecDir, ConstraintsOnStringsAndModels) {
  Expansion ex = expand(parse(
      "base: {model: net.yaml}\n"
      "axes:\n"
      "  compiler.fusion: [none, greedy, optimal]\n"
      "  compiler.pipeline: [none, full]\n"
      "constraints: [\"compiler.fusion == 'none' || compiler.pipeline == 'full'\", \"model == 'net'\"]\n"));
  EXPECT_EQ(ex.points.size(), 4u);  // none x 2, greedy+full, optimal+full
}

// issue 10: the batch is a base key and an axis, passed to the worker as --batch, a results
// column, a constraint name, and checked like --batch before any worker starts.
TEST_F(SpecDir, BatchIsASweepableKey) {
  Expansion ex = expand(parse(
      "base: {model: net.yaml, batch: 2}\n"
      "axes:\n"
      "  batch: [1, 4, 16]\n"
      "constraints: [\"batch <= 4\"]\n"));
  ASSERT_EQ(ex.points.size(), 2u);
  EXPECT_EQ(ex.rejected, 1u);
  const std::vector<std::string> a = ex.points[1].run_args();
  const auto it = std::find(a.begin(), a.end(), "--batch");
  ASSERT_NE(it, a.end());
  EXPECT_EQ(*(it + 1), "4");
  EXPECT_NE(ex.points[0].id, ex.points[1].id);
  const auto cols = result_columns(ex.points[0].params);
  EXPECT_NE(std::find(cols.begin(), cols.end(), "batch"), cols.end());
  EXPECT_NE(std::find(cols.begin(), cols.end(), "cycles_per_sample"), cols.end());
  EXPECT_EQ(expand(parse("base: {model: net.yaml, batch: 8}\n")).points.at(0).get("batch"), "8");
  const std::string f = (dir / "spec.yaml").string();
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  batch: [1, 0]\n").find(f + ":3:14: axes.batch: the batch must be >= 1, got 0"),
            std::string::npos)
      << error_of("base: {model: net.yaml}\naxes:\n  batch: [1, 0]\n");
  EXPECT_NE(error_of("base: {model: net.yaml, batch: -2}\n").find(f + ":1:32: base.batch: the batch must be >= 1, got -2"),
            std::string::npos)
      << error_of("base: {model: net.yaml, batch: -2}\n");
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  batch: [99999]\n").find("axes.batch: the batch must be <= 4096, got 99999"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  batch: [two]\n").find("axes.batch: expected an integer batch, got 'two'"),
            std::string::npos);
}

TEST_F(SpecDir, BadSpecsNameFileLineColumnAndKey) {
  const std::string f = (dir / "spec.yaml").string();
  EXPECT_EQ(error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.sbb.bytes: [1KiB]\n").rfind(f + ":3:3: axes.arch.buffers.sbb.bytes:", 0), 0u)
      << error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.sbb.bytes: [1KiB]\n");
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  compiler.fusoin: [none]\n").find(f + ":3:3: axes.compiler.fusoin: unknown axis key"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.sb.bytes: {from: 1MiB, to: 2KiB, scale: pow2}\n")
                .find(f + ":3:26: axes.arch.buffers.sb.bytes: range 'from' (1048576) exceeds 'to' (2048)"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.sb.bytes: {from: 0, to: 2KiB, scale: pow2}\n")
                .find("scale pow2 needs 'from' > 0"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.sb.bytes: {from: 1KiB, to: 2KiB}\n").find("needs 'step'"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  compiler.fusion: [none, greedyy]\n").find(f + ":3:27: axes.compiler.fusion: 'greedyy' is not one of"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: nope.yaml}\n").find(f + ":1:15: base.model: no such file 'nope.yaml'"), std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxis: {}\n").find(f + ":2:1: axis: unknown key"), std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  dtype: [int16, int16]\n").find("duplicate value 'int16'"), std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\nconstraints: ['arch.buffers.sb.bytes <= ']\n").find(f + ":2:15: constraints[0]:"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\nconstraints: ['arch.nfu.tm > 1']\n").find("'arch.nfu.tm' is neither an axis nor a key"),
            std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\nconstraints: ['sb < 1']\n").find("unknown name 'sb'"), std::string::npos);
  EXPECT_NE(error_of("axes: {dtype: [int16]}\n").find("a model is required"), std::string::npos);
  EXPECT_NE(error_of("base: {model: net.yaml}\naxes:\n  arch.buffers.nbin.bytes: [1XB]\n").find(f + ":3:3: axes.arch.buffers.nbin.bytes: value '1XB'"),
            std::string::npos);
}

// ---------------------------------------------------------------- results store

struct StoreDir : SpecDir {
  const std::vector<std::string> cols = {"id", "model", "status", "error", "cycles"};
  static Row row(const std::string& id, const std::string& cycles, const std::string& error = "") {
    return {{"id", Cell::str(id)}, {"model", Cell::str("net")}, {"status", Cell::str(error.empty() ? "ok" : "failed")},
            {"error", Cell::str(error)}, {"cycles", Cell::raw(cycles)}};
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(StoreDir, JsonRoundTripKeepsTextAndSkipsNested) {
  Row r = parse_flat_json(R"({"a": 1.5e3, "s": "x\"y\\z\n\u00e9", "n": {"deep": [1, {"x": "}"}]}, "t": true, "z": null})");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].second.text, "1.5e3");
  EXPECT_EQ(r[1].second.text, "x\"y\\z\n\xc3\xa9");
  EXPECT_EQ(r[2].first, "t");
  EXPECT_EQ(number(r, "a"), 1500);
  EXPECT_TRUE(std::isnan(number(r, "s")));
  Row back = parse_flat_json(to_json_line(r));
  ASSERT_EQ(back.size(), r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(back[i].first, r[i].first);
    EXPECT_EQ(back[i].second.text, r[i].second.text);
    EXPECT_EQ(back[i].second.quoted, r[i].second.quoted);
  }
  EXPECT_THROW(parse_flat_json(R"({"a": 1)"), std::runtime_error);
  EXPECT_THROW(parse_flat_json(R"({"a": 1} x)"), std::runtime_error);
  EXPECT_EQ(csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
}

TEST_F(StoreDir, ResumeDropsAPartialLastRowAndRebuildsTheCsv) {
  {
    ResultStore s(dir.string(), cols, false, false);
    s.append(row("p1", "100"));
    s.append(row("p2", "", "no tile fits, at all"));
  }
  // A kill in the middle of the next row's write.
  std::ofstream(dir / "results.jsonl", std::ios::app) << R"({"id":"p3","model":"ne)";
  // And a csv row without its jsonl row (kill between the two writes).
  std::ofstream(dir / "results.csv", std::ios::app) << "p9,net,ok,,1\n";
  ResultStore s(dir.string(), cols, true, false);
  EXPECT_EQ(s.rows().size(), 2u);
  EXPECT_EQ(s.dropped(), 1u);
  EXPECT_TRUE(s.has("p1"));
  EXPECT_TRUE(s.has("p2"));
  EXPECT_FALSE(s.has("p3"));
  s.append(row("p3", "300"));
  EXPECT_EQ(read("results.jsonl"), to_json_line(row("p1", "100")) + to_json_line(row("p2", "", "no tile fits, at all")) +
                                       to_json_line(row("p3", "300")));
  EXPECT_EQ(read("results.csv"),
            "id,model,status,error,cycles\np1,net,ok,,100\np2,net,failed,\"no tile fits, at all\",\np3,net,ok,,300\n");
}

TEST_F(StoreDir, ExistingResultsNeedResumeOrOverwriteAndTheDirIsLocked) {
  {
    ResultStore s(dir.string(), cols, false, false);
    s.append(row("p1", "1"));
    // A second sweep into the same directory is refused while the first runs.
    EXPECT_THROW(ResultStore(dir.string(), cols, true, false), InputError);
  }
  EXPECT_THROW(ResultStore(dir.string(), cols, false, false), InputError);
  ResultStore s(dir.string(), cols, false, true);
  EXPECT_EQ(s.rows().size(), 0u);
  EXPECT_EQ(read("results.jsonl"), "");
  EXPECT_EQ(read("results.csv"), "id,model,status,error,cycles\n");
}

TEST_F(StoreDir, DuplicateIdsAreDroppedOnResume) {
  std::ofstream(dir / "results.jsonl") << to_json_line(row("p1", "1")) << to_json_line(row("p1", "1"))
                                       << "not json\n" << to_json_line(row("p2", "2"));
  ResultStore s(dir.string(), cols, true, false);
  EXPECT_EQ(s.rows().size(), 2u);
  EXPECT_EQ(s.dropped(), 2u);
}

// ---------------------------------------------------------------- Slurm executor bookkeeping

TEST(SweepSlurm, RangesRoundTripAndRejectDisorder) {
  const std::vector<std::size_t> v = {0, 1, 2, 3, 7, 9, 10, 11, 20};
  EXPECT_EQ(encode_ranges(v), "0-3 7 9-11 20");
  EXPECT_EQ(decode_ranges("0-3 7 9-11 20"), v);
  EXPECT_EQ(encode_ranges({}), "");
  EXPECT_TRUE(decode_ranges("").empty());
  EXPECT_THROW(decode_ranges("3-1"), std::runtime_error);
  EXPECT_THROW(decode_ranges("5 2"), std::runtime_error);  // not ascending
  EXPECT_THROW(decode_ranges("1-x"), std::runtime_error);
  EXPECT_THROW(decode_ranges("-4"), std::runtime_error);
}

TEST(SweepSlurm, TaskTableCutsOrdinalsIntoChunks) {
  // 10 points in chunks of 4: 3 array tasks, the last one short.
  std::vector<std::size_t> all(10);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  EXPECT_EQ(task_table(all, 4), "0-3\n4-7\n8-9\n");
  // A resume: only the missing points, still K per task.
  EXPECT_EQ(task_table({1, 2, 5, 8, 9}, 2), "1-2\n5 8\n9\n");
}

TEST_F(SpecDir, PlanLinesRoundTripAndAreReadByOffset) {
  const auto ex = expand(parse("base: {model: net.yaml}\n"
                               "axes:\n  arch.buffers.sb.bytes: [16KiB, 32KiB, 64KiB]\n  compiler.fusion: [none, greedy]\n"));
  ASSERT_EQ(ex.points.size(), 6u);
  write_plan(dir.string(), ex.points);
  const auto all = read_plan_points(dir.string(), {0, 1, 2, 3, 4, 5});
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, ex.points[i].id);
    EXPECT_EQ(all[i].index, ex.points[i].index);
    EXPECT_EQ(all[i].params, ex.points[i].params);
    EXPECT_EQ(all[i].model_path, ex.points[i].model_path);
    EXPECT_EQ(all[i].run_args(), ex.points[i].run_args());  // the worker gets the same command
  }
  const auto some = read_plan_points(dir.string(), {1, 4, 5});
  ASSERT_EQ(some.size(), 3u);
  EXPECT_EQ(some[0].id, ex.points[1].id);
  EXPECT_EQ(some[1].id, ex.points[4].id);
  EXPECT_EQ(some[2].id, ex.points[5].id);
  EXPECT_THROW(read_plan_points(dir.string(), {6}), InputError);
  const auto index = read_plan_index(dir.string());
  ASSERT_EQ(index.ids.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(index.ids[i], ex.points[i].id);
  EXPECT_EQ(index.params, ex.points[0].params);
}

TEST_F(StoreDir, ShardStoreHasNoCsvAndResumesLikeTheResults) {
  const std::string shard = (dir / "shards" / "0_3.jsonl").string();
  {
    ResultStore s(StoreFiles::shard(shard), cols, true, false);
    s.append(row("p1", "1"));
    EXPECT_THROW(ResultStore(StoreFiles::shard(shard), cols, true, false), InputError);  // one writer
  }
  std::ofstream(shard, std::ios::app) << R"({"id":"p2","cyc)";  // the task was killed mid-write
  ResultStore s(StoreFiles::shard(shard), cols, true, false);
  EXPECT_TRUE(s.has("p1"));
  EXPECT_FALSE(s.has("p2"));
  EXPECT_EQ(s.dropped(), 1u);
  s.append(row("p2", "2"));
  EXPECT_EQ(read("shards/0_3.jsonl"), to_json_line(row("p1", "1")) + to_json_line(row("p2", "2")));
  EXPECT_FALSE(fs::exists(dir / "shards" / "0_3.csv"));
  EXPECT_FALSE(fs::exists(dir / "results.csv"));
}

TEST_F(SpecDir, MergeKeepsOneRowPerPlannedPointInPlanOrderAndIsIdempotent) {
  const auto ex = expand(parse("base: {model: net.yaml}\naxes:\n  compiler.fusion: [none, greedy, optimal]\n"));
  ASSERT_EQ(ex.points.size(), 3u);
  const auto& p = ex.points;
  auto result = [](const Point& pt, const std::string& cycles) {
    Row r = {{"id", Cell::str(pt.id)}, {"index", Cell::raw(std::to_string(pt.index))}};
    r.emplace_back("status", Cell::str("ok"));
    r.emplace_back("cycles", Cell::raw(cycles));
    return r;
  };
  write_plan(dir.string(), p);
  fs::create_directories(dir / "shards");
  // Round 1 (a resume) reran point 0: the round-0 row is the one kept. Point 1 is missing; a
  // torn line, a foreign id and a file that is no shard are ignored.
  std::ofstream(dir / "shards" / "0_0.jsonl") << to_json_line(result(p[2], "30")) << to_json_line(result(p[0], "10"))
                                              << R"({"id":"torn)";
  std::ofstream(dir / "shards" / "1_0.jsonl") << to_json_line(result(p[0], "99"))
                                              << to_json_line(result(ex.points[0], "99"))
                                              << R"({"id":"not-in-plan","status":"ok"})" << "\n";
  std::ofstream(dir / "shards" / "notes.jsonl") << to_json_line(result(p[1], "55"));
  const auto rows = merge_shards(dir.string());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(find(rows[0], "id")->text, p[0].id);  // plan order, not shard order
  EXPECT_EQ(find(rows[0], "cycles")->text, "10");
  EXPECT_EQ(find(rows[1], "id")->text, p[2].id);
  const auto first = std::make_pair(read_file(dir / "results.jsonl"), read_file(dir / "results.csv"));
  EXPECT_EQ(first.first, to_json_line(result(p[0], "10")) + to_json_line(result(p[2], "30")));
  EXPECT_EQ(first.second.substr(0, first.second.find('\n')), "id,index,model,arch,dtype,mode,fusion,pipeline,elimination,overlap,batch,status,error,cycles,time_ns,macs,"
            "dram_read_bytes,dram_write_bytes,avg_bw_gbps,peak_bw_gbps,nfu_utilization,energy_pj,onchip_bytes,"
            "compulsory_dram_bytes,dram_fetch_bytes,cycles_per_sample,energy_pj_per_sample,wall_s");
  merge_shards(dir.string());  // again: the same files
  EXPECT_EQ(read_file(dir / "results.jsonl"), first.first);
  EXPECT_EQ(read_file(dir / "results.csv"), first.second);
}

// ---------------------------------------------------------------- summary

TEST(SweepPareto, FrontKeepsOnlyUndominatedPoints) {
  // (on-chip bytes, cycles)
  std::vector<std::pair<double, double>> xy = {
      {4, 100}, {8, 60}, {8, 70}, {16, 60}, {2, 300}, {32, 20}, {NAN, 1}, {16, 50}, {4, 100}};
  // Sorted by x: (2,300) (4,100) (4,100)dup (8,60) (8,70) (16,50) (16,60) (32,20)
  EXPECT_EQ(pareto_front(xy), (std::vector<std::size_t>{4, 0, 1, 7, 5}));
}

TEST(SweepPareto, SummaryNamesTheBestPointsPerModel) {
  auto r = [](const char* model, const char* sb, const char* cycles, const char* energy, const char* status) {
    return Row{{"model", Cell::str(model)}, {"arch.buffers.sb.bytes", Cell::str(sb)}, {"status", Cell::str(status)},
               {"cycles", Cell::raw(cycles)}, {"energy_pj", Cell::raw(energy)}, {"onchip_bytes", Cell::raw(sb)}};
  };
  std::vector<Row> rows = {r("a", "1000", "500", "9e9", "ok"), r("a", "2000", "400", "8e9", "ok"),
                           r("a", "4000", "450", "7e9", "ok"), r("b", "1000", "10", "1e9", "ok"),
                           r("b", "500", "", "", "failed")};
  std::ostringstream os;
  print_summary(os, rows, {"model", "arch.buffers.sb.bytes"});
  const std::string s = os.str();
  EXPECT_NE(s.find("summary: 5 points, 4 ok, 1 failed"), std::string::npos) << s;
  EXPECT_NE(s.find("best by cycles               400 cycles   arch.buffers.sb.bytes=2000"), std::string::npos) << s;
  EXPECT_NE(s.find("best by energy          7.000 mJ"), std::string::npos) << s;
  EXPECT_NE(s.find("Pareto front, cycles vs on-chip bytes (2 points)"), std::string::npos) << s;  // a: 1000 and 2000
  EXPECT_NE(s.find("b (1 ok points)"), std::string::npos) << s;
  // Points of the spec that have no row (stopped from outside) are counted on the first line.
  std::ostringstream partial;
  print_summary(partial, rows, {"model", "arch.buffers.sb.bytes"}, 7);
  EXPECT_NE(partial.str().find("summary: 7 points, 4 ok, 1 failed, 2 without a row\n"), std::string::npos)
      << partial.str();
}

}  // namespace
}  // namespace fusesim::sweep
