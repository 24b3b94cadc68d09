// The ASan stack re-announcement of asan_fiber.h.
#include "asan_fiber.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUSESIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUSESIM_ASAN 1
#endif
#endif

#ifdef FUSESIM_ASAN
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace fusesim::hw {

void asan_reset_main_stack() {
#ifdef FUSESIM_ASAN
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* bottom = nullptr;
  size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &bottom, &size) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) return;
  // A "switch" from the current stack to the same main stack: only ASan's bookkeeping changes.
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, bottom, size);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
}

}  // namespace fusesim::hw
