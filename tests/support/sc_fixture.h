// A fresh SystemC kernel per test, so that each test elaborates its own modules.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <systemc>
#include <utility>

#include "asan_fiber.h"  // hw/

namespace fusesim::testing {

// sc_start for tests, as platform/simulation.cpp runs it: after SystemC's coroutines have run,
// ASan's idea of the current stack is the last coroutine's, so a later throw (an expected
// InputError, EXPECT_THROW) leaves stale redzones that are reported as a false
// stack-buffer-overflow. Re-announcing the main stack keeps it checked normally (hw/asan_fiber.h).
template <class... Args>
void sc_run(Args&&... args) {
  sc_core::sc_start(std::forward<Args>(args)...);
  hw::asan_reset_main_stack();
}

// A fresh SystemC kernel for a scope: made current on construction; on destruction deleted
// while still current (module and process teardown look it up), then the kernel that was current
// before is restored, so scopes nest (a test's kernel, then a helper's). Declare it before the
// modules it elaborates, so that they are destroyed first. Deleting every kernel keeps leak
// checkers quiet (issue 12); leaving none current would make SystemC create one lazily.
class FreshKernel {
 public:
  FreshKernel()
      : previous_(sc_core::sc_curr_simcontext),
        previous_default_(sc_core::sc_default_global_context),
        context_(std::make_unique<sc_core::sc_simcontext>()) {
    sc_core::sc_curr_simcontext = context_.get();
    sc_core::sc_default_global_context = context_.get();
  }
  ~FreshKernel() {
    context_.reset();
    sc_core::sc_curr_simcontext = previous_;
    sc_core::sc_default_global_context = previous_default_;
  }
  FreshKernel(const FreshKernel&) = delete;
  FreshKernel& operator=(const FreshKernel&) = delete;

 private:
  sc_core::sc_simcontext* previous_;
  sc_core::sc_simcontext* previous_default_;
  std::unique_ptr<sc_core::sc_simcontext> context_;
};

// A fresh kernel per test. The base is destroyed after the derived fixture's members (its
// modules), so the kernel they were elaborated in outlives them.
class ScTest : public ::testing::Test {
 protected:
  void SetUp() override { kernel_ = std::make_unique<FreshKernel>(); }

 private:
  std::unique_ptr<FreshKernel> kernel_;
};

}  // namespace fusesim::testing
