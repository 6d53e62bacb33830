# bpf_object(NAME SOURCE [LIGHT] [HEADERS...])
# Compiles bpf/SOURCE with clang for the BPF target, links it with `bpftool gen object` and
# writes `NAME.skel.h` into the build tree. Creates an INTERFACE target NAME_skel that
# carries the include path, so `target_link_libraries(x PRIVATE NAME_skel)` is all a user
# needs. vmlinux.h is dumped from the running kernel's BTF into the build tree; nothing
# generated lands in the source tree.
# LIGHT writes the light skeleton `NAME.lskel.h` instead (`bpftool gen skeleton -L`): its
# loader is a BPF program run in the kernel, which applies the CO-RE relocations against its
# own BTF and finds attach targets itself, so user space never parses the kernel's BTF (the
# slow part of a libbpf load). It is C only (bpf/skel_internal.h) and needs Linux 5.17.
find_program(BPF_CLANG NAMES clang clang-16 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(NSCOPE_BTF_FILE "/sys/kernel/btf/vmlinux" CACHE FILEPATH "kernel BTF used for vmlinux.h")
set(BPF_GEN_DIR "${CMAKE_BINARY_DIR}/bpf")
file(MAKE_DIRECTORY "${BPF_GEN_DIR}")

# One target owns vmlinux.h, and every skeleton's target waits for it (add_dependencies
# below). A custom command's output listed in several targets' DEPENDS gets one copy of its
# rule per target, and a parallel make ran them at once: one bpftool rewrote the header
# while clang was reading it, and clang crashed. The dump also goes through a temporary
# file, so a reader never sees half a header.
add_custom_command(
  OUTPUT "${BPF_GEN_DIR}/vmlinux.h"
  COMMAND ${BPFTOOL} btf dump file ${NSCOPE_BTF_FILE} format c > "${BPF_GEN_DIR}/vmlinux.h.tmp"
  COMMAND ${CMAKE_COMMAND} -E rename "${BPF_GEN_DIR}/vmlinux.h.tmp" "${BPF_GEN_DIR}/vmlinux.h"
  COMMENT "Generating vmlinux.h from ${NSCOPE_BTF_FILE}"
  VERBATIM)
add_custom_target(vmlinux_h DEPENDS "${BPF_GEN_DIR}/vmlinux.h")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

function(bpf_object name source)
  cmake_parse_arguments(PARSE_ARGV 2 arg "LIGHT" "" "")
  set(src "${CMAKE_SOURCE_DIR}/bpf/${source}")
  set(obj "${BPF_GEN_DIR}/${name}.tmp.o")
  set(linked "${BPF_GEN_DIR}/${name}.bpf.o")
  if(arg_LIGHT)
    set(skel_file "${name}.lskel.h")
    set(skel_flags -L)
  else()
    set(skel_file "${name}.skel.h")
    set(skel_flags)
  endif()
  set(skel "${BPF_GEN_DIR}/${skel_file}")
  set(deps "${BPF_GEN_DIR}/vmlinux.h")
  foreach(h ${arg_UNPARSED_ARGUMENTS})
    list(APPEND deps "${CMAKE_SOURCE_DIR}/${h}")
  endforeach()
  add_custom_command(
    OUTPUT "${skel}"
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -I "${BPF_GEN_DIR}" -I "${CMAKE_SOURCE_DIR}/bpf" -I "${CMAKE_SOURCE_DIR}/src"
            -Wall -Wno-unused-function -c "${src}" -o "${obj}"
    COMMAND ${BPFTOOL} gen object "${linked}" "${obj}"
    COMMAND ${BPFTOOL} gen skeleton ${skel_flags} "${linked}" name ${name} > "${skel}"
    DEPENDS "${src}" ${deps}
    COMMENT "BPF ${source} -> ${skel_file}"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS "${skel}")
  add_dependencies(${name}_skel_gen vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE "${BPF_GEN_DIR}")
endfunction()
