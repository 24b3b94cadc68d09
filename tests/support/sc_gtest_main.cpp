// sc_main for GoogleTest binaries that link SystemC (libsystemc provides main()).
#include <gtest/gtest.h>

#include <systemc>

// LeakSanitizer, in these binaries only: SystemC 2.3.4 never frees the event list of a thread
// that is still waiting on `wait(a | b)` when its kernel is deleted (~sc_thread_process leaves
// its dynamic event list alone; only kill or a resumed wait releases it). The fixtures delete a
// kernel per test (FreshKernel) while the controller's threads wait for work, so that list is
// reported as leaked. Only blocks allocated under sc_event::operator| are exempt; the fusesim
// binary never deletes its kernel and needs nothing. docs/hardening.md ("Sanitizers").
extern "C" const char* __lsan_default_suppressions() { return "leak:sc_core::sc_event::operator|\n"; }

int sc_main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
