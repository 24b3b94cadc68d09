// fusesim executable: a thin sc_main over the CLI.
#include <systemc>

#include "cli.h"

int sc_main(int argc, char* argv[]) { return fusesim::cli_main(argc, argv); }
