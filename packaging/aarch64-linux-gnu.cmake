# CMake toolchain for arm64 (aarch64) Debian 12, cross-compiled on amd64 with
# Debian's g++-aarch64-linux-gnu against the arm64 -dev packages installed
# side by side (multiarch: libraries in /usr/lib/aarch64-linux-gnu, headers
# shared in /usr/include). packaging/setup.sh installs both.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# find_library and find_package look in /usr/lib/aarch64-linux-gnu (and its
# cmake/ directory), never in the host's /usr/lib/x86_64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Extra prefixes (e.g. a -dev package unpacked because it cannot be
# co-installed with the host's, see packaging/setup.sh) come first.
list(PREPEND CMAKE_PREFIX_PATH $ENV{SLUICE_CROSS_PREFIX})
list(APPEND CMAKE_FIND_ROOT_PATH $ENV{SLUICE_CROSS_PREFIX} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config: the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "$ENV{SLUICE_CROSS_PREFIX}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
