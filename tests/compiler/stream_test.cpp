// StreamedCompile and WordStream: the streamed program is compile()'s, and a word handed over
// as final is never changed afterwards (a simulation may already have fetched it).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "compiler/compiler.h"
#include "isa/arch_params.h"
#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

ArchParams arch_named(const std::string& name) {
  return load_arch(std::string(FUSESIM_SOURCE_DIR) + "/configs/arch/" + name + ".yaml");
}

// What a simulation sees: after each await, a copy of every word it was told is final.
struct Observed {
  std::vector<isa::Word> words;
  std::size_t awaits = 0, short_awaits = 0;  // calls; calls that returned fewer words than asked
  bool failed = false;
};

Observed consume(WordStream& s, const Program& p, std::size_t step) {
  Observed o;
  if (!s.await_begin()) {
    o.failed = true;
    return o;
  }
  for (std::size_t end = step;; end += step) {
    const int64_t known = s.await(end);
    ++o.awaits;
    if (known < 0) {
      o.failed = true;
      return o;
    }
    for (std::size_t i = o.words.size(); i < static_cast<std::size_t>(known); ++i) o.words.push_back(p.instrs.data()[i]);
    if (static_cast<std::size_t>(known) < end) {
      ++o.short_awaits;
      return o;  // the whole program: it is shorter than asked
    }
  }
}

struct Case {
  std::string model, arch;
  Fusion fusion;
  Pipeline pipeline;
};

class Streamed : public ::testing::TestWithParam<Case> {};

TEST_P(Streamed, SameProgramAndNoWordChangesAfterItIsFinal) {
  const Case& k = GetParam();
  const ArchParams arch = arch_named(k.arch);
  CompileOptions opt;
  opt.fusion = k.fusion;
  opt.pipeline = k.pipeline;
  opt.materialize = false;
  const std::string path = std::string(FUSESIM_SOURCE_DIR) + "/models/" + k.model + ".yaml";

  Graph serial_graph = load_model(path);
  const Program serial = compile(serial_graph, arch, opt);

  Graph g = load_model(path);
  StreamedCompile sc(g, arch, opt);
  ASSERT_TRUE(sc.started());
  // The layout is there before the words are.
  EXPECT_EQ(sc.program().prog_addr, serial.prog_addr);
  EXPECT_EQ(sc.program().input.addr, serial.input.addr);
  ASSERT_EQ(sc.program().outputs.size(), serial.outputs.size());
  // A small step, as the controller's fetch blocks are: the words arrive a flush at a time.
  const Observed seen = consume(sc.words(), sc.program(), 16);
  const Program streamed = sc.finish();

  ASSERT_FALSE(seen.failed);
  EXPECT_EQ(seen.short_awaits, 1u);
  EXPECT_TRUE(streamed.instrs == serial.instrs) << "the streamed program differs from compile()'s";
  ASSERT_EQ(seen.words.size(), serial.instrs.size());
  for (std::size_t i = 0; i < serial.instrs.size(); ++i)
    ASSERT_EQ(seen.words[i], serial.instrs.word(i)) << "word " << i << " changed after it was handed over as final";
  EXPECT_EQ(streamed.macs, serial.macs);
  EXPECT_EQ(streamed.dram_footprint, serial.dram_footprint);
  EXPECT_EQ(streamed.compulsory_bytes, serial.compulsory_bytes);
  EXPECT_EQ(streamed.schedule.size(), serial.schedule.size());
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, Streamed,
    ::testing::Values(Case{"resnet50", "diannao", Fusion::None, Pipeline::Full},
                      Case{"vgg16", "diannao", Fusion::None, Pipeline::Full},
                      Case{"mobilenet_v2", "diannao-large", Fusion::Optimal, Pipeline::Full},
                      Case{"googlenet", "diannao", Fusion::Greedy, Pipeline::Fine},
                      Case{"alexnet", "diannao", Fusion::None, Pipeline::Coarse},
                      Case{"alexnet", "diannao", Fusion::None, Pipeline::None},
                      Case{"squeezenet1_0", "diannao-large", Fusion::Optimal, Pipeline::Full}),
    [](const ::testing::TestParamInfo<Case>& i) {
      return i.param.model + "_" + std::string(fusion_name(i.param.fusion)) + "_" +
             pipeline_name(i.param.pipeline) + (i.param.arch == "diannao" ? "" : "_large");
    });

TEST(StreamedCompile, AnErrorBeforeTheLayoutIsThrownByFinish) {
  const ArchParams arch = arch_named("diannao");
  Graph g = load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/alexnet.yaml");
  CompileOptions opt;
  opt.materialize = false;
  opt.fusion = Fusion::Greedy;
  opt.schedule_file = "unused.yaml";  // --schedule with --fusion: an InputError while planning
  StreamedCompile sc(g, arch, opt);
  EXPECT_FALSE(sc.started());
  EXPECT_THROW(sc.finish(), InputError);
}

TEST(WordStream, HandsOverWordsAsTheyArePublished) {
  WordStream s;
  std::thread producer([&] {
    s.begin();
    for (std::size_t n = 10; n <= 100; n += 10) s.publish(n);
    s.complete(105);
  });
  ASSERT_TRUE(s.await_begin());
  EXPECT_GE(s.await(50), 50);    // blocks until at least 50 are final
  EXPECT_EQ(s.await(200), 105);  // the program is shorter: its length
  EXPECT_TRUE(s.complete());
  producer.join();
}

TEST(WordStream, AFailureWakesTheWaiter) {
  WordStream s;
  s.begin();
  s.publish(8);
  EXPECT_EQ(s.await(8), 8);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.fail();
  });
  EXPECT_EQ(s.await(1000), -1);  // woken by the failure
  producer.join();
  WordStream before;
  before.fail();
  EXPECT_FALSE(before.await_begin());
}

}  // namespace
}  // namespace fusesim::compiler
