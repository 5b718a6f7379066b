/*
 * tests/unit/support/fixtures.h — the real firmware of ../shared/fixtures
 * (ALOFT_FIXTURES, set by tests/CMakeLists.txt) for the tests that need it.
 */
#ifndef ALOFT_TEST_FIXTURES_H
#define ALOFT_TEST_FIXTURES_H

/* The fixture folder (it holds SOURCES.md), or NULL. */
const char *fixture_dir(void);

/* Without fixtures: print why and return main's exit status, 77 (CTest:
 * skipped) or, under CI=true, a failure. With them: -1. */
int fixtures_missing(void);

#endif
