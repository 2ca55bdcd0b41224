// libFuzzer's driver API (compiler-rt), so a Swift entry point can start the fuzzing loop.
#ifndef EVALVAULT_CFUZZ_H
#define EVALVAULT_CFUZZ_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
