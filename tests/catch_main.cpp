// Catch2's runner, compiled once for both test executables: it is the slowest
// file in the tree to compile (about 50 s at -O2), so it must not be built twice.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
