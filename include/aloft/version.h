/*
 * aloft/version.h — the one place the version is written. CMake reads it
 * (project version, library SONAME, pkg-config, the Debian package) and
 * `aloft --version` prints it.
 */
#ifndef ALOFT_VERSION_H
#define ALOFT_VERSION_H

#define ALOFT_VERSION_MAJOR 0
#define ALOFT_VERSION_MINOR 7
#define ALOFT_VERSION_PATCH 0
#define ALOFT_VERSION_STRING "0.7.0"

#endif /* ALOFT_VERSION_H */
