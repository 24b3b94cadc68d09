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

class ScTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = std::make_unique<sc_core::sc_simcontext>();
    sc_core::sc_curr_simcontext = context_.get();
    sc_core::sc_default_global_context = context_.get();
  }
  // The base is destroyed after the derived fixture's members (its modules), so the kernel
  // they were elaborated in outlives them; freeing it keeps leak checkers quiet (issue 12).
  ~ScTest() override {
    if (sc_core::sc_curr_simcontext == context_.get()) sc_core::sc_curr_simcontext = nullptr;
    if (sc_core::sc_default_global_context == context_.get()) sc_core::sc_default_global_context = nullptr;
    context_.reset();
  }

 private:
  std::unique_ptr<sc_core::sc_simcontext> context_;
};

}  // namespace fusesim::testing
