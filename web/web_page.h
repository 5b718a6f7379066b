/*
 * web/web_page.h — the device page, gzipped at build time (web/CMakeLists.txt:
 * gzip -9n of index.html into a C array), for aloft_web_config_t.page_gz.
 */
#ifndef ALOFT_WEB_PAGE_H
#define ALOFT_WEB_PAGE_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t aloft_web_page_gz[];
extern const size_t aloft_web_page_gz_len;

#endif /* ALOFT_WEB_PAGE_H */
