// fusesim executable: a thin sc_main over the CLI.
#include <cstdlib>
#include <systemc>

#include "cli.h"

int sc_main(int argc, char* argv[]) {
  // SystemC prints its banner on stdout at elaboration; keep fusesim's output clean (an
  // explicit SC_COPYRIGHT_MESSAGE in the environment still wins).
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return fusesim::cli_main(argc, argv);
}

// Our own entry point, so the environment is set before SystemC's first elaboration reads it.
int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
