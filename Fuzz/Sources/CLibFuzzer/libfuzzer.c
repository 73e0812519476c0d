// Declarations only (include/libfuzzer.h): libFuzzer itself is linked in by
// -sanitize=fuzzer. SwiftPM needs one source file in a C target.
#include "libfuzzer.h"
