# cmake -DIN=page.html.gz -DOUT=page.c -DNAME=aloft_web_page_gz -P embed.cmake
# A file's bytes as a C array (NAME, NAME_len), so the firmware carries the
# gzipped page without a filesystem.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN} by cmake/embed.cmake; do not edit. */\n"
     "#include <stddef.h>\n#include <stdint.h>\n"
     "extern const uint8_t ${NAME}[];\nextern const size_t ${NAME}_len;\n"
     "const uint8_t ${NAME}[] = {\n${body}\n};\nconst size_t ${NAME}_len = ${len};\n")
