// fusesim version string (the CMake project version).
#pragma once
namespace fusesim {
const char* version();
}
