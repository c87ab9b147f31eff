# Project-wide warning and sanitizer settings, applied to socle's own targets only
# through the socle_options interface library (never to the dependencies' headers).
add_library(socle_options INTERFACE)
target_compile_options(socle_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(SOCLE_WERROR)
  target_compile_options(socle_options INTERFACE -Werror)
endif()
if(SOCLE_SANITIZE)
  target_compile_options(socle_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(socle_options INTERFACE -fsanitize=address,undefined)
endif()
# Asio: no deprecated interfaces, and one io_context implementation for all files.
target_compile_definitions(socle_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
