#ifndef POSTERN_LIBFUZZER_H
#define POSTERN_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for a program that has its own main
/// (compiler-rt/lib/fuzzer/FuzzerInterface.h). It parses the libFuzzer
/// flags in argv and runs `callback` on every input.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
