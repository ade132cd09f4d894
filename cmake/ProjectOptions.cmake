# Warnings and sanitizers are defined once, as INTERFACE targets, and every
# target of the project links them.
add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 at -O2 and above reports -Wrestrict inside libstdc++'s string
# concatenation (GCC bug 105329), on code that is correct.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(project_warnings INTERFACE -Wno-restrict)
endif()
if(ASM_EGRESS_WARNINGS_AS_ERRORS)
  target_compile_options(project_warnings INTERFACE -Werror)
endif()

add_library(project_sanitizers INTERFACE)
if(ASM_EGRESS_SANITIZE)
  target_compile_options(project_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(project_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
if(ASM_EGRESS_SANITIZE_THREAD)
  target_compile_options(project_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(project_sanitizers INTERFACE -fsanitize=thread)
endif()
if(ASM_EGRESS_FUZZ)
  # Coverage feedback for libFuzzer from every library the targets call.
  target_compile_options(project_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

add_library(project_options INTERFACE)
target_link_libraries(project_options INTERFACE project_warnings project_sanitizers)
# Boost.Asio and Beast are used header-only; these keep them from pulling in
# deprecated interfaces and make the build independent of Boost.System's library.
target_compile_definitions(project_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ERROR_CODE_HEADER_ONLY BOOST_JSON_NO_LIB)
