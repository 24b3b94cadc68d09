// fusesim command line (placeholder until the platform lands).
#include <systemc>
int sc_main(int, char*[]) { return 0; }
