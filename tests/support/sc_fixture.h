// A fresh SystemC kernel per test, so that each test elaborates its own modules.
#pragma once

#include <gtest/gtest.h>

#include <systemc>

namespace fusesim::testing {

class ScTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
    sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
  }
};

}  // namespace fusesim::testing
