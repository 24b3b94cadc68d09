// AddressSanitizer and SystemC's coroutines: puts ASan's idea of the current stack back on the
// main thread's stack after sc_start returns (a no-op in builds without ASan).
#pragma once

namespace fusesim::hw {

// libsystemc 2.3.4 tells ASan about each switch between its QuickThreads coroutines, but the
// switch back to sc_main leaves ASan with a stack whose top is the last coroutine's and whose
// bottom is the main stack's. __asan_handle_no_return (every throw) then refuses to unpoison the
// frames that the exception unwinds, and their stale redzones are later reported as a
// stack-buffer-overflow in whatever function reuses that stack. Calling this after each sc_start
// re-announces the main thread's real stack, so a throw after a simulation is checked normally.
void asan_reset_main_stack();

}  // namespace fusesim::hw
