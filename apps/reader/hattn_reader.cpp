// hattn-reader: reads one untrusted file for hattn (or the library) in a process of its own, so that a decoder's
// crash or hang cannot take the caller down (models/io/isolated.h). Not meant to be run by hand.
#include "models/io/isolated.h"

int main(int argc, char** argv) { return ha::reader_main(argc, argv); }
